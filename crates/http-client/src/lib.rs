//! The outbound HTTP/1.1 client of the gateway: `http://` and `https://`.
//!
//! Three crates call out over HTTP: `frontdesk-webhook` (event webhooks and the flow's `webhook`
//! node), `frontdesk-llm` (OpenAI-compatible chat completions) and `frontdesk-asr-openai`
//! (OpenAI-compatible transcriptions). Their receivers are almost always `https://`, so they
//! share one TLS set-up, built here:
//! - rustls with the `ring` crypto provider (no C toolchain beyond a C compiler; no cmake or
//!   nasm as aws-lc would need), TLS 1.2 and 1.3, HTTP/1.1 only;
//! - trust anchors: the Mozilla roots compiled in from `webpki-roots` (no dependency on the host's
//!   certificate store, so a container without `ca-certificates` still works), plus the CA
//!   certificates in the PEM file named by [`CA_FILE_ENV`] (`FRONTDESK_CA_FILE`), for private CAs;
//! - [`client`]: a pooled hyper-util client over hyper-rustls's `HttpsConnector` that speaks plain
//!   HTTP to `http://` URLs and TLS to `https://` ones;
//! - [`connect_tls`]: the same TLS over a `TcpStream` the caller connected itself (the ASR provider
//!   makes one connection per request with hyper's low-level handshake).
//!
//! A bad extra CA file (missing, unreadable, not PEM, no certificate, not a usable CA) is a
//! [`TlsError`] naming the file and where it came from, when the configuration is built, never a
//! panic and never silently ignored. [`describe`] turns a failed request's error into one line, and
//! says plainly when the server's certificate was not trusted (and how to fix that).
//!
//! Why a crate of its own: the webhook crate depends on the store (SQLite); putting the TLS set-up
//! there would pull the store into the LLM and ASR crates. This crate depends on nothing of ours,
//! so any crate can use it without a cycle.
//!
//! With the `test-util` feature, [`test_util::TestCa`] makes a throwaway CA and a TLS acceptor for
//! `localhost` / `127.0.0.1`, so the users' tests run a real TLS server.

use std::error::Error as StdError;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

pub use rustls::ClientConfig as TlsConfig;

#[cfg(feature = "test-util")]
pub mod test_util;

/// The environment variable naming a PEM file of extra CA certificates, trusted beside the
/// built-in Mozilla roots.
pub const CA_FILE_ENV: &str = "FRONTDESK_CA_FILE";

/// The connector: plain TCP for `http://`, TLS for `https://`.
pub type Connector = HttpsConnector<HttpConnector>;

/// A pooled HTTP/1.1 client with a whole-buffer body.
pub type Client = hyper_util::client::legacy::Client<Connector, Full<Bytes>>;

/// Where extra trust anchors come from, beside the built-in Mozilla roots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ExtraCa {
    /// The PEM file named by [`CA_FILE_ENV`] when it is set and not empty; none otherwise. What
    /// production code uses.
    #[default]
    FromEnv,
    /// None: the built-in roots only.
    None,
    /// This PEM file (whatever the environment says).
    File(PathBuf),
}

impl ExtraCa {
    /// The file to read and what named it (for errors), if any.
    fn resolve(&self) -> Option<(&'static str, PathBuf)> {
        match self {
            ExtraCa::FromEnv => std::env::var_os(CA_FILE_ENV)
                .filter(|v| !v.is_empty())
                .map(|v| (CA_FILE_ENV, PathBuf::from(v))),
            ExtraCa::None => None,
            ExtraCa::File(p) => Some(("the extra CA file option", p.clone())),
        }
    }
}

/// Why the TLS configuration cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The extra CA file cannot be used.
    #[error(
        "{origin} names {path:?}, which {why}; it must be a readable PEM file of one or more CA \
         certificates (-----BEGIN CERTIFICATE-----), or unset {CA_FILE_ENV} to trust the built-in \
         roots only"
    )]
    CaFile {
        /// What named the file: `FRONTDESK_CA_FILE` or the explicit option.
        origin: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
}

/// The client TLS configuration: the Mozilla roots, plus the certificates of `extra`, rustls with
/// `ring`.
///
/// # Errors
/// [`TlsError::CaFile`] when the extra CA file cannot be read, is not PEM, holds no certificate,
/// or holds one that is not a usable CA certificate.
pub fn tls_config(extra: &ExtraCa) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = builtin_roots();
    if let Some((origin, path)) = extra.resolve() {
        add_pem(&mut roots, &path).map_err(|why| TlsError::CaFile { origin, path, why })?;
    }
    Ok(with_roots(roots))
}

/// The client TLS configuration with the built-in Mozilla roots only (cannot fail).
pub fn builtin_tls_config() -> Arc<ClientConfig> {
    with_roots(builtin_roots())
}

fn builtin_roots() -> RootCertStore {
    RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }
}

fn with_roots(roots: RootCertStore) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    #[allow(clippy::expect_used, reason = "ring's default provider has suites for TLS 1.2 and 1.3")]
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring's default provider supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // No ALPN: HTTP/1.1 is the only protocol spoken (hyper-rustls sets ALPN itself, and only
    // when HTTP/2 is enabled).
    Arc::new(cfg)
}

