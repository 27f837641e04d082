//! TLS to the PostgreSQL task store, on the rustls (aws-lc) stack the binary already has, with
//! libpq's `sslmode` in the URL: `disable` (plaintext), `prefer` (the default: TLS when the
//! server offers it, unverified, as libpq does), `require` (TLS or nothing; the chain verified
//! when `sslrootcert` is given, as libpq does), `verify-ca` (the chain against `sslrootcert`)
//! and `verify-full` (the chain and the host name). `sslrootcert=FILE` (PEM) or
//! `sslrootcert=system` (the platform's roots). Everything stored — descriptions, environment
//! values, embedded artifacts — crosses the network encrypted once a mode other than `disable`
//! meets a server with TLS.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// A store URL with its TLS settings taken out (tokio-postgres knows only three modes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL tokio-postgres connects with (`sslmode` disable, prefer or require).
    pub url: String,
    pub mode: SslMode,
    /// `sslrootcert`: a PEM file, or `system`.
    pub root_cert: Option<String>,
}

/// Reads `sslmode` and `sslrootcert` from a `postgres://` URL's query.
pub fn target(url: &str) -> Result<Target, String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let (mut mode, mut root_cert, mut kept) = (SslMode::Prefer, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned();
        match key {
            "sslmode" => mode = ssl_mode(&value)?,
            "sslrootcert" => root_cert = Some(value),
            _ => kept.push(pair.to_string()),
        }
    }
    let wire = match mode {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        _ => "require",
    };
    kept.push(format!("sslmode={wire}"));
    if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) && root_cert.is_none() {
        return Err(format!(
            "--postgres-url: sslmode={} needs sslrootcert=FILE (the CA's PEM) or sslrootcert=system",
            if mode == SslMode::VerifyCa { "verify-ca" } else { "verify-full" }
        ));
    }
    Ok(Target { url: format!("{base}?{}", kept.join("&")), mode, root_cert })
}

fn ssl_mode(value: &str) -> Result<SslMode, String> {
    match value {
        "disable" => Ok(SslMode::Disable),
        "allow" | "prefer" => Ok(SslMode::Prefer),
        "require" => Ok(SslMode::Require),
        "verify-ca" => Ok(SslMode::VerifyCa),
        "verify-full" => Ok(SslMode::VerifyFull),
        other => Err(format!("--postgres-url: sslmode `{other}` is not one of disable, prefer, require, verify-ca, verify-full")),
    }
}

/// The rustls client configuration for `target`.
pub fn client_config(target: &Target) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder();
    let roots = match &target.root_cert {
        Some(source) => Some(Arc::new(roots(source)?)),
        None => None,
    };
    let config = match (target.mode, roots) {
        (SslMode::VerifyFull, Some(roots)) => builder.with_root_certificates(roots),
        (_, Some(roots)) => {
            let inner = rustls::client::WebPkiServerVerifier::builder(roots).build().map_err(|e| format!("sslrootcert: {e}"))?;
            builder.dangerous().with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
        }
        (_, None) => builder.dangerous().with_custom_certificate_verifier(Arc::new(Unverified(provider_schemes()))),
    };
    Ok(config.with_no_client_auth())
}

fn roots(source: &str) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    let certificates: Vec<CertificateDer<'static>> = if source == "system" {
        rustls_native_certs::load_native_certs().certs
    } else {
        CertificateDer::pem_file_iter(source)
            .map_err(|e| format!("sslrootcert {source}: {e}"))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("sslrootcert {source}: {e}"))?
    };
    for certificate in certificates {
        roots.add(certificate).map_err(|e| format!("sslrootcert {source}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {source}: no certificate"));
    }
    Ok(roots)
}

fn provider_schemes() -> Vec<SignatureScheme> {
    rustls::crypto::CryptoProvider::get_default()
        .map(|p| p.signature_verification_algorithms.supported_schemes())
        .unwrap_or_else(|| rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms.supported_schemes())
}

fn verify_signature12(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let algorithms = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
    rustls::crypto::verify_tls12_signature(message, cert, dss, &algorithms)
}

fn verify_signature13(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let algorithms = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
    rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms)
}

/// `prefer` and `require` without a root certificate: encrypted, not authenticated (libpq's
/// meaning of those modes).
#[derive(Debug)]
struct Unverified(Vec<SignatureScheme>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_signature12(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_signature13(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.clone()
    }
}

/// `verify-ca` (and `require` with a root certificate): the chain must lead to the CA; the
/// host name is not compared.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// tokio-postgres's TLS hook over tokio-rustls.
#[derive(Clone)]
pub struct Connector(Arc<rustls::ClientConfig>);

impl Connector {
    pub fn new(config: rustls::ClientConfig) -> Connector {
        Connector(Arc::new(config))
    }
}

impl MakeTlsConnect<tokio_postgres::Socket> for Connector {
    type Stream = Stream;
    type TlsConnect = OneConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<OneConnect> {
        let name = ServerName::try_from(domain.to_string()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(OneConnect { config: self.0.clone(), name })
    }
}

pub struct OneConnect {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl TlsConnect<tokio_postgres::Socket> for OneConnect {
    type Stream = Stream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream>> + Send>>;

    fn connect(self, socket: tokio_postgres::Socket) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move { connector.connect(self.name, socket).await.map(|s| Stream(Box::new(s))) })
    }
}

/// An encrypted connection to PostgreSQL.
pub struct Stream(Box<tokio_rustls::client::TlsStream<tokio_postgres::Socket>>);

impl tokio_postgres::tls::TlsStream for Stream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for Stream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_the_url() {
        let t = target("postgres://u@db:5432/tasks?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem").unwrap();
        assert_eq!((t.mode, t.root_cert.as_deref()), (SslMode::VerifyFull, Some("/etc/ca.pem")));
        assert_eq!(t.url, "postgres://u@db:5432/tasks?application_name=x&sslmode=require");
        assert_eq!(target("postgres://u@db/t").unwrap().mode, SslMode::Prefer, "libpq's default");
        assert_eq!(target("postgres://u@db/t?sslmode=disable").unwrap().url, "postgres://u@db/t?sslmode=disable");
        assert!(target("postgres://u@db/t?sslmode=verify-ca").unwrap_err().contains("sslrootcert"));
        assert!(target("postgres://u@db/t?sslmode=sometimes").unwrap_err().contains("not one of"));
    }
}
