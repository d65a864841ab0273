//! Connecting to the team store: a blocking PostgreSQL client over TCP or a
//! Unix socket, with TLS as libpq's `sslmode` says. `prefer` and `require`
//! encrypt without checking the server's certificate (unless `sslrootcert`
//! names CAs, when `require` checks the chain as `verify-ca` does);
//! `verify-ca` checks the chain; `verify-full` checks the chain and that
//! the certificate names the host. `allow` is taken as `prefer`.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::url::{SslMode, TeamUrl};
use super::TeamError;

/// Open a connection to the team store.
pub fn connect(url: &TeamUrl) -> Result<postgres::Client, TeamError> {
    let mut config = postgres::Config::new();
    config
        .host(&url.host)
        .port(url.port)
        .connect_timeout(Duration::from_secs(url.connect_timeout_s.max(1)))
        .application_name(url.application_name.as_deref().unwrap_or("gate"));
    if let Some(u) = &url.user {
        config.user(u);
    }
    if let Some(d) = &url.dbname {
        config.dbname(d);
    }
    if let Some(p) = password(url)? {
        config.password(p);
    }
    let fail = |source: postgres::Error| TeamError::Connect { url: url.to_string(), source };
    let socket = url.host.starts_with('/');
    if socket && matches!(url.sslmode, SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull) {
        return Err(TeamError::Config(format!(
            "sslmode={} cannot be met over the Unix socket {}: PostgreSQL does not use TLS there; \
             connect over TCP, or use sslmode=prefer",
            url.sslmode.as_str(),
            url.host
        )));
    }
    if socket || url.sslmode == SslMode::Disable {
        config.ssl_mode(postgres::config::SslMode::Disable);
        return config.connect(postgres::NoTls).map_err(fail);
    }
    config.ssl_mode(match url.sslmode {
        SslMode::Allow | SslMode::Prefer => postgres::config::SslMode::Prefer,
        _ => postgres::config::SslMode::Require,
    });
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(url)?);
    config.connect(tls).map_err(fail)
}

/// The password: the URL's or `PGPASSWORD` (already in `url`), else the
/// passfile's line for this connection. A passfile that others can read
/// is ignored, as libpq ignores it.
fn password(url: &TeamUrl) -> Result<Option<String>, TeamError> {
    if url.password.is_some() {
        return Ok(url.password.clone());
    }
    let Some(file) = &url.passfile else { return Ok(None) };
    let path = std::path::Path::new(file);
    let Ok(meta) = std::fs::metadata(path) else { return Ok(None) };
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o077 != 0 {
        eprintln!(
            "gate: warning: password file {} has group or world access; it is ignored (chmod 0600 it)",
            path.display()
        );
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| TeamError::Config(format!("cannot read the password file {}: {e}", path.display())))?;
    Ok(url.password_from_passfile(&text))
}

/// ring's provider (the one this build carries): its classical key
/// exchanges are what PostgreSQL servers offer today.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_config(url: &TeamUrl) -> Result<rustls::ClientConfig, TeamError> {
    let roots = roots(url)?;
    let verifier: Arc<dyn ServerCertVerifier> = match (url.sslmode, roots) {
        (SslMode::VerifyFull, Some(roots)) => chain_verifier(roots)?,
        // With CAs at hand, libpq checks the chain in these modes too.
        (SslMode::VerifyCa | SslMode::Require | SslMode::Prefer | SslMode::Allow, Some(roots)) => {
            Arc::new(AnyName { chain: Some(chain_verifier(roots)?), provider: provider() })
        }
        (SslMode::VerifyFull | SslMode::VerifyCa, None) => {
            return Err(TeamError::Config(format!(
                "sslmode={} needs the CA that signed the server's certificate: add sslrootcert=<file.pem> \
                 to the URL (or sslrootcert=system for the system's CAs)",
                url.sslmode.as_str()
            )))
        }
        _ => Arc::new(AnyName { chain: None, provider: provider() }),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TeamError::Config(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

fn chain_verifier(roots: RootCertStore) -> Result<Arc<WebPkiServerVerifier>, TeamError> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| TeamError::Config(format!("TLS: {e}")))
}

/// The CAs `sslrootcert` names: a PEM file, `system`, or libpq's default
/// `~/.postgresql/root.crt` when it exists.
fn roots(url: &TeamUrl) -> Result<Option<RootCertStore>, TeamError> {
    use rustls::pki_types::pem::PemObject;
    let mut store = RootCertStore::empty();
    let file = match url.sslrootcert.as_deref() {
        Some("system") => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err(TeamError::Config("sslrootcert=system: no CA certificates found on this system".into()));
            }
            return Ok(Some(store));
        }
        Some(f) => std::path::PathBuf::from(f),
        None => match std::env::var_os("HOME") {
            Some(h) if std::path::Path::new(&h).join(".postgresql/root.crt").is_file() => {
                std::path::Path::new(&h).join(".postgresql/root.crt")
            }
            _ => return Ok(None),
        },
    };
    let certs = CertificateDer::pem_file_iter(&file)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TeamError::Config(format!("sslrootcert {}: {e}", file.display())))?;
    for cert in certs {
        store
            .add(cert)
            .map_err(|e| TeamError::Config(format!("sslrootcert {}: {e}", file.display())))?;
    }
    if store.is_empty() {
        return Err(TeamError::Config(format!("sslrootcert {}: no certificate in it", file.display())));
    }
    Ok(Some(store))
}

/// `verify-ca` (a chain to check), and `prefer` or `require` without CAs
/// (none: encrypted, the server not checked, as libpq does; the README says
/// to use `verify-full`). The name is never checked here; the handshake's
/// signatures always are.
#[derive(Debug)]
struct AnyName {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