/// A PEM parse error in words: the parser's own message prints the offending line as a list of
/// byte values.
fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::IllegalSectionStart { line } => {
            format!("illegal section start {:?}", String::from_utf8_lossy(line))
        }
        Error::MissingSectionEnd { end_marker } => {
            format!("missing {:?}", String::from_utf8_lossy(end_marker))
        }
        other => other.to_string(),
    }
}

/// Adds every certificate of the PEM file at `path` to `roots`; the error says what is wrong.
fn add_pem(roots: &mut RootCertStore, path: &Path) -> Result<(), String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot be read ({e})"))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("is not valid PEM ({})", pem_error(&e)))?;
    if certs.is_empty() {
        return Err("holds no CERTIFICATE block".into());
    }
    for (i, cert) in certs.into_iter().enumerate() {
        roots
            .add(cert)
            .map_err(|e| format!("has a certificate (number {}) that is not usable: {e}", i + 1))?;
    }
    Ok(())
}

/// A pooled HTTP/1.1 client over `tls`: plain HTTP to `http://` URLs, TLS to `https://` ones.
pub fn client(tls: &Arc<ClientConfig>) -> Client {
    let conn = HttpsConnectorBuilder::new()
        .with_tls_config(ClientConfig::clone(tls))
        .https_or_http()
        .enable_http1()
        .build();
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(conn)
}

/// TLS over a connected `tcp`, checking the certificate against `tls`'s roots for `host` (a DNS
/// name or an IP address, without brackets).
///
/// # Errors
/// The handshake's I/O error (an untrusted certificate is an `InvalidData` error holding the
/// rustls error: [`describe`] names it), or `InvalidInput` for a host that is not a server name.
pub async fn connect_tls(
    tls: &Arc<ClientConfig>,
    host: &str,
    tcp: TcpStream,
) -> io::Result<TlsStream<TcpStream>> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host:?}: {e}")))?;
    tokio_rustls::TlsConnector::from(Arc::clone(tls)).connect(name, tcp).await
}

/// `e` and its sources on one line, joined by `: `. When the cause is a certificate the client
/// does not accept, that is said first, with the fix.
pub fn describe(e: &(dyn StdError + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let text = c.to_string();
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        src = c.source();
    }
    match find_rustls(e) {
        Some(rustls::Error::InvalidCertificate(why)) => format!(
            "the server's TLS certificate is not trusted ({why:?}): it must be valid for the URL's \
             host and issued by a CA among the built-in Mozilla roots or in {CA_FILE_ENV} ({s})"
        ),
        Some(r) => format!("TLS failed: {r} ({s})"),
        None => s,
    }
}

/// Whether `e` failed because the server's certificate was not accepted (not trusted, expired,
/// for another name...): a configuration problem that a retry does not fix.
pub fn is_untrusted_certificate(e: &(dyn StdError + 'static)) -> bool {
    matches!(find_rustls(e), Some(rustls::Error::InvalidCertificate(_)))
}

/// The rustls error in `e`'s chain, looking inside I/O errors too (which hide their payload from
/// `source()`).
fn find_rustls<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    if let Some(r) = e.downcast_ref::<rustls::Error>() {
        return Some(r);
    }
    if let Some(inner) = e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
        let inner: &(dyn StdError + 'static) = inner;
        if let Some(r) = find_rustls(inner) {
            return Some(r);
        }
    }
    e.source().and_then(find_rustls)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn err(extra: &ExtraCa) -> String {
        tls_config(extra).unwrap_err().to_string()
    }

    #[test]
    fn built_in_roots_only() {
        let cfg = tls_config(&ExtraCa::None).unwrap();
        assert!(cfg.alpn_protocols.is_empty(), "hyper-rustls requires no ALPN");
        let _ = client(&cfg);
    }

    #[test]
    fn a_bad_extra_ca_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = err(&ExtraCa::File(missing.clone()));
        assert!(e.contains("missing.pem") && e.contains("cannot be read"), "{e}");
        assert!(e.contains(CA_FILE_ENV), "names the variable: {e}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let e = err(&ExtraCa::File(empty));
        assert!(e.contains("empty.pem") && e.contains("no CERTIFICATE"), "{e}");

        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n")
            .unwrap();
        let e = err(&ExtraCa::File(junk));
        assert!(e.contains("junk.pem") && e.contains("not valid PEM"), "{e}");

        let torn = dir.path().join("torn.pem");
        std::fs::write(&torn, "-----BEGIN CERTIFICATE-----garbage").unwrap();
        let e = err(&ExtraCa::File(torn));
        assert!(e.contains("torn.pem") && e.contains("not valid PEM") && !e.contains(", 45"), "{e}");

        let not_a_cert = dir.path().join("not-a-cert.pem");
        std::fs::write(&not_a_cert, "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n")
            .unwrap();
        let e = err(&ExtraCa::File(not_a_cert));
        assert!(e.contains("not-a-cert.pem") && e.contains("not usable"), "{e}");
    }

    #[test]
    fn describe_joins_the_chain() {
        let inner = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(describe(&inner), "refused");
        let untrusted = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let wrapped = io::Error::other(untrusted);
        let d = describe(&wrapped);
        assert!(d.starts_with("the server's TLS certificate is not trusted (UnknownIssuer)"), "{d}");
        assert!(d.contains(CA_FILE_ENV), "{d}");
        assert!(is_untrusted_certificate(&wrapped));
        assert!(!is_untrusted_certificate(&inner));
    }
}
