//! A real PostgreSQL server for the team store tests: one throwaway cluster
//! per test process, started on the first use (initdb into a temp dir, a
//! free local port, TLS with a certificate made here by `openssl`, password
//! logins over TCP and trust on its own Unix socket), one database per
//! test, stopped and deleted when the process exits. When it cannot be
//! started the test fails and says why: these tests never pass silently.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub struct Pg {
    pub port: u16,
    /// The Unix socket directory (the admin connects there, without a password).
    pub sock: PathBuf,
    /// The CA that signed the server's certificate (PEM).
    pub ca: PathBuf,
    /// Another CA, which signed nothing the server shows.
    pub other_ca: PathBuf,
    bin: PathBuf,
}

static CLUSTER: OnceLock<Result<Pg, String>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The cluster, started on first use.
pub fn cluster() -> &'static Pg {
    match CLUSTER.get_or_init(start) {
        Ok(pg) => pg,
        Err(e) => panic!(
            "the PostgreSQL test server could not be started: {e}\n\
             These tests need Debian's postgresql package (./test.sh and .ci/run install it)."
        ),
    }
}

fn bindir() -> Result<PathBuf, String> {
    if let Some(d) = std::env::var_os("GATE_TEST_PG_BINDIR") {
        return Ok(PathBuf::from(d));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| rd.flatten().map(|e| e.path().join("bin")).filter(|b| b.join("initdb").is_file()).collect())
        .unwrap_or_default();
    found.sort();
    found.pop().ok_or_else(|| "no PostgreSQL server under /usr/lib/postgresql/*/bin (initdb not found)".to_string())
}

fn run(cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(55439)
}

/// A CA and a server certificate for localhost and 127.0.0.1 it signed.
fn certificates(dir: &Path) -> Result<(), String> {
    let ossl = |args: &[&str], what: &str| run(Command::new("openssl").args(args).current_dir(dir), what);
    for ca in ["ca", "other-ca"] {
        ossl(
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &format!("/CN=gate test {ca}"),
              "-keyout", &format!("{ca}.key"), "-out", &format!("{ca}.pem")],
            "openssl: a test CA",
        )?;
    }
    ossl(
        &["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"],
        "openssl: the server's key",
    )?;
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").map_err(|e| e.to_string())?;
    ossl(
        &["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
          "-extfile", "san.ext", "-out", "server.crt"],
        "openssl: the server's certificate",
    )?;
    Ok(())
}

fn start() -> Result<Pg, String> {
    let bin = bindir()?;
    let as_postgres = unsafe { libc::geteuid() } == 0;
    let dir = std::env::temp_dir().join(format!("gate-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sock")).map_err(|e| format!("{}: {e}", dir.display()))?;
    certificates(&dir)?;
    let data = dir.join("data");
    if as_postgres {
        // initdb refuses to run as root: the cluster belongs to `postgres`.
        run(Command::new("chown").args(["-R", "postgres:"]).arg(&dir), "chown the cluster's directory to postgres")?;
    }
    let pg = |program: &str| -> Command {
        if as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin.join(program));
            c
        } else {
            Command::new(bin.join(program))
        }
    };
    run(
        pg("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "gate_admin", "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "-N"]),
        "initdb",
    )?;
    let key = dir.join("server.key");
    if as_postgres {
        run(Command::new("chown").arg("postgres:").arg(&key), "chown the server key")?;
    }
    run(Command::new("chmod").arg("0600").arg(&key), "chmod the server key")?;
    let conf = format!(
        "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nfsync = off\nmax_connections = 60\n",
        dir.join("server.crt").display(),
        key.display()
    );
    let mut f = std::fs::OpenOptions::new().append(true).open(data.join("postgresql.conf")).map_err(|e| e.to_string())?;
    std::io::Write::write_all(&mut f, conf.as_bytes()).map_err(|e| e.to_string())?;
    let port = free_port();
    let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1", dir.join("sock").display());
    run(
        pg("pg_ctl").arg("-D").arg(&data).args(["-o", &opts, "-w", "-t", "60", "-l"]).arg(dir.join("log")).arg("start"),
        "pg_ctl start",
    )
    .map_err(|e| format!("{e}\nserver log:\n{}", std::fs::read_to_string(dir.join("log")).unwrap_or_default()))?;
    let cluster = Pg {
        port,
        sock: dir.join("sock"),
        ca: dir.join("ca.pem"),
        other_ca: dir.join("other-ca.pem"),
        bin,
    };
    STOP.set((cluster.bin.clone(), data, dir, as_postgres)).ok();
    unsafe { libc::atexit(stop_at_exit) };
    Ok(cluster)
}

static STOP: OnceLock<(PathBuf, PathBuf, PathBuf, bool)> = OnceLock::new();

extern "C" fn stop_at_exit() {
    if let Some((bin, data, dir, as_postgres)) = STOP.get() {
        let mut c = if *as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin.join("pg_ctl"));
            c
        } else {
            Command::new(bin.join("pg_ctl"))
        };
        let _ = c.arg("-D").arg(data).args(["-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(dir);
    }
}

impl Pg {
    /// The superuser's client, over the Unix socket.
    pub fn admin(&self, db: &str) -> postgres::Client {
        let mut c = postgres::Config::new();
        c.host_path(&self.sock).port(self.port).user("gate_admin").dbname(db);
        c.connect(postgres::NoTls).unwrap_or_else(|e| panic!("admin connection to the test server: {e}"))
    }

    /// A new empty database for one test; returns its name.
    pub fn database(&self) -> String {
        let name = format!("t{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
        self.admin("postgres").batch_execute(&format!("CREATE DATABASE {name}")).expect("create database");
        name
    }

    /// The superuser's URL for `db`, over the socket.
    pub fn admin_url(&self, db: &str) -> String {
        let sock = self.sock.display().to_string().replace('/', "%2F");
        format!("postgres://gate_admin@{sock}:{}/{db}", self.port)
    }

    /// A login role with a password, member of `gate_pusher` (created by `gate push --init`).
    pub fn login_role(&self, db: &str, name: &str, password: &str, member_of: &str) {
        let mut admin = self.admin(db);
        admin
            .batch_execute(&format!(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN
                     CREATE ROLE {name} LOGIN PASSWORD '{password}'; END IF; END $$;
                 GRANT {member_of} TO {name}; GRANT CONNECT ON DATABASE {db} TO {name};"
            ))
            .expect("create a login role");
    }

    /// `psql`-free SQL as a given role over TCP with a password.
    pub fn as_role(&self, db: &str, user: &str, password: &str) -> postgres::Client {
        let mut c = postgres::Config::new();
        c.host("127.0.0.1").port(self.port).user(user).password(password).dbname(db);
        c.connect(postgres::NoTls).unwrap_or_else(|e| panic!("connect as {user}: {e}"))
    }
}
