//! The accept loop: optional TLS (rustls, client certificates), HTTP/1.1 and HTTP/2 on one
//! listener (ALPN with TLS, prior knowledge without), graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::auth::{subject_common_name, PeerIdentity};
use crate::config::TlsConfig;
use crate::error::GatewayError;

/// Time allowed for a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time open connections get to finish after shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A TLS acceptor for `cfg`.
pub fn tls_acceptor(cfg: &TlsConfig) -> Result<TlsAcceptor, GatewayError> {
    let tls = |m: String| GatewayError::Tls(m);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cfg.cert)
        .map_err(|e| tls(format!("{}: {e}", cfg.cert.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls(format!("{}: {e}", cfg.cert.display())))?;
    if certs.is_empty() {
        return Err(tls(format!("{}: no certificate", cfg.cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(&cfg.key).map_err(|e| tls(format!("{}: {e}", cfg.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(e.to_string()))?;
    let builder = match &cfg.client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca).map_err(|e| tls(format!("{}: {e}", ca.display())))? {
                let c = c.map_err(|e| tls(format!("{}: {e}", ca.display())))?;
                roots.add(c).map_err(|e| tls(format!("{}: {e}", ca.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if cfg.require_client_cert { verifier } else { verifier.allow_unauthenticated() };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| tls(e.to_string()))?)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` on `listener` until `shutdown`.
pub async fn run(listener: TcpListener, router: Router, tls: Option<TlsAcceptor>, shutdown: CancellationToken) {
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, peer_addr) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::info!(%peer_addr, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::info!(%peer_addr, "TLS handshake timed out");
                            return;
                        }
                    };
                    let peer = PeerIdentity {
                        certificate_cn: stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .and_then(|c| subject_common_name(c.as_ref())),
                    };
                    serve_connection(TokioIo::new(stream), router, peer, watcher).await;
                }
                None => serve_connection(TokioIo::new(tcp), router, PeerIdentity::default(), watcher).await,
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::info!("connections still open after the drain timeout"),
    }
}

async fn serve_connection<I>(
    io: TokioIo<I>,
    router: Router,
    peer: PeerIdentity,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(peer.clone());
        router.clone().oneshot(req)
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(io, service);
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
