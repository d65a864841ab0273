//! Where the team store is and how to reach it: a `postgres://` URL read
//! the way libpq reads one (host, port, user, database, and the `sslmode`,
//! `sslrootcert`, `host`, `port`, `user`, `dbname`, `passfile`,
//! `connect_timeout` and `application_name` parameters). The password comes
//! from the URL, `PGPASSWORD`, or a `.pgpass` file (`PGPASSFILE`, else
//! `~/.pgpass`), in that order, as libpq takes it; [`TeamUrl`]'s `Display`
//! never shows it. Pure: the caller passes the environment in.

use std::fmt;

/// How TLS is used, in libpq's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A parsed team store URL.
#[derive(Clone, PartialEq, Eq)]
pub struct TeamUrl {
    /// A host name, an IP address, or a Unix socket directory (starts with `/`).
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub dbname: Option<String>,
    /// Never shown (see the `Display` impl).
    pub password: Option<String>,
    pub sslmode: SslMode,
    /// A file of PEM CA certificates, or `system` for the system's store.
    pub sslrootcert: Option<String>,
    pub passfile: Option<String>,
    pub connect_timeout_s: u64,
    pub application_name: Option<String>,
}

impl fmt::Debug for TeamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TeamUrl({self})")
    }
}

/// The URL without its password: `postgres://user@host:port/db?sslmode=...`.
impl fmt::Display for TeamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "postgres://")?;
        if let Some(u) = &self.user {
            write!(f, "{}@", encode(u))?;
        }
        if self.host.starts_with('/') {
            write!(f, "{}", encode(&self.host))?;
        } else if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            write!(f, "{}", self.host)?;
        }
        write!(f, ":{}/{}", self.port, encode(self.dbname.as_deref().unwrap_or("")))?;
        write!(f, "?sslmode={}", self.sslmode.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("not a PostgreSQL URL (it must start with postgres:// or postgresql://)")]
    Scheme,
    #[error("the URL's port is not a number from 1 to 65535 (a password holding ? # or / must be %-encoded; better, keep it in PGPASSWORD or ~/.pgpass)")]
    Port(String),
    #[error("the URL has a parameter {0} gate does not know (it reads sslmode, sslrootcert, host, port, user, dbname, passfile, connect_timeout, application_name)")]
    Param(String),
    #[error("sslmode={0:?} is not one of disable, allow, prefer, require, verify-ca, verify-full")]
    SslMode(String),
    #[error("connect_timeout={0:?} is not a number of seconds")]
    Timeout(String),
    #[error("the URL has a malformed %-escape")]
    Escape,
    #[error("the URL names several hosts; gate pushes to one")]
    SeveralHosts,
}

/// What the URL alone does not say, from the environment.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub pgpassword: Option<String>,
    pub pgpassfile: Option<String>,
    pub pguser: Option<String>,
    pub pgsslmode: Option<String>,
    pub pgsslrootcert: Option<String>,
    pub home: Option<String>,
    /// The OS user, libpq's last default for the user name.
    pub os_user: Option<String>,
}

impl Env {
    pub fn from_process() -> Env {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Env {
            pgpassword: var("PGPASSWORD"),
            pgpassfile: var("PGPASSFILE"),
            pguser: var("PGUSER"),
            pgsslmode: var("PGSSLMODE"),
            pgsslrootcert: var("PGSSLROOTCERT"),
            home: var("HOME"),
            os_user: var("USER").or_else(|| var("LOGNAME")),
        }
    }
}

fn decode(s: &str) -> Result<String, UrlError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(UrlError::Escape)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| UrlError::Escape)?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::Escape)
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '.' | '_' | '~' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

