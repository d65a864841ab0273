//! Reading the team store: the rows of every developer's store, rebuilt
//! from each row's exact export record, for `gate log`, `export` and
//! `digest` with `--from`; and `gate verify --from`, which walks every
//! store's chain on the server (each hash recomputed from its record, each
//! link, each copied column against the record) and checks it against that
//! store's signed checkpoints and the key it was first pushed with.
//! Rows of different stores share seq numbers, so rows are always visited
//! store by store, each store in seq order ([`TeamStore::scan_stores`]).

use std::cell::RefCell;

use postgres::types::ToSql;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{TeamError, TeamUrl};
use crate::store::{
    Filter, Receipt, ReceiptStore, RecordCheck, SessionSummary, Status, StoreError, Verdict,
};
use crate::trust::keys::PublicKey;
use crate::trust::merkle::{leaf_hash, Frontier};

/// The team store, open for reading.
pub struct TeamStore {
    client: RefCell<postgres::Client>,
    url: TeamUrl,
}

/// Which developer's store a row comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub host: String,
    pub store_id: String,
    pub developer: String,
}

/// A filter in PostgreSQL's words: the WHERE clause over `gate_receipts r`
/// joined with `gate_stores s`, and its parameters from `$first` on.
struct PgFilter {
    clause: String,
    params: Vec<Box<dyn ToSql + Sync>>,
}

impl PgFilter {
    fn of(f: &Filter, first: usize) -> PgFilter {
        let mut clauses: Vec<String> = Vec::new();
        let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        let mut n = first;
        let mut p = |v: Box<dyn ToSql + Sync>, params: &mut Vec<Box<dyn ToSql + Sync>>| {
            params.push(v);
            let at = n;
            n += 1;
            format!("${at}")
        };
        if let Some(t) = f.since {
            clauses.push(format!("r.ts >= {}", p(Box::new(t), &mut params)));
        }
        if let Some(t) = f.until {
            clauses.push(format!("r.ts < {}", p(Box::new(t), &mut params)));
        }
        if let Some(s) = &f.session {
            clauses.push(format!("r.session_id = {}", p(Box::new(s.clone()), &mut params)));
        }
        if let Some(t) = &f.tool {
            let a = p(Box::new(t.clone()), &mut params);
            clauses.push(format!("(lower(r.tool) = lower({a}) OR r.tool_kind = {a})"));
        }
        if let Some(d) = f.decision {
            clauses.push(format!("r.decision = {}", p(Box::new(d.as_str().to_string()), &mut params)));
        }
        if let Some(s) = f.source {
            clauses.push(format!("r.source = {}", p(Box::new(s.as_str().to_string()), &mut params)));
        }
        if let Some(k) = f.kind {
            clauses.push(format!("r.kind = {}", p(Box::new(k.as_str().to_string()), &mut params)));
        }
        if let Some(a) = &f.agent {
            clauses.push(format!("lower(r.agent) = lower({})", p(Box::new(a.clone()), &mut params)));
        }
        if let Some(a) = &f.approver {
            clauses.push(format!("r.approver = {}", p(Box::new(a.clone()), &mut params)));
        }
        if let Some(r) = &f.rule {
            match r.strip_suffix('*') {
                Some(prefix) => {
                    let a = p(Box::new(prefix.to_string()), &mut params);
                    clauses.push(format!("left(r.rule_id, length({a})) = {a}"));
                }
                None => clauses.push(format!("r.rule_id = {}", p(Box::new(r.clone()), &mut params))),
            }
        }
        if let Some(c) = &f.cwd {
            let a = p(Box::new(c.trim_end_matches('/').to_string()), &mut params);
            clauses.push(format!("(r.cwd = {a} OR left(r.cwd, length({a}) + 1) = {a} || '/')"));
        }
        if let Some(t) = &f.text {
            let a = p(Box::new(t.clone()), &mut params);
            clauses.push(format!(
                "(strpos(lower(coalesce(r.target, '')), lower({a})) > 0 \
                 OR strpos(lower(coalesce((r.record::json)->>'args', '')), lower({a})) > 0 \
                 OR strpos(lower(coalesce(r.reason, '')), lower({a})) > 0)"
            ));
        }
        if let Some(h) = &f.host {
            clauses.push(format!("r.host = {}", p(Box::new(h.clone()), &mut params)));
        }
        if let Some(d) = &f.developer {
            clauses.push(format!("s.developer = {}", p(Box::new(d.clone()), &mut params)));
        }
        if let Some(s) = f.after_seq {
            clauses.push(format!("r.seq > {}", p(Box::new(s), &mut params)));
        }
        let clause = if clauses.is_empty() { "TRUE".to_string() } else { clauses.join(" AND ") };
        PgFilter { clause, params }
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|b| b.as_ref()).collect()
    }
}

