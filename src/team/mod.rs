//! The team store: every developer's receipts in one PostgreSQL database.
//! `gate push` uploads a local store's verified rows there ([`push`]), and
//! `gate log`, `export`, `digest` and `verify` read them back with
//! `--from` ([`read`]). The server keeps each store's chain exactly as it
//! was written, keyed by (host, store id, seq); its schema is gate's own,
//! created and migrated by `gate push --init` ([`schema`]), and append-only
//! on the server too. Nothing here is on the hook's path: the hook never
//! waits on the network.

pub mod connect;
pub mod push;
pub mod read;
pub mod schema;
pub mod url;

pub use read::TeamStore;
pub use url::{Env, TeamUrl};

/// Why talking to the team store failed.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("cannot reach the team store {url}: {source}")]
    Connect { url: String, source: postgres::Error },
    #[error("team store {url}: {source}")]
    Server { url: String, source: postgres::Error },
    #[error("team store URL: {0}")]
    Url(#[from] url::UrlError),
    #[error("{0}")]
    Config(String),
    #[error(
        "the team store {url} has no gate schema yet: run `gate push --init --to <url>` once, as a role that may create tables there (docs/team.md)"
    )]
    NoSchema { url: String },
    #[error("the team store {url} has schema version {found}, newer than this gate knows ({known}); upgrade gate")]
    TooNew { url: String, found: i32, known: i32 },
    #[error("the team store {url} has schema version {found}; this gate needs {known}: run `gate push --init --to <url>` to migrate it")]
    TooOld { url: String, found: i32, known: i32 },
}

impl TeamError {
    /// A server error's wrapper for `url` (`map_err(TeamError::server(url))`).
    pub fn server(url: &TeamUrl) -> impl Fn(postgres::Error) -> TeamError + Copy + '_ {
        move |source| TeamError::Server { url: url.to_string(), source }
    }
}

/// The team store's URL: `--to`/`--from`, else `GATE_TEAM_URL`, else
/// `url` under `[team]` in gate's `settings.toml`.
pub fn resolve_url(given: Option<&str>, paths: &crate::paths::Paths) -> Result<TeamUrl, TeamError> {
    let text = match given {
        Some(t) => t.to_string(),
        None => match std::env::var("GATE_TEAM_URL").ok().filter(|v| !v.is_empty()) {
            Some(t) => t,
            None => settings(paths)?.url.ok_or_else(|| {
                TeamError::Config(format!(
                    "no team store given: pass --to postgres://..., set GATE_TEAM_URL, or set url under [team] in {}",
                    paths.settings().display()
                ))
            })?,
        },
    };
    Ok(TeamUrl::parse(&text, &Env::from_process())?)
}

/// `[team]` in `settings.toml`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSettings {
    /// The team store's URL (a password belongs in `~/.pgpass` instead).
    pub url: Option<String>,
    /// The name this machine's stores are pushed under.
    pub developer: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct SettingsFile {
    #[serde(default)]
    team: TeamSettings,
}

/// Read `[team]` from `settings.toml` (absent: nothing set).
pub fn settings(paths: &crate::paths::Paths) -> Result<TeamSettings, TeamError> {
    let path = paths.settings();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TeamSettings::default()),
        Err(e) => return Err(TeamError::Config(format!("cannot read {}: {e}", path.display()))),
    };
    let file: SettingsFile = toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!(":{line}:{col}")
            })
            .unwrap_or_default();
        TeamError::Config(format!("{}{at}: {}; fix the file (it may hold [team] url and developer)", path.display(), e.message()))
    })?;
    Ok(file.team)
}