impl TeamUrl {
    /// Parse `postgres://[user[:password]@][host][:port][/dbname][?param=value&...]`.
    pub fn parse(text: &str, env: &Env) -> Result<TeamUrl, UrlError> {
        let rest = text
            .strip_prefix("postgres://")
            .or_else(|| text.strip_prefix("postgresql://"))
            .ok_or(UrlError::Scheme)?;
        let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
        // The user and password end at the last `@` before the query, so that
        // a password holding `/` or `@` is not read as the host or the path
        // (and shown in a message).
        let (userinfo, main) = match main.rsplit_once('@') {
            Some((u, m)) => (Some(u), m),
            None => (None, main),
        };
        let (hostport, path) = main.split_once('/').unwrap_or((main, ""));
        let mut url = TeamUrl {
            host: String::new(),
            port: 5432,
            user: None,
            dbname: None,
            password: None,
            sslmode: SslMode::Prefer,
            sslrootcert: None,
            passfile: None,
            connect_timeout_s: 10,
            application_name: None,
        };
        if let Some(u) = userinfo {
            let (user, pw) = match u.split_once(':') {
                Some((user, pw)) => (user, Some(pw)),
                None => (u, None),
            };
            if !user.is_empty() {
                url.user = Some(decode(user)?);
            }
            url.password = pw.map(decode).transpose()?;
        }
        if hostport.contains(',') {
            return Err(UrlError::SeveralHosts);
        }
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or(UrlError::Escape)?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (decode(h)?, Some(p)),
                None => (decode(hostport)?, None),
            }
        };
        url.host = host;
        if let Some(p) = port.filter(|p| !p.is_empty()) {
            url.port = parse_port(p)?;
        }
        if !path.is_empty() {
            url.dbname = Some(decode(path)?);
        }
        let mut sslmode = env.pgsslmode.clone();
        url.sslrootcert = env.pgsslrootcert.clone();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = decode(v)?;
            match decode(k)?.as_str() {
                "sslmode" => sslmode = Some(v),
                "sslrootcert" => url.sslrootcert = Some(v),
                "host" => url.host = v,
                "port" => url.port = parse_port(&v)?,
                "user" => url.user = Some(v),
                "dbname" => url.dbname = Some(v),
                "password" => url.password = Some(v),
                "passfile" => url.passfile = Some(v),
                "connect_timeout" => url.connect_timeout_s = v.parse().map_err(|_| UrlError::Timeout(v.clone()))?,
                "application_name" => url.application_name = Some(v),
                // Named only when it looks like a parameter name: anything
                // else may be a piece of a password that held a `?`.
                other => {
                    let named = !other.is_empty()
                        && other.len() <= 40
                        && other.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                    return Err(UrlError::Param(if named { format!("{other:?}") } else { "(not shown)".into() }));
                }
            }
        }
        if let Some(m) = sslmode {
            url.sslmode = SslMode::parse(&m).ok_or(UrlError::SslMode(m))?;
        }
        if url.host.is_empty() {
            url.host = "/var/run/postgresql".into();
        }
        if url.user.is_none() {
            url.user = env.pguser.clone().or_else(|| env.os_user.clone());
        }
        if url.dbname.is_none() {
            url.dbname = url.user.clone();
        }
        if url.password.is_none() {
            url.password = env.pgpassword.clone();
        }
        if url.passfile.is_none() {
            url.passfile = env.pgpassfile.clone().or_else(|| env.home.as_ref().map(|h| format!("{h}/.pgpass")));
        }
        Ok(url)
    }

    /// The password a `.pgpass` file gives this URL (the first line that
    /// matches host, port, database and user, `*` matching anything), when
    /// the URL and the environment gave none.
    pub fn password_from_passfile(&self, passfile_text: &str) -> Option<String> {
        let host = if self.host.starts_with('/') { "localhost" } else { self.host.as_str() };
        let port = self.port.to_string();
        let want = [host, port.as_str(), self.dbname.as_deref().unwrap_or(""), self.user.as_deref().unwrap_or("")];
        for line in passfile_text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields = split_pgpass(line);
            if fields.len() != 5 {
                continue;
            }
            if fields[..4].iter().zip(want).all(|(f, w)| f == "*" || f == w) {
                return Some(fields[4].clone());
            }
        }
        None
    }
}

fn parse_port(p: &str) -> Result<u16, UrlError> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(UrlError::Port(p.to_string())),
    }
}

