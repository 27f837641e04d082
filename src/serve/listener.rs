//! The socket side of `serve`: accepts connections up to a cap (one more gets a 503 in one
//! write and is closed), sets `TCP_NODELAY`, speaks TLS when given a certificate (rustls, the
//! stack the SDK already uses; reloaded on SIGHUP), and gives each connection to hyper with a
//! header-read timeout that also closes idle keep-alive connections. The request timeout (body
//! read and handler) is a layer of the router ([`super::router`]). Slow or idle clients are
//! closed in bounded time, before authentication.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::core::error::{Error, Result};

/// How long and how many: what bounds a client before and while it is served.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Until a request's headers have arrived, and how long a connection may sit idle.
    pub header_timeout: Duration,
    /// Reading the body and answering.
    pub request_timeout: Duration,
    pub max_connections: usize,
}

/// The certificate and key `serve` answers TLS with; read again on SIGHUP.
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    config: RwLock<Arc<rustls::ServerConfig>>,
}

impl Tls {
    /// Reads the PEM certificate chain and private key.
    pub fn load(cert: &Path, key: &Path) -> Result<Tls> {
        let config = server_config(cert, key)?;
        Ok(Tls { cert: cert.to_path_buf(), key: key.to_path_buf(), config: RwLock::new(Arc::new(config)) })
    }

    /// Reads the files again; on failure the certificate in use stays.
    pub fn reload(&self) -> Result<()> {
        let config = server_config(&self.cert, &self.key)?;
        *crate::core::sync::write(&self.config) = Arc::new(config);
        Ok(())
    }

    fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(crate::core::sync::read(&self.config).clone())
    }
}

fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig> {
    let fail = |what: &str, path: &Path, e: String| Error::Config(format!("{what} {}: {e}", path.display()));
    let read = |what: &str, path: &Path| crate::core::input::read_path(path, 1024 * 1024).map_err(|e| fail(what, path, e.to_string()));
    let (cert_pem, key_pem) = (read("--tls-cert", cert)?, read("--tls-key", key)?);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| fail("--tls-cert", cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("--tls-cert", cert, "holds no PEM certificate".into()));
    }
    let private =
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| fail("--tls-key", key, format!("no PEM private key: {e}")))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, private)
        .map_err(|e| fail("--tls-key", key, format!("does not go with the certificate: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets the open connections
/// finish their requests.
pub async fn run(listener: TcpListener, router: Router, limits: Limits, tls: Option<Arc<Tls>>, shutdown: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopped) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close.
                    warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            connections.spawn(refuse(stream, limits.max_connections));
            continue;
        };
        let (router, tls, stopped) = (router.clone(), tls.clone(), stopped.clone());
        connections.spawn(async move {
            connection(stream, peer, router, limits, tls, stopped).await;
            drop(slot);
        });
    }
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
}

/// The answer to a connection over the cap, in one write.
async fn refuse(mut stream: TcpStream, cap: usize) {
    let body = format!(
        "{{\"error\":\"Service Unavailable\",\"status\":503,\"message\":\"serve has {cap} connections open (--max-connections); try again\",\"errors\":[]}}"
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(answer.as_bytes())).await;
    let _ = stream.shutdown().await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    tls: Option<Arc<Tls>>,
    stopped: watch::Receiver<bool>,
) {
    match tls {
        None => http(TokioIo::new(stream), peer, router, limits, stopped).await,
        Some(tls) => match tokio::time::timeout(limits.header_timeout, tls.acceptor().accept(stream)).await {
            Ok(Ok(stream)) => http(TokioIo::new(stream), peer, router, limits, stopped).await,
            Ok(Err(e)) => debug!("TLS handshake with {peer}: {e}"),
            Err(_) => debug!("TLS handshake with {peer}: timed out"),
        },
    }
}

/// Resolves once the listener stops (or is gone).
async fn stopping(stopped: &mut watch::Receiver<bool>) {
    while !*stopped.borrow_and_update() {
        if stopped.changed().await.is_err() {
            return;
        }
    }
}

/// HTTP/1.1 on one connection, the peer's address given to the handlers.
async fn http<I>(io: TokioIo<I>, peer: SocketAddr, router: Router, limits: Limits, mut stopped: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request.map(axum::body::Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).max_buf_size(64 * 1024);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        served = conn.as_mut() => {
            if let Err(e) = served {
                debug!("connection from {peer}: {e}");
            }
        }
        _ = stopping(&mut stopped) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
