//! `ecs-deployer serve`: Clouddriver's operations and task API over HTTP, so a pipeline that
//! posts `[{"createServerGroup": {...}}]` to `/ecs/ops` and polls `/task/{id}` (Orca's
//! `createServerGroup` → `monitorDeploy`) can drive ecs-deployer unchanged. Every request passes
//! the [`guard`] (Host, Origin, Content-Type), then authentication ([`principals`]); a post is
//! parsed and validated off the async runtime (HTTP 400 with the CLI's error codes, nothing
//! stored), then authorized — WRITE on every account it touches, else 403 — and becomes a queued
//! task in the [`store`], which a worker of some replica claims and runs with the same engine as
//! the `ops` command ([`crate::engine::operations::list`]), saving the task's history as it goes. A task is shown to
//! its owner, to principals that may read all its accounts, and to admins. State changes and
//! denials go to the [`audit`] log.

mod access;
mod adoption;
mod artifacts;
pub mod audit;
mod console;
mod handover;
mod http;
pub mod listener;
mod ops;
mod pg_tls;
pub mod principals;
mod probes;
mod read;
mod shared_sessions;
pub mod store;
mod tasks;
mod views;
mod worker;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::{Notify, Semaphore};
use tracing::{error, info};

use crate::core::config::Config;
use crate::core::error::{Error, Result};
use access::{Audited, denied, may_see, may_use_artifact, readable_accounts, visible_to};
use audit::Audit;
use http::{Peer, problem};
use listener::{Limits, Tls};
use principals::{Current, Principals};
use store::Store;

pub use ops::sha256_hex;

/// How `serve` runs.
pub struct ServeOptions {
    pub listen: std::net::SocketAddr,
    pub store: Store,
    pub principals: Principals,
    pub max_body_bytes: usize,
    pub max_running: usize,
    pub max_running_per_principal: i64,
    pub max_queued_per_principal: i64,
    pub lease: Duration,
    /// How often a replica looks for tasks posted to another replica and for abandoned ones.
    pub poll: Duration,
    /// The exclusive lock on the SQLite store file, held while serving.
    pub store_lock: Option<std::fs::File>,
    pub limits: Limits,
    pub tls: Option<Tls>,
    /// Host names accepted in `Host` and `Origin` besides loopback and the listen address.
    pub allowed_hosts: Vec<String>,
    pub audit: Audit,
    pub task_retention: Duration,
    /// How long a finished read of the read API is reused.
    pub read_ttl: Duration,
    /// The URLs browsers reach `serve` at through a load balancer (`--external-url`).
    pub external_urls: Vec<String>,
    /// `--metrics-listen`: `/metrics` alone, without authentication, on its own address.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// `--shutdown-grace`: how long a SIGTERM lets running tasks finish before stopping them.
    pub shutdown_grace: Duration,
}

