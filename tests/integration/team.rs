//! The team store against a real PostgreSQL server (see `pg.rs`): `gate
//! push` creates the schema, uploads, is idempotent, resumes after being
//! killed, refuses a tampered local store, runs concurrently for two
//! developers; the server refuses changes; `gate log`, `export`, `digest`
//! and `verify` read it back with `--from`; TLS and credentials behave as
//! libpq's do, and a password never reaches the output.

#[path = "../../examples/fill_store/synth.rs"]
mod synth;

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::pg;
use crate::util::{stderr, stdout, TestEnv};

/// A developer's machine with `rows` generated receipts and a checkpoint.
fn developer(rows: u64, seed: u64) -> TestEnv {
    let env = TestEnv::new();
    let paths = gate::paths::Paths { data_dir: env.gate_home(), config_dir: env.gate_home() };
    let mut store = gate::store::Store::open(&paths.db()).unwrap();
    let opts = synth::Options { rows, seed, end_ms: gate::clock::now_ms(), span_days: 3, batch_rows: 1000 };
    synth::fill(&mut store, &opts).unwrap();
    env
}

fn rows_of(env: &TestEnv) -> i64 {
    env.sqlite3("SELECT COUNT(*) FROM receipts").trim().parse().unwrap()
}

fn server_rows(db: &str) -> i64 {
    pg::cluster().admin(db).query_one("SELECT COUNT(*) FROM gate_receipts", &[]).unwrap().get(0)
}

fn db_message(e: &postgres::Error) -> String {
    e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string())
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "exit {:?}\nstdout: {}\nstderr: {}", out.status.code(), stdout(out), stderr(out));
    stdout(out)
}

/// A fresh database with gate's schema; its admin URL.
fn team_db() -> (String, String) {
    let pg = pg::cluster();
    let db = pg.database();
    let url = pg.admin_url(&db);
    let out = TestEnv::new().run(&["push", "--init", "--to", &url]);
    assert!(stdout(&out).contains("created gate's schema (version 1)"), "{}{}", stdout(&out), stderr(&out));
    (db, url)
}

