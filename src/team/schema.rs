//! The team store's schema: numbered migrations applied in order by
//! `gate push --init` under an advisory lock, recorded in `gate_schema`;
//! every other command only checks that the server is at the version this
//! gate knows. `--init` also creates two roles, when it may: `gate_pusher`
//! (SELECT and INSERT, nothing else) and `gate_reviewer` (SELECT only),
//! for a DBA to grant to login roles (docs/team.md).

use super::{TeamError, TeamUrl};

const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_team.sql")];

/// The schema version this gate writes and reads.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// A constant key for the migration lock (`pg_advisory_xact_lock`).
const MIGRATION_LOCK: i64 = 0x6761_7465_5f6d_6967; // "gate_mig"

/// What `gate push --init` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InitReport {
    pub from_version: i32,
    pub to_version: i32,
    /// The roles created or granted; `None` when this role may not create roles.
    pub roles: Option<Vec<String>>,
    /// Why the roles were not set up, when they were not.
    pub roles_note: Option<String>,
}

/// Create or migrate the schema, then the roles.
pub fn init(client: &mut postgres::Client, url: &TeamUrl) -> Result<InitReport, TeamError> {
    let err = TeamError::server(url);
    let mut tx = client.transaction().map_err(&err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(&err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS gate_schema (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(&err)?;
    let found: i32 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM gate_schema", &[]).map_err(&err)?.get(0);
    if found > VERSION {
        return Err(TeamError::TooNew { url: url.to_string(), found, known: VERSION });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(sql).map_err(&err)?;
        tx.execute("INSERT INTO gate_schema (version) VALUES ($1)", &[&(i as i32 + 1)]).map_err(&err)?;
    }
    tx.commit().map_err(&err)?;
    let (roles, roles_note) = match roles(client) {
        Ok(r) => (Some(r), None),
        Err(e) => (
            None,
            Some(format!(
                "the roles gate_pusher and gate_reviewer were not set up ({}); a DBA can create them as docs/team.md shows",
                e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string())
            )),
        ),
    };
    Ok(InitReport { from_version: found, to_version: VERSION, roles, roles_note })
}

/// `gate_pusher` may read and add rows, `gate_reviewer` only read. Neither
/// may log in: a DBA grants them to the roles people log in with.
fn roles(client: &mut postgres::Client) -> Result<Vec<String>, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.batch_execute(
        "DO $$ BEGIN
             IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gate_pusher') THEN
                 CREATE ROLE gate_pusher NOLOGIN;
             END IF;
             IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gate_reviewer') THEN
                 CREATE ROLE gate_reviewer NOLOGIN;
             END IF;
         END $$;
         REVOKE ALL ON gate_schema, gate_stores, gate_receipts, gate_checkpoints FROM PUBLIC;
         GRANT SELECT ON gate_schema, gate_stores, gate_receipts, gate_checkpoints TO gate_pusher, gate_reviewer;
         GRANT INSERT ON gate_stores, gate_receipts, gate_checkpoints TO gate_pusher;",
    )?;
    tx.commit()?;
    Ok(vec!["gate_pusher".into(), "gate_reviewer".into()])
}

/// Fail unless the server's schema is exactly the version this gate knows.
pub fn check(client: &mut postgres::Client, url: &TeamUrl) -> Result<(), TeamError> {
    let found = match client.query_one("SELECT COALESCE(MAX(version), 0) FROM gate_schema", &[]) {
        Ok(row) => row.get::<_, i32>(0),
        Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) => {
            return Err(TeamError::NoSchema { url: url.to_string() })
        }
        Err(source) => return Err(TeamError::server(url)(source)),
    };
    match found {
        0 => Err(TeamError::NoSchema { url: url.to_string() }),
        f if f > VERSION => Err(TeamError::TooNew { url: url.to_string(), found: f, known: VERSION }),
        f if f < VERSION => Err(TeamError::TooOld { url: url.to_string(), found: f, known: VERSION }),
        _ => Ok(()),
    }
}