/// A stored record read back as the row it was exported from.
fn receipt_of(url: &TeamUrl, text: &str) -> Result<Receipt, StoreError> {
    parse_record(text)
        .and_then(|m| Receipt::from_export(&m))
        .map_err(|e| StoreError::Team(format!("team store {url}: a stored record: {e}")))
}

fn parse_record(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("its record is not a JSON object".into()),
        Err(e) => Err(format!("its record is not JSON: {e}")),
    }
}

impl TeamStore {
    /// Connect and check the schema.
    pub fn open(url: TeamUrl) -> Result<TeamStore, TeamError> {
        let mut client = super::connect::connect(&url)?;
        super::schema::check(&mut client, &url)?;
        Ok(TeamStore { client: RefCell::new(client), url })
    }

    pub fn url(&self) -> &TeamUrl {
        &self.url
    }

    fn err(&self, e: postgres::Error) -> StoreError {
        StoreError::Team(TeamError::server(&self.url)(e).to_string())
    }

    /// Every store the server holds, with its developer and key.
    pub fn stores(&self) -> Result<Vec<(Origin, String)>, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query("SELECT host, store_id, developer, public_key FROM gate_stores ORDER BY developer, host, store_id", &[])
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| (Origin { host: r.get(0), store_id: r.get(1), developer: r.get(2) }, r.get(3)))
            .collect())
    }

    /// Visit matching rows store by store, each store in seq order, with the
    /// outcome an export record carries (see [`ReceiptStore::scan_records`]).
    pub fn scan_stores(
        &self,
        filter: &Filter,
        f: &mut dyn FnMut(&Origin, Receipt, Option<Status>) -> std::io::Result<bool>,
    ) -> Result<(), StoreError> {
        let pf = PgFilter::of(filter, 1);
        let sql = format!(
            "SELECT r.host, r.store_id, s.developer, r.record,
                    CASE WHEN r.kind = 'decision' THEN
                        (SELECT o.status FROM gate_receipts o WHERE o.host = r.host AND o.store_id = r.store_id
                            AND o.links_seq = r.seq AND o.kind = 'outcome' ORDER BY o.seq LIMIT 1)
                    ELSE r.status END
             FROM gate_receipts r JOIN gate_stores s ON s.host = r.host AND s.store_id = r.store_id
             WHERE {} ORDER BY r.host, r.store_id, r.seq",
            pf.clause
        );
        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction().map_err(|e| self.err(e))?;
        // A cursor, so memory stays constant however many rows match.
        let portal = tx.bind(sql.as_str(), &pf.refs()).map_err(|e| self.err(e))?;
        let mut origin: Option<Origin> = None;
        loop {
            let rows = tx.query_portal(&portal, 2_000).map_err(|e| self.err(e))?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let (host, store_id, developer): (String, String, String) = (row.get(0), row.get(1), row.get(2));
                if origin.as_ref().is_none_or(|o| o.host != host || o.store_id != store_id) {
                    origin = Some(Origin { host, store_id, developer });
                }
                let record: String = row.get(3);
                let outcome = row.get::<_, Option<String>>(4).and_then(|s| Status::parse(&s));
                let rec = receipt_of(&self.url, &record)?;
                let o = origin.as_ref().expect("set above");
                match f(o, rec, outcome) {
                    Ok(true) => {}
                    Ok(false) => return Ok(()),
                    Err(e) => return Err(StoreError::Team(e.to_string())),
                }
            }
        }
        Ok(())
    }

    /// Sessions with a matching row, newest first, each summed up as the
    /// local store sums one up (see [`crate::store::Store::sessions`]).
    pub fn sessions(&self, filter: &Filter, limit: usize, calls_only: bool) -> Result<Vec<SessionSummary>, StoreError> {
        let pf = PgFilter::of(filter, 1);
        let calls = if calls_only { " AND r.kind = 'decision'" } else { "" };
        let limit_at = pf.params.len() + 1;
        let sql = format!(
            "SELECT r.host, r.store_id, r.session_id, s.developer, MAX(r.ts) AS last
             FROM gate_receipts r JOIN gate_stores s ON s.host = r.host AND s.store_id = r.store_id
             WHERE {} AND r.session_id IS NOT NULL{calls}
             GROUP BY r.host, r.store_id, r.session_id, s.developer ORDER BY last DESC LIMIT ${limit_at}",
            pf.clause
        );
        let mut params = pf.refs();
        let limit = limit as i64;
        params.push(&limit);
        let ids = self.client.borrow_mut().query(sql.as_str(), &params).map_err(|e| self.err(e))?;
        let pf2 = PgFilter::of(filter, 4);
        let sql = format!(
            "SELECT MIN(ts), MAX(ts),
                (SELECT agent FROM gate_receipts a WHERE a.host = $1 AND a.store_id = $2 AND a.session_id = $3
                    AND agent IS NOT NULL ORDER BY seq LIMIT 1),
                (SELECT cwd FROM gate_receipts a WHERE a.host = $1 AND a.store_id = $2 AND a.session_id = $3
                    AND cwd IS NOT NULL ORDER BY seq LIMIT 1),
                COUNT(*) FILTER (WHERE kind = 'decision'),
                COUNT(*) FILTER (WHERE final = 'auto-approved'),
                COUNT(*) FILTER (WHERE final = 'approved'),
                COUNT(*) FILTER (WHERE final = 'denied'),
                COUNT(*) FILTER (WHERE kind = 'decision' AND decision = 'asked'),
                COUNT(*) FILTER (WHERE kind = 'decision' AND final NOT IN ('auto-approved', 'approved', 'denied'))
             FROM (SELECT r.ts, r.kind, r.decision, CASE WHEN r.kind = 'decision' THEN COALESCE(
                     (SELECT o.decision FROM gate_receipts o WHERE o.host = r.host AND o.store_id = r.store_id
                        AND o.links_seq = r.seq AND o.kind IN ('outcome', 'answer') AND o.decision IS NOT NULL
                        ORDER BY o.seq DESC LIMIT 1),
                     r.decision, '') END AS final
                   FROM gate_receipts r JOIN gate_stores s ON s.host = r.host AND s.store_id = r.store_id
                   WHERE {} AND r.host = $1 AND r.store_id = $2 AND r.session_id = $3) x",
            pf2.clause
        );
        let mut client = self.client.borrow_mut();
        let st = client.prepare(&sql).map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(ids.len());
        for row in &ids {
            let (host, store_id, session, developer): (String, String, String, String) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&host, &store_id, &session];
            params.extend(pf2.refs());
            let r = client.query_one(&st, &params).map_err(|e| self.err(e))?;
            out.push(SessionSummary {
                session_id: session.clone(),
                developer: Some(developer),
                host: Some(host.clone()),
                started: r.get::<_, Option<i64>>(0).unwrap_or(0),
                last: r.get::<_, Option<i64>>(1).unwrap_or(0),
                agent: r.get(2),
                cwd: r.get(3),
                calls: r.get(4),
                auto_approved: r.get(5),
                approved: r.get(6),
                denied: r.get(7),
                asked: r.get(8),
                expired: r.get(9),
            });
        }
        Ok(out)
    }

    /// Session ids that start with `prefix` (at most five).
    pub fn resolve_session(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT DISTINCT session_id FROM gate_receipts WHERE left(session_id, length($1)) = $1 LIMIT 5",
                &[&prefix],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

impl ReceiptStore for TeamStore {
    fn append(&mut self, _rec: &mut Receipt) -> Result<(), StoreError> {
        Err(StoreError::Team(format!("the team store {} is read here; `gate push` adds to it", self.url)))
    }
    fn scan(&self, filter: &Filter, f: &mut dyn FnMut(Receipt) -> std::io::Result<bool>) -> Result<(), StoreError> {
        self.scan_stores(filter, &mut |_, r, _| f(r))
    }
    fn scan_records(
        &self,
        filter: &Filter,
        f: &mut dyn FnMut(Receipt, Option<Status>) -> std::io::Result<bool>,
    ) -> Result<(), StoreError> {
        self.scan_stores(filter, &mut |_, r, o| f(r, o))
    }
    /// The newest decision for a tool call, across every store.
    fn decision_for(&self, tool_use_id: &str) -> Result<Option<Receipt>, StoreError> {
        let row = self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT record FROM gate_receipts WHERE tool_use_id = $1 AND kind = 'decision' ORDER BY ts DESC LIMIT 1",
                &[&tool_use_id],
            )
            .map_err(|e| self.err(e))?;
        row.map(|r| receipt_of(&self.url, &r.get::<_, String>(0))).transpose()
    }
    /// A seq names a row only within one store: asked of the team store,
    /// this has no single answer.
    fn outcome_of(&self, _decision_seq: i64) -> Result<Option<Status>, StoreError> {
        Err(StoreError::Team("a seq alone does not name a row in a team store; read it with scan_records".into()))
    }
}

