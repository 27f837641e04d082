//! Probes and metrics: `/health` is liveness (answers while the process runs); `/ready` answers
//! 503 until the store answered and abandoned tasks' adoption has started, and again while
//! shutting down, so a load balancer sends nothing to a replica that cannot take it; `/metrics`
//! is [`crate::core::metrics`] in the Prometheus text format, with the queue and this replica's
//! running tasks read at scrape time — behind authentication like every endpoint, or alone on
//! `--metrics-listen` (an address only the scraper reaches).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tracing::{error, info};

use super::App;

/// Marks the replica ready once the store answers (adoption starts before the worker's loop).
pub(super) async fn become_ready(app: Arc<App>) {
    loop {
        match app.store.queued().await {
            Ok(_) => break,
            Err(e) => error!("not ready: the store does not answer: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if !crate::engine::interrupt::draining() {
        app.ready.store(true, Ordering::SeqCst);
        info!("ready");
    }
}

pub(super) async fn ready(State(app): State<Arc<App>>) -> Response {
    match app.ready.load(Ordering::SeqCst) {
        true => (StatusCode::OK, axum::Json(serde_json::json!({"status": "READY"}))).into_response(),
        false => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({"status": "NOT_READY"}))).into_response(),
    }
}

pub(super) async fn metrics(State(app): State<Arc<App>>) -> Response {
    let running = crate::core::sync::lock(&app.running).len() as i64;
    let queued = app.store.queued().await.unwrap_or(-1);
    crate::core::metrics::tasks(queued, running);
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], crate::core::metrics::render()).into_response()
}

/// `/metrics` alone on its own address, without authentication.
pub(super) async fn metrics_listener(app: Arc<App>, address: std::net::SocketAddr) {
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(l) => l,
        Err(e) => return error!("--metrics-listen {address}: {e}"),
    };
    info!("metrics on http://{address}/metrics");
    let router = axum::Router::new().route("/metrics", axum::routing::get(metrics)).with_state(app);
    // Each answer in one write, without waiting for the client's delayed ACK.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Err(e) = axum::serve(listener, router).await {
        error!("--metrics-listen {address}: {e}");
    }
}