#[test]
fn a_push_uploads_once_and_the_team_store_reads_back_the_same_records() {
    let (db, url) = team_db();
    let alice = developer(3000, 11);
    let n = rows_of(&alice);

    let first = ok(&alice.run(&["push", "--to", &url, "--developer", "alice", "--batch", "700"]));
    assert!(first.starts_with(&format!("pushed {n} receipts (seq 1..{n})")), "{first}");
    assert!(first.contains("as alice") && first.contains("5 batches"), "{first}");
    assert_eq!(server_rows(&db), n);

    // Idempotent: a second run sends nothing.
    let again = ok(&alice.run(&["push", "--to", &url]));
    assert!(again.contains(&format!("up to seq {n}; nothing to push")), "{again}");
    assert_eq!(server_rows(&db), n);

    // New rows go up on the next push, and only they.
    let mut payload = alice.fixture("PreToolUse-Bash-ls");
    payload["cwd"] = Value::String(alice.project().display().to_string());
    let hooked = alice.run_with_stdin(&["hook"], payload.to_string().as_bytes());
    assert!(hooked.status.success(), "{}", stderr(&hooked));
    let more = rows_of(&alice);
    assert!(more > n);
    let report: Value = serde_json::from_str(&ok(&alice.run(&["push", "--to", &url, "--json"]))).unwrap();
    assert_eq!(report["pushed"].as_i64(), Some(more - n), "{report}");
    assert_eq!(report["server_head_before"].as_i64(), Some(n));
    assert_eq!(report["developer"], "alice");

    // The team export is the local export, record for record, plus the store's name.
    let local: Vec<Value> = ok(&alice.run(&["export"])).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let team: Vec<Value> =
        ok(&alice.run(&["export", "--from", &url])).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(local.len() as i64, more);
    assert_eq!(team.len(), local.len());
    for (l, t) in local.iter().zip(&team) {
        let mut t = t.as_object().unwrap().clone();
        assert_eq!(t.remove("developer"), Some(Value::from("alice")));
        assert_eq!(t.remove("store_id").as_ref().and_then(Value::as_str).map(str::len), Some(64));
        assert!(t.remove("store_host").is_some());
        assert_eq!(&Value::Object(t), l);
    }

    let verified = ok(&alice.run(&["verify", "--from", &url]));
    assert!(verified.starts_with(&format!("ok: alice on ")), "{verified}");
    assert!(verified.contains(&format!("{more} rows, chain intact")) && verified.contains("signed checkpoint"), "{verified}");

    // The log lists the same sessions, each with its developer.
    // (A team store lists sessions newest first by time; seqs of different
    // stores do not compare.)
    let local_sessions: Value = serde_json::from_str(&ok(&alice.run(&["log", "--json", "--all", "--limit", "1000"]))).unwrap();
    let team_sessions: Value =
        serde_json::from_str(&ok(&alice.run(&["log", "--json", "--all", "--limit", "1000", "--from", &url]))).unwrap();
    let by_id = |v: &Value| {
        v.as_array().unwrap().iter().map(|s| (s["session_id"].as_str().unwrap().to_string(), s["calls"].clone())).collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(by_id(&local_sessions), by_id(&team_sessions));
    let lasts: Vec<&str> = team_sessions.as_array().unwrap().iter().map(|s| s["last"].as_str().unwrap()).collect();
    assert!(lasts.windows(2).all(|w| w[0] >= w[1]), "{lasts:?}");
    assert_eq!(team_sessions[0]["developer"], "alice");
    let sid = team_sessions[0]["session_id"].as_str().unwrap().to_string();
    let story = ok(&alice.run(&["log", &sid[..10], "--from", &url]));
    assert!(story.starts_with(&format!("session {sid}")) && story.contains("alice@"), "{story}");
    assert_eq!(
        story.lines().filter(|l| !l.starts_with("session")).count(),
        ok(&alice.run(&["log", &sid[..10]])).lines().filter(|l| !l.starts_with("session")).count()
    );
}

#[test]
fn two_developers_push_at_once_and_one_digest_covers_both() {
    let (db, url) = team_db();
    let alice = developer(2500, 21);
    let bob = developer(2000, 22);
    let spawn = |env: &TestEnv, name: &str| {
        env.cmd(&["push", "--to", &url, "--developer", name, "--batch", "300"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(&alice, "alice"), spawn(&bob, "bob"));
    ok(&a.wait_with_output().unwrap());
    ok(&b.wait_with_output().unwrap());
    assert_eq!(server_rows(&db), rows_of(&alice) + rows_of(&bob));

    let verified = ok(&alice.run(&["verify", "--from", &url]));
    assert!(verified.contains("ok: alice on") && verified.contains("ok: bob on"), "{verified}");
    assert!(verified.contains("2 stores") && verified.contains("every chain and checkpoint verifies"), "{verified}");

    let digest: Value =
        serde_json::from_str(&ok(&alice.run(&["digest", "--from", &url, "--since", "30d", "--format", "json"]))).unwrap();
    let per_dev = digest["by_developer"].as_array().expect("by_developer");
    let names: Vec<&str> = per_dev.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{per_dev:?}");
    assert!(names.contains(&"alice") && names.contains(&"bob"));
    let sum: i64 = per_dev.iter().map(|s| s["calls"].as_i64().unwrap()).sum();
    assert_eq!(Some(sum), digest["calls"].as_i64());
    // Each developer's share is what their own machine's digest says.
    for (env, name) in [(&alice, "alice"), (&bob, "bob")] {
        let own: Value =
            serde_json::from_str(&ok(&env.run(&["digest", "--since", "30d", "--format", "json"]))).unwrap();
        let theirs = per_dev.iter().find(|s| s["name"] == name).unwrap();
        assert_eq!(theirs["calls"], own["calls"], "{name}");
    }
    let text = ok(&alice.run(&["digest", "--from", &url, "--since", "30d"]));
    assert!(text.contains("Per developer"), "{text}");

    // Filters: by developer, by host.
    let only_bob: Value =
        serde_json::from_str(&ok(&alice.run(&["log", "--json", "--all", "--limit", "500", "--from", &url, "--developer", "bob"])))
            .unwrap();
    let only_bob = only_bob.as_array().unwrap();
    assert!(!only_bob.is_empty() && only_bob.iter().all(|s| s["developer"] == "bob"));
    let nowhere = ok(&alice.run(&["log", "--from", &url, "--host", "no-such-host"]));
    assert!(nowhere.contains("no sessions with a tool call match"), "{nowhere}");
    let bob_export = ok(&alice.run(&["export", "--from", &url, "--developer", "bob"]));
    assert_eq!(bob_export.lines().count() as i64, rows_of(&bob));
}

#[test]
fn a_tampered_local_store_is_refused_and_the_server_keeps_only_verified_rows() {
    let (db, url) = team_db();
    let dev = developer(1500, 31);
    ok(&dev.run(&["push", "--to", &url]));
    let pushed = rows_of(&dev);
    // More rows, then one of them edited behind gate's back.
    let paths = gate::paths::Paths { data_dir: dev.gate_home(), config_dir: dev.gate_home() };
    let mut store = gate::store::Store::open(&paths.db()).unwrap();
    let opts = synth::Options { rows: 500, seed: 32, end_ms: gate::clock::now_ms(), span_days: 1, batch_rows: 100 };
    synth::fill(&mut store, &opts).unwrap();
    drop(store);
    let edited = pushed + 100;
    dev.sqlite3(&format!(
        "DROP TRIGGER receipts_no_update; UPDATE receipts SET target = 'echo innocent' WHERE seq = {edited};"
    ));
    let out = dev.run(&["push", "--to", &url]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("does not verify at seq {edited}")) && err.contains("edited"), "{err}");
    // The rows before it verified, and went up; nothing from it on did.
    assert_eq!(server_rows(&db), edited - 1);
    ok(&dev.run(&["verify", "--from", &url]));

    // A rewritten hash at the server's head: the histories differ.
    let head = edited - 1;
    dev.sqlite3(&format!(
        "UPDATE receipts SET hash = '{}' WHERE seq = {head};",
        "ab".repeat(32)
    ));
    let out = dev.run(&["push", "--to", &url]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the histories differ, nothing was pushed"), "{}", stderr(&out));
    assert_eq!(server_rows(&db), edited - 1);
}

#[test]
fn a_killed_push_resumes_where_it_stopped() {
    let (db, url) = team_db();
    let dev = developer(3000, 41);
    let total = rows_of(&dev);
    // Each batch is one COPY statement: a statement trigger that sleeps
    // makes every batch take 50 ms, so the kill surely lands between the
    // first batch and the last, however loaded the machine.
    let mut admin = pg::cluster().admin(&db);
    admin
        .batch_execute(
            "CREATE FUNCTION slow_batch() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END $$;
             CREATE TRIGGER slow_batch AFTER INSERT ON gate_receipts
               FOR EACH STATEMENT EXECUTE FUNCTION slow_batch();",
        )
        .unwrap();
    let mut child = dev
        .cmd(&["push", "--to", &url, "--batch", "100"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n: i64 = admin.query_one("SELECT COUNT(*) FROM gate_receipts", &[]).unwrap().get(0);
        if n > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the push never committed a batch");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let cut: i64 = admin.query_one("SELECT COUNT(*) FROM gate_receipts", &[]).unwrap().get(0);
    assert!(cut > 0 && cut < total, "the push was not cut short ({cut} of {total})");
    assert_eq!(cut % 100, 0, "a batch was half committed: {cut}");
    admin.batch_execute("DROP TRIGGER slow_batch ON gate_receipts").unwrap();

    let resumed = ok(&dev.run(&["push", "--to", &url]));
    assert!(resumed.starts_with(&format!("pushed {} receipts (seq {}..{total})", total - cut, cut + 1)), "{resumed}");
    assert_eq!(server_rows(&db), total);
    let verified = ok(&dev.run(&["verify", "--from", &url]));
    assert!(verified.contains(&format!("{total} rows, chain intact")), "{verified}");
}

#[test]
fn the_server_refuses_changes_and_a_pusher_may_only_add() {
    let (db, url) = team_db();
    let pg = pg::cluster();
    let dev = developer(400, 51);
    pg.login_role(&db, "carol_pusher", "pw-carol-123", "gate_pusher");
    pg.login_role(&db, "dan_reviewer", "pw-dan-456", "gate_reviewer");
    let carol = format!("postgres://carol_pusher@127.0.0.1:{}/{db}?sslmode=disable", pg.port);
    let mut push = dev.cmd(&["push", "--to", &carol, "--developer", "carol"]);
    push.env("PGPASSWORD", "pw-carol-123");
    let out = push.output().unwrap();
    ok(&out);
    assert!(!stdout(&out).contains("pw-carol") && !stderr(&out).contains("pw-carol"));

    let mut as_carol = pg.as_role(&db, "carol_pusher", "pw-carol-123");
    for sql in [
        "UPDATE gate_receipts SET reason = 'x' WHERE seq = 2",
        "DELETE FROM gate_receipts WHERE seq = 2",
        "TRUNCATE gate_receipts",
        "UPDATE gate_stores SET developer = 'mallory'",
    ] {
        let e = as_carol.batch_execute(sql).expect_err(sql);
        assert!(db_message(&e).contains("permission denied"), "{sql}: {e:?}");
    }
    // A pusher may add rows, and could extend another developer's chain
    // with a row whose hash is right (hashes are not secret): verify fails
    // it, as no checkpoint signed with that store's key covers it.
    let last = as_carol
        .query_one("SELECT seq, hash, record FROM gate_receipts ORDER BY seq DESC LIMIT 1", &[])
        .unwrap();
    let (seq, hash, record): (i64, String, String) = (last.get(0), last.get(1), last.get(2));
    let mut forged = gate::store::Receipt::from_export(&serde_json::from_str(&record).unwrap()).unwrap();
    forged.seq = seq + 1;
    forged.prev_hash = hash;
    forged.hash = forged.computed_hash();
    let outcome = if forged.row_kind() == gate::store::RowKind::Decision { None } else { forged.status };
    let forged_record = forged.export_json(outcome).unwrap();
    let cols = "session_id, tool_use_id, agent, os_user, cwd, tool, tool_kind, target, decision, source, approver, rule_id, reason, links_seq, status";
    as_carol
        .execute(
            &format!(
                "INSERT INTO gate_receipts (host, store_id, seq, ts, kind, prev_hash, hash, record, {cols})
                 SELECT host, store_id, seq + 1, ts, kind, hash, $1, $2, {cols} FROM gate_receipts WHERE seq = $3"
            ),
            &[&forged.hash, &forged_record, &seq],
        )
        .expect("a pusher extends the chain with a well-formed row");
    let out = dev.run(&["verify", "--from", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("rows {} to {} are not covered by a checkpoint signed with the store's key", seq + 1, seq + 1)),
        "{}",
        stdout(&out)
    );
    // The store's owner notices too: the histories differ.
    let mut again = dev.cmd(&["push", "--to", &carol]);
    again.env("PGPASSWORD", "pw-carol-123");
    let out = again.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the histories differ") || stderr(&out).contains("is missing"), "{}", stderr(&out));

    // A temporary table of the pusher's own cannot stand in for gate's in
    // the trigger's checks; nor can a store id be claimed for another host.
    let e = as_carol
        .batch_execute(
            "CREATE TEMP TABLE gate_receipts (host text, store_id text, seq bigint, hash text);
             CREATE TEMP TABLE gate_stores (host text, store_id text);
             INSERT INTO pg_temp.gate_stores SELECT host, store_id FROM public.gate_stores;
             INSERT INTO pg_temp.gate_receipts SELECT host, store_id, 999, repeat('c', 64) FROM public.gate_stores;
             INSERT INTO public.gate_receipts (host, store_id, seq, ts, kind, prev_hash, hash, record)
             SELECT host, store_id, 1000, 0, 'decision', repeat('c', 64), repeat('d', 64), '{}' FROM public.gate_stores;",
        )
        .expect_err("a row checked against a shadow table");
    assert!(db_message(&e).contains("does not extend its chain"), "{e:?}");
    let mut as_carol = pg.as_role(&db, "carol_pusher", "pw-carol-123");
    let e = as_carol
        .batch_execute("INSERT INTO gate_stores (host, store_id, developer, public_key) SELECT 'elsewhere', store_id, 'mallory', public_key FROM gate_stores")
        .expect_err("the same store id under another host");
    assert!(db_message(&e).contains("duplicate key"), "{e:?}");

    let mut as_dan = pg.as_role(&db, "dan_reviewer", "pw-dan-456");
    let e = as_dan
        .batch_execute("INSERT INTO gate_stores (host, store_id, developer, public_key) VALUES ('h', repeat('a', 64), 'x', 'y')")
        .expect_err("a reviewer inserting");
    assert!(db_message(&e).contains("permission denied"), "{e:?}");
    let mut reviewer = dev.cmd(&["verify", "--from", &format!("postgres://dan_reviewer@127.0.0.1:{}/{db}?sslmode=disable", pg.port)]);
    reviewer.env("PGPASSWORD", "pw-dan-456");
    assert!(stdout(&reviewer.output().unwrap()).contains("FAILED: carol on"));

    // Even the owner cannot change or remove a row: the triggers refuse.
    let mut admin = pg.admin(&db);
    for sql in [
        "UPDATE gate_receipts SET reason = 'x' WHERE seq = 2",
        "DELETE FROM gate_receipts WHERE seq = 2",
        "TRUNCATE gate_receipts CASCADE",
        "DELETE FROM gate_checkpoints",
    ] {
        let e = admin.batch_execute(sql).expect_err(sql);
        assert!(db_message(&e).contains("append-only"), "{sql}: {e:?}");
    }
    // A row that does not extend its chain is refused: (what it is, its seq and prev_hash).
    for (what, seq, prev) in [("a row out of chain", "seq + 5", "hash"), ("the next seq, linked to the wrong row", "seq + 1", "prev_hash")] {
        let sql = format!(
            "INSERT INTO gate_receipts (host, store_id, seq, ts, kind, prev_hash, hash, record)
             SELECT host, store_id, {seq}, ts, kind, {prev}, hash, record FROM gate_receipts ORDER BY seq DESC LIMIT 1"
        );
        let e = admin.batch_execute(&sql).expect_err(what);
        assert!(db_message(&e).contains("does not extend its chain"), "{what}: {e:?}");
    }

    // A superuser who goes around the triggers is caught by verify.
    admin
        .batch_execute(
            "ALTER TABLE gate_receipts DISABLE TRIGGER gate_receipts_append_only;
             UPDATE gate_receipts SET record = replace(record, '\"tool_use_id\"', '\"tool_use_id\" ') WHERE seq = 7;
             UPDATE gate_receipts SET target = 'rm -rf /' WHERE seq = 9;
             ALTER TABLE gate_receipts ENABLE TRIGGER gate_receipts_append_only;",
        )
        .unwrap();
    let out = dev.run(&["verify", "--from", &url]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("FAILED: carol on"), "{text}");
    assert!(text.contains("seq 9: its target column is not what its record says"), "{text}");
}

#[test]
fn tls_and_credentials_follow_libpq_and_no_password_is_shown() {
    let (db, _) = team_db();
    let pg = pg::cluster();
    let dev = developer(300, 61);
    let secret = "Sup3r-S3cret-pw";
    pg.login_role(&db, "erin", secret, "gate_pusher");
    let base = |host: &str, q: &str| format!("postgres://erin@{host}:{}/{db}?{q}", pg.port);
    let push = |url: &str, env: &[(&str, &str)]| {
        let mut c = dev.cmd(&["push", "--to", url]);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let shows_secret = |o: &Output| stdout(o).contains(secret) || stderr(o).contains(secret);

    // No password anywhere: refused, and the error names the server.
    let out = push(&base("127.0.0.1", "sslmode=disable"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!("cannot reach the team store postgres://erin@127.0.0.1:{}", pg.port)), "{}", stderr(&out));

    // verify-full with the right CA, by name and by address.
    let ca = pg.ca.display().to_string();
    let out = push(&base("localhost", &format!("sslmode=verify-full&sslrootcert={ca}")), &[("PGPASSWORD", secret)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!shows_secret(&out));
    let out = push(&base("127.0.0.1", &format!("sslmode=verify-full&sslrootcert={ca}")), &[("PGPASSWORD", secret)]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The wrong CA: refused.
    let other = pg.other_ca.display().to_string();
    let out = push(&base("localhost", &format!("sslmode=verify-full&sslrootcert={other}")), &[("PGPASSWORD", secret)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).to_lowercase().contains("certificate"), "{}", stderr(&out));
    // verify-full with no CA at all: told what to add.
    let out = push(&base("localhost", "sslmode=verify-full"), &[("PGPASSWORD", secret)]);
    assert!(stderr(&out).contains("add sslrootcert=<file.pem>"), "{}", stderr(&out));

    // The password in the URL works, and is never shown, even in an error.
    let out = push(&format!("postgres://erin:{secret}@127.0.0.1:{}/{db}?sslmode=require", pg.port), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!shows_secret(&out), "{}", stdout(&out));
    let out = push(&format!("postgres://erin:{secret}@127.0.0.1:{}/no_such_db?sslmode=require", pg.port), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!shows_secret(&out), "{}", stderr(&out));

    // ~/.pgpass: used when private, ignored (with a warning) when not.
    let pgpass = dev.home().join(".pgpass");
    std::fs::write(&pgpass, format!("*:{}:{db}:erin:{secret}\n", pg.port)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = push(&base("127.0.0.1", "sslmode=require"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("has group or world access; it is ignored"), "{}", stderr(&out));
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = push(&base("127.0.0.1", "sslmode=require"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The configured URL: settings.toml's [team] url, and `--from team`.
    std::fs::write(dev.gate_home().join("settings.toml"), format!("[team]\nurl = \"{}\"\ndeveloper = \"erin\"\n", base("127.0.0.1", "sslmode=require")))
        .unwrap();
    assert!(ok(&dev.run(&["push"])).contains("nothing to push"));
    assert!(ok(&dev.run(&["verify", "--from", "team"])).contains("ok: "));
    // Nothing the push did wrote a password into the receipt or the settings it read.
    assert_eq!(dev.sqlite3(&format!("SELECT COUNT(*) FROM receipts WHERE instr(coalesce(args,'') || coalesce(target,''), '{secret}') > 0")).trim(), "0");
}

#[test]
fn a_team_store_without_the_schema_or_out_of_reach_is_a_clear_error() {
    let pg = pg::cluster();
    let db = pg.database();
    let dev = developer(100, 71);
    let out = dev.run(&["push", "--to", &pg.admin_url(&db)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("has no gate schema yet: run `gate push --init"), "{}", stderr(&out));
    let out = dev.run(&["log", "--from", &pg.admin_url(&db)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("has no gate schema yet"), "{}", stderr(&out));

    // Nobody listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = dev.run(&["push", "--to", &format!("postgres://x@127.0.0.1:{port}/db?sslmode=disable&connect_timeout=2")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot reach the team store"), "{}", stderr(&out));
    let out = dev.run(&["push", "--to", "mysql://x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a PostgreSQL URL"), "{}", stderr(&out));
    let out = dev.run(&["push"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no team store given"), "{}", stderr(&out));
    // --follow is for the local receipt; a bundle is the local store's.
    let out = dev.run(&["log", "--follow", "--from", &pg.admin_url(&db)]);
    assert!(stderr(&out).contains("cannot follow a team store"), "{}", stderr(&out));
    let out = dev.run(&["export", "--bundle", "x.bundle", "--from", &pg.admin_url(&db)]);
    assert!(stderr(&out).contains("a team store is exported without --bundle"), "{}", stderr(&out));
}