/// What `gate verify --from` found for one store.
#[derive(Debug, Clone, Serialize)]
pub struct StoreVerdict {
    #[serde(flatten)]
    pub origin: Origin,
    pub key_id: Option<String>,
    pub rows: u64,
    pub head: Option<String>,
    pub checkpoints_checked: usize,
    /// The newest checkpoint: its size and when it was signed (ms).
    pub latest_checkpoint: Option<(u64, i64)>,
    pub problems: Vec<String>,
}

impl TeamStore {
    /// Walk every store's chain on the server and check it against its
    /// checkpoints. `visit` sees each store's verdict as it is reached.
    pub fn verify(&self, visit: &mut dyn FnMut(&StoreVerdict)) -> Result<Vec<StoreVerdict>, StoreError> {
        let mut out = Vec::new();
        // Rows of a store nobody registered: no reading shows them, and the
        // trigger refuses them, so they were put there around it.
        let strays = self
            .client
            .borrow_mut()
            .query(
                "SELECT r.host, r.store_id, COUNT(*) FROM gate_receipts r
                 WHERE NOT EXISTS (SELECT 1 FROM gate_stores s WHERE s.host = r.host AND s.store_id = r.store_id)
                 GROUP BY r.host, r.store_id",
                &[],
            )
            .map_err(|e| self.err(e))?;
        for row in &strays {
            let v = StoreVerdict {
                origin: Origin { host: row.get(0), store_id: row.get(1), developer: "(unregistered)".into() },
                key_id: None,
                rows: row.get::<_, i64>(2).max(0) as u64,
                head: None,
                checkpoints_checked: 0,
                latest_checkpoint: None,
                problems: vec!["rows of a store that is not registered in gate_stores (put there around gate's trigger)".into()],
            };
            visit(&v);
            out.push(v);
        }
        for (origin, key_text) in self.stores()? {
            let v = self.verify_store(origin, &key_text)?;
            visit(&v);
            out.push(v);
        }
        Ok(out)
    }