/// One `.pgpass` line's fields: `:` separates them, `\` escapes `:` and `\`.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().map(|f| f.push(n));
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            _ => {
                fields.last_mut().map(|f| f.push(c));
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env { os_user: Some("dev".into()), home: Some("/home/dev".into()), ..Env::default() }
    }

    #[test]
    fn urls_parse_as_libpq_reads_them() {
        // (url, host, port, user, dbname, sslmode, shown)
        let cases: &[(&str, &str, u16, &str, &str, SslMode, &str)] = &[
            (
                "postgres://alice:s3cret@db.example.com:6543/gate?sslmode=verify-full",
                "db.example.com",
                6543,
                "alice",
                "gate",
                SslMode::VerifyFull,
                "postgres://alice@db.example.com:6543/gate?sslmode=verify-full",
            ),
            ("postgresql://127.0.0.1/team", "127.0.0.1", 5432, "dev", "team", SslMode::Prefer, "postgres://dev@127.0.0.1:5432/team?sslmode=prefer"),
            ("postgres://", "/var/run/postgresql", 5432, "dev", "dev", SslMode::Prefer, "postgres://dev@%2Fvar%2Frun%2Fpostgresql:5432/dev?sslmode=prefer"),
            ("postgres://bob@%2Ftmp%2Fpg:5433/g", "/tmp/pg", 5433, "bob", "g", SslMode::Prefer, "postgres://bob@%2Ftmp%2Fpg:5433/g?sslmode=prefer"),
            ("postgres://x@[::1]:7000/g?sslmode=disable", "::1", 7000, "x", "g", SslMode::Disable, "postgres://x@[::1]:7000/g?sslmode=disable"),
            ("postgres:///g?host=/run/pg&port=5999&user=u", "/run/pg", 5999, "u", "g", SslMode::Prefer, "postgres://u@%2Frun%2Fpg:5999/g?sslmode=prefer"),
        ];
        for (text, host, port, user, db, mode, shown) in cases {
            let u = TeamUrl::parse(text, &env()).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((u.host.as_str(), u.port, u.user.as_deref(), u.dbname.as_deref(), u.sslmode), (*host, *port, Some(*user), Some(*db), *mode), "{text}");
            assert_eq!(u.to_string(), *shown, "{text}");
            assert!(!format!("{u:?}").contains("s3cret"));
        }
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        let cases: &[(&str, UrlError)] = &[
            ("mysql://x", UrlError::Scheme),
            ("postgres://h:99999/db", UrlError::Port("99999".into())),
            ("postgres://h/db?sslmode=maybe", UrlError::SslMode("maybe".into())),
            ("postgres://h/db?options=-c%20x", UrlError::Param("\"options\"".into())),
            ("postgres://alice:12?34@db/gate", UrlError::Param("(not shown)".into())),
            ("postgres://a,b/db", UrlError::SeveralHosts),
            ("postgres://h/d%zz", UrlError::Escape),
        ];
        for (text, want) in cases {
            assert_eq!(TeamUrl::parse(text, &env()).unwrap_err(), *want, "{text}");
        }
    }

    #[test]
    fn a_password_holding_url_characters_is_never_shown() {
        for text in ["postgres://alice:s3/cr3t@db/gate", "postgres://alice:1234/abc@db/gate", "postgres://alice:pa@ss@db/gate"] {
            let u = TeamUrl::parse(text, &env()).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((u.host.as_str(), u.dbname.as_deref(), u.user.as_deref()), ("db", Some("gate"), Some("alice")), "{text}");
            assert!(!u.to_string().contains("cr3t") && !u.to_string().contains("abc") && !u.to_string().contains("ss@"), "{u}");
        }
        for text in ["postgres://alice:pa?ss@db/gate", "postgres://alice:x#y?z@db/gate", "postgres://alice:99?x=1@db"] {
            if let Err(e) = TeamUrl::parse(text, &env()) {
                for piece in ["pa", "ss", "x#y", "z@db"] {
                    assert!(!e.to_string().contains(&format!("\"{piece}")), "{text}: {e}");
                }
            }
        }
    }

    #[test]
    fn the_password_comes_from_the_url_then_pgpassword_then_pgpass() {
        let mut e = env();
        e.pgpassword = Some("from-env".into());
        assert_eq!(TeamUrl::parse("postgres://u:from-url@h/d", &e).unwrap().password.as_deref(), Some("from-url"));
        assert_eq!(TeamUrl::parse("postgres://u@h/d", &e).unwrap().password.as_deref(), Some("from-env"));
        let u = TeamUrl::parse("postgres://u@h:5433/d", &env()).unwrap();
        assert_eq!(u.password, None);
        let pgpass = "# comment\nh:5432:d:u:wrong-port\nh:5433:d:other:wrong-user\n*:5433:d:u:pa\\:ss\\\\word\nh:*:*:*:late\n";
        assert_eq!(u.password_from_passfile(pgpass).as_deref(), Some("pa:ss\\word"));
        let sock = TeamUrl::parse("postgres://u@%2Ftmp/d", &env()).unwrap();
        assert_eq!(sock.password_from_passfile("localhost:5432:d:u:sock\n").as_deref(), Some("sock"));
    }
}