struct App {
    config: Arc<Config>,
    store: Store,
    principals: Current,
    replica: String,
    wake: Notify,
    lease: Duration,
    /// SQLite: this process holds the store file's lock, so no other replica runs its tasks.
    store_is_exclusive: bool,
    /// Host names (lowercased, without port) requests may be addressed to.
    hosts: std::collections::BTreeSet<String>,
    audit: Audit,
    task_retention: Duration,
    max_body_bytes: usize,
    reader: Arc<crate::engine::read::Reader>,
    /// The console's signed-in browsers.
    console: console::Sessions,
    /// Served over TLS.
    tls: bool,
    /// The console's cookie is `Secure`: over TLS, off loopback (a TLS load balancer in front),
    /// or as `--external-url`'s scheme says.
    secure_cookie: bool,
    /// Origins a state change may come from besides this `serve`'s own (`--external-url`).
    external_origins: Vec<String>,
    /// `serve` listens on loopback only.
    loopback: bool,
    max_running_per_principal: i64,
    max_queued_per_principal: i64,
    /// The tasks this replica runs, with how each is canceled.
    running: std::sync::Mutex<std::collections::HashMap<String, Arc<worker::Canceled>>>,
    /// Ready for traffic (`/ready`): the store answered and adoption started; false again while
    /// shutting down.
    ready: std::sync::atomic::AtomicBool,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// Runs the HTTP API and the task worker until SIGTERM / Ctrl-C; then stops taking tasks,
/// lets the running ones stop at their next step (undoing what they created, as on any
/// failure), saves them and exits. SIGHUP reads the principals file and the certificate again.
pub async fn serve(config: Config, options: ServeOptions) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| Error::Failed { message: format!("cannot listen on {}: {e}", options.listen), report: Vec::new() })?;
    let address = listener.local_addr().map_err(|e| Error::Failed { message: e.to_string(), report: Vec::new() })?;
    let replica = format!("{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let store_is_exclusive = options.store_lock.is_some();
    let _store_lock = options.store_lock;
    let config = Arc::new(config);
    crate::engine::interrupt::set_grace(options.shutdown_grace);
    crate::engine::interrupt::enable_handover();
    // The console's CSRF key comes from the store: every replica makes the same tokens.
    let console_key = options.store.console_key().await.map_err(|e| Error::Failed { message: e.to_string(), report: Vec::new() })?;
    let app = Arc::new(App {
        reader: crate::engine::read::Reader::new(config.clone(), options.read_ttl),
        config,
        store: options.store,
        principals: Current::new(options.principals),
        replica,
        wake: Notify::new(),
        lease: options.lease,
        store_is_exclusive,
        hosts: http::allowed_hosts(options.listen, &options.allowed_hosts, &options.external_urls),
        audit: options.audit,
        task_retention: options.task_retention,
        max_body_bytes: options.max_body_bytes,
        console: console::Sessions::with_key(&console_key),
        tls: options.tls.is_some(),
        secure_cookie: http::secure_cookie(options.tls.is_some(), options.listen, &options.external_urls),
        external_origins: options.external_urls.iter().filter_map(|u| http::origin(u)).collect(),
        loopback: options.listen.ip().is_loopback(),
        max_running_per_principal: options.max_running_per_principal,
        max_queued_per_principal: options.max_queued_per_principal,
        running: Default::default(),
        ready: Default::default(),
    });
    let router = router(app.clone(), options.max_body_bytes, options.limits.request_timeout);
    // A download must fit in a post's time: three tries with their backoff within the request timeout.
    crate::engine::artifacts::set_limits(crate::engine::artifacts::FetchLimits {
        max_bytes: options.max_body_bytes as u64,
        timeout: (options.limits.request_timeout / 4).min(crate::core::settings::get().artifact_timeout),
        attempts: 3,
    });
    let tls = options.tls.map(Arc::new);
    tokio::spawn(reload_on_hangup(app.clone(), tls.clone()));
    let scheme = if tls.is_some() { "https" } else { "http" };
    let plain = if tls.is_none() && !address.ip().is_loopback() { ", plaintext (--plaintext: TLS ends in front of serve)" } else { "" };
    let who = match app.principals.get() {
        p if p.is_open() => "no authentication (loopback)".to_string(),
        p => format!("{} principal(s)", p.len()),
    };
    info!("ecs-deployer serve listening on {scheme}://{address} (replica {}; {who}{plain})", app.replica);
    let slots = Arc::new(Semaphore::new(options.max_running));
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            if app.store_is_exclusive {
                // This process owns the store file: every task still running was cut short by the
                // last one's end. Undo their work in the background; they read as being undone.
                let app = app.clone();
                tokio::task::spawn_local(async move { adoption::adopt_abandoned(&app, i64::MAX).await });
            }
            let worker = tokio::task::spawn_local(worker::worker(app.clone(), slots.clone(), options.poll));
            tokio::task::spawn_local(probes::become_ready(app.clone()));
            tokio::task::spawn_local(views::listen(app.clone()));
            if let Some(address) = options.metrics_listen {
                tokio::task::spawn_local(probes::metrics_listener(app.clone(), address));
            }
            // On SIGTERM: not ready at once (`/ready` 503), still answering while the running
            // tasks stop at their next step and are saved; then the listener closes.
            let shutdown = async {
                while !crate::engine::interrupt::draining() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                app.ready.store(false, std::sync::atomic::Ordering::SeqCst);
                while !crate::core::sync::lock(&app.running).is_empty() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            };
            listener::run(listener, router, options.limits, tls, shutdown).await;
            worker.abort();
            // Every slot back and no task left (one that waits holds no slot): all ended and saved.
            let _ = slots.acquire_many(options.max_running as u32).await;
            while !crate::core::sync::lock(&app.running).is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(())
        })
        .await
}

/// SIGHUP: the principals file and the TLS certificate are read again and the audit file is
/// opened again (after logrotate); what fails to load leaves what is in use.
async fn reload_on_hangup(app: Arc<App>, tls: Option<Arc<Tls>>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangup) = signal(SignalKind::hangup()) else { return };
        while hangup.recv().await.is_some() {
            match app.audit.reopen() {
                Some(Ok(())) => info!("SIGHUP: audit file opened again"),
                Some(Err(e)) => error!("SIGHUP: the audit file did not open, lines go to the previous one: {e}"),
                None => {}
            }
            match app.principals.reload() {
                Some(Ok(count)) => info!("SIGHUP: {count} principal(s) loaded"),
                Some(Err(e)) => error!("SIGHUP: the principals file did not load, the previous principals stay: {e}"),
                None => {}
            }
            if let Some(tls) = &tls {
                match tls.reload() {
                    Ok(()) => info!("SIGHUP: TLS certificate loaded"),
                    Err(e) => error!("SIGHUP: the TLS certificate did not load, the previous one stays: {e}"),
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (app, tls);
}

fn router(app: Arc<App>, max_body_bytes: usize, request_timeout: Duration) -> Router {
    Router::new()
        .route("/ecs/ops", post(ops::post_ops))
        .route("/ecs/ops/{operation}", post(ops::post_op))
        .route("/task", get(tasks::list_tasks))
        .route("/task/{id}", get(tasks::get_task))
        .route("/task/{id}/cancel", axum::routing::put(tasks::cancel_task).post(tasks::cancel_task))
        .route("/features/stages", get(ops::features_stages))
        .route("/cache/{provider}/{kind}", post(ops::post_cache).get(|| async { axum::Json(json!([])) }))
        .merge(read::routes())
        .merge(artifacts::routes())
        .merge(console::routes())
        .route("/metrics", get(probes::metrics))
        .layer(middleware::from_fn_with_state(app.clone(), http::authenticate))
        .merge(console::open_routes())
        .layer(middleware::from_fn_with_state(app.clone(), http::guard))
        .route("/health", get(|| async { axum::Json(json!({"status": "UP"})) }))
        .route("/ready", get(probes::ready))
        .fallback(|| async {
            problem(
                StatusCode::NOT_FOUND,
                "no such endpoint: use POST /ecs/ops, POST /ecs/ops/{operation}, GET /task/{id}, GET /task, GET /features/stages, \
                 POST /cache/ecs/{type}, the read API (GET /applications/..., /serverGroups/..., /instances/...), \
                 PUT /artifacts/fetch, GET /artifacts/credentials or GET /health",
                Vec::new(),
            )
        })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn(move |request: Request, next: Next| http::within(request_timeout, request, next)))
        .with_state(app)
}