    fn verify_store(&self, origin: Origin, key_text: &str) -> Result<StoreVerdict, StoreError> {
        let mut v = StoreVerdict {
            origin,
            key_id: None,
            rows: 0,
            head: None,
            checkpoints_checked: 0,
            latest_checkpoint: None,
            problems: Vec::new(),
        };
        let key = match PublicKey::parse(key_text) {
            Ok(k) => {
                v.key_id = Some(k.key_id());
                Some(k)
            }
            Err(e) => {
                v.problems.push(format!("its registered key {key_text:?} is malformed: {e}"));
                None
            }
        };
        let (host, store_id) = (v.origin.host.clone(), v.origin.store_id.clone());
        let mut checkpoints: Vec<crate::trust::checkpoint::Checkpoint> = Vec::new();
        for r in self
            .client
            .borrow_mut()
            .query(
                "SELECT size, root, time_ms, key, signature FROM gate_checkpoints
                 WHERE host = $1 AND store_id = $2 ORDER BY size, time_ms",
                &[&host, &store_id],
            )
            .map_err(|e| self.err(e))?
        {
            let cp = crate::trust::checkpoint::Checkpoint {
                store_id: store_id.clone(),
                size: r.get::<_, i64>(0).max(0) as u64,
                root: r.get(1),
                time_ms: r.get(2),
                key: r.get(3),
                signature: r.get(4),
            };
            match cp.verify(key.as_ref()) {
                Ok(_) => checkpoints.push(cp),
                Err(e) => v.problems.push(format!("checkpoint at size {}: {e}", cp.size)),
            }
        }
        v.latest_checkpoint = checkpoints.iter().max_by_key(|c| c.time_ms).map(|c| (c.size, c.time_ms));

        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction().map_err(|e| self.err(e))?;
        let portal = tx
            .bind(
                "SELECT seq, prev_hash, hash, record, ts, kind, session_id, tool_use_id, agent, os_user, cwd, tool,
                        tool_kind, target, decision, source, approver, rule_id, reason, links_seq, status,
                        CASE WHEN kind = 'decision' THEN
                            (SELECT o.status FROM gate_receipts o WHERE o.host = r.host AND o.store_id = r.store_id
                                AND o.links_seq = r.seq AND o.kind = 'outcome' ORDER BY o.seq LIMIT 1) END
                 FROM gate_receipts r WHERE host = $1 AND store_id = $2 ORDER BY seq",
                &[&host, &store_id],
            )
            .map_err(|e| self.err(e))?;
        let mut check = RecordCheck::default();
        let mut frontier = Frontier::new();
        let mut next_cp = 0usize;
        let mut prev = (0i64, crate::store::chain::GENESIS.to_string());
        let max_problems = 20;
        let mut unlisted = 0u64;
        loop {
            let rows = tx.query_portal(&portal, 2_000).map_err(|e| self.err(e))?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let seq: i64 = row.get(0);
                let prev_hash: String = row.get(1);
                let hash: String = row.get(2);
                let record: String = row.get(3);
                let mut problem = |p: String| {
                    if v.problems.len() < max_problems {
                        v.problems.push(if p.starts_with("seq ") { p } else { format!("seq {seq}: {p}") });
                    } else {
                        unlisted += 1;
                    }
                };
                if seq != prev.0 + 1 {
                    problem(format!("follows seq {} (rows are missing)", prev.0));
                }
                if prev_hash != prev.1 {
                    problem("its prev_hash is not the hash of the row before it".into());
                }
                if seq == 1 && hash != store_id {
                    problem("the first row's hash is not the store's id".into());
                }
                // A decision's record is stored without its outcome (a later
                // row says it): checked here with the outcome that row gives.
                let parsed = parse_record(&record).map(|mut rec| {
                    if let Some(o) = row.get::<_, Option<String>>(21) {
                        rec.insert("outcome".into(), Value::String(o));
                    }
                    rec
                });
                match parsed {
                    Err(e) => problem(e),
                    Ok(rec) => match check.hash(&rec) {
                        Err(e) => problem(e),
                        Ok(computed) => {
                            if computed != hash || rec.get("hash").and_then(Value::as_str) != Some(hash.as_str()) {
                                problem("its record does not give its hash (the row was altered)".into());
                            }
                            if rec.get("prev_hash").and_then(Value::as_str) != Some(prev_hash.as_str())
                                || rec.get("seq").and_then(Value::as_i64) != Some(seq)
                            {
                                problem("its record's seq or prev_hash is not the row's".into());
                            }
                            if let Ok(r) = Receipt::from_export(&rec) {
                                if let Some(col) = column_mismatch(&r, row) {
                                    problem(format!("its {col} column is not what its record says"));
                                }
                            }
                        }
                    },
                }
                if let Some(bytes) = crate::trust::from_hex::<32>(&hash) {
                    frontier.push(leaf_hash(&bytes));
                }
                while let Some(cp) = checkpoints.get(next_cp).filter(|c| c.size == frontier.size()) {
                    v.checkpoints_checked += 1;
                    if cp.root_hash().ok() != Some(frontier.root()) {
                        v.problems.push(format!(
                            "the checkpoint at size {} (signed {}) does not match the rows the server holds",
                            cp.size,
                            crate::clock::format_ms(cp.time_ms)
                        ));
                    }
                    next_cp += 1;
                }
                v.rows += 1;
                prev = (seq, hash);
            }
        }
        if unlisted > 0 {
            v.problems.push(format!("and {unlisted} more problems not listed"));
        }
        if let Err(e) = check.finish() {
            v.problems.push(e);
        }
        // Every row must be under a checkpoint signed by the store's key:
        // `gate push` sends only rows its checkpoint covers. Rows past the
        // largest were added by someone else, or by a push cut off before
        // its checkpoint went up (the next push sends it).
        let signed = checkpoints.iter().map(|c| c.size).max().unwrap_or(0);
        if key.is_some() && !checkpoints.is_empty() && v.rows > signed {
            v.problems.push(format!(
                "rows {} to {} are not covered by a checkpoint signed with the store's key (added by someone else, or a push cut off before its checkpoint: push again)",
                signed + 1,
                v.rows
            ));
        }
        if let Some(cp) = checkpoints.get(next_cp) {
            v.problems.push(format!(
                "a checkpoint says the store had {} rows, but the server holds {}",
                cp.size,
                frontier.size()
            ));
        }
        if key.is_some() && checkpoints.is_empty() && v.problems.is_empty() && v.rows > 0 {
            v.problems.push("no signed checkpoint was pushed for this store".into());
        }
        v.head = (v.rows > 0).then_some(prev.1);
        Ok(v)
    }
}

/// The first copied column whose value is not the record's.
fn column_mismatch(r: &Receipt, row: &postgres::Row) -> Option<&'static str> {
    let text = |i: usize| row.get::<_, Option<String>>(i);
    let word = |w: Option<&'static str>| w.map(str::to_string);
    let checks: [(&'static str, bool); 17] = [
        ("ts", row.get::<_, i64>(4) == r.ts.0),
        ("kind", text(5).as_deref() == Some(r.kind.0.as_str())),
        ("session_id", text(6) == r.session_id),
        ("tool_use_id", text(7) == r.tool_use_id),
        ("agent", text(8) == r.agent),
        ("os_user", text(9) == r.os_user),
        ("cwd", text(10) == r.cwd),
        ("tool", text(11) == r.tool),
        ("tool_kind", text(12) == word(r.tool_kind.map(|k| k.0.as_str()))),
        ("target", text(13) == r.target),
        ("decision", text(14) == word(r.decision.map(Verdict::as_str))),
        ("source", text(15) == word(r.source.map(|s| s.as_str()))),
        ("approver", text(16) == r.approver),
        ("rule_id", text(17) == r.rule_id),
        ("reason", text(18) == r.reason),
        ("links_seq", row.get::<_, Option<i64>>(19) == r.links_seq),
        ("status", text(20) == word(r.status.map(|s| s.as_str()))),
    ];
    checks.iter().find(|(_, ok)| !ok).map(|(c, _)| *c)
}
