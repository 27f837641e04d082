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

mod artifacts;
pub mod audit;
mod console;
pub mod listener;
mod pg_tls;
pub mod principals;
mod read;
pub mod store;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, Semaphore};
use tracing::{error, info, warn};

use crate::core::access::{Authorization, Identity};
use crate::core::artifact::ArtifactAccount;
use crate::core::config::Config;
use crate::core::error::{Error, FieldError, Result};
use crate::engine::lifecycle::Quiet;
use crate::engine::operations::list::{self as ops, Task, TaskState};
use audit::{Audit, Event};
use listener::{Limits, Tls};
use principals::{Current, Principals};
use store::{Abandoned, Claimed, Inserted, Store};

/// How `serve` runs.
pub struct ServeOptions {
    pub listen: SocketAddr,
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
    hosts: BTreeSet<String>,
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
    running: std::sync::Mutex<std::collections::HashMap<String, Arc<Canceled>>>,
}

/// A running task's cancel: the flag its steps check, and who set it.
#[derive(Default)]
struct Canceled {
    flag: Arc<std::sync::atomic::AtomicBool>,
    by: std::sync::Mutex<Option<String>>,
}

impl Canceled {
    /// Cancels on behalf of `by`; false when it was canceled already.
    fn set(&self, by: &str) -> bool {
        let first = !self.flag.swap(true, std::sync::atomic::Ordering::SeqCst);
        if first {
            *self.by.lock().unwrap_or_else(|e| e.into_inner()) = Some(by.to_string());
        }
        first
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// The host names a request may name: loopback's, the listen address's, `--allowed-host`s and
/// the `--external-url`s' hosts.
fn allowed_hosts(listen: SocketAddr, extra: &[String], external_urls: &[String]) -> BTreeSet<String> {
    let mut hosts: BTreeSet<String> = ["localhost", "127.0.0.1", "::1"].iter().map(|h| h.to_string()).collect();
    if !listen.ip().is_unspecified() {
        hosts.insert(listen.ip().to_string());
    }
    hosts.extend(extra.iter().map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase()));
    let external = external_urls.iter().filter_map(|u| origin(u)).filter_map(|o| o.split_once("://").map(|(_, a)| host_name(a)));
    hosts.extend(external);
    hosts
}

/// Whether the console's cookie is `Secure`: `--external-url`'s scheme when given, else over TLS
/// or off loopback (the documented set-up: `--plaintext` behind a TLS load balancer).
fn secure_cookie(tls: bool, listen: SocketAddr, external_urls: &[String]) -> bool {
    match external_urls.first().and_then(|u| origin(u)) {
        Some(origin) => origin.starts_with("https://"),
        None => tls || !listen.ip().is_loopback(),
    }
}

/// A URL's origin as browsers send it (`scheme://host[:port]`, lowercased, the scheme's default
/// port left out); None when it is not an http(s) URL.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    let authority = authority.rsplit_once('@').map(|(_, h)| h.to_string()).unwrap_or(authority);
    if authority.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{}", authority.strip_suffix(default_port).unwrap_or(&authority)))
}

/// Whether a state change's `Origin` is this `serve`: the scheme it is served with and the
/// request's own `Host` (host and port, already checked), or `https` and the `Host` when it runs
/// `--plaintext` off loopback behind a TLS load balancer, or an `--external-url`.
fn same_origin(app: &App, origin_header: &str, host_header: &str) -> bool {
    let Some(given) = origin(origin_header) else { return false };
    if app.external_origins.contains(&given) {
        return true;
    }
    let own = if app.tls { "https" } else { "http" };
    let behind_tls = !app.tls && !app.loopback;
    [Some(own), behind_tls.then_some("https")]
        .into_iter()
        .flatten()
        .any(|scheme| origin(&format!("{scheme}://{host_header}")) == Some(given.clone()))
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
    let app = Arc::new(App {
        reader: crate::engine::read::Reader::new(config.clone(), options.read_ttl),
        config,
        store: options.store,
        principals: Current::new(options.principals),
        replica,
        wake: Notify::new(),
        lease: options.lease,
        store_is_exclusive,
        hosts: allowed_hosts(options.listen, &options.allowed_hosts, &options.external_urls),
        audit: options.audit,
        task_retention: options.task_retention,
        max_body_bytes: options.max_body_bytes,
        console: console::Sessions::default(),
        tls: options.tls.is_some(),
        secure_cookie: secure_cookie(options.tls.is_some(), options.listen, &options.external_urls),
        external_origins: options.external_urls.iter().filter_map(|u| origin(u)).collect(),
        loopback: options.listen.ip().is_loopback(),
        max_running_per_principal: options.max_running_per_principal,
        max_queued_per_principal: options.max_queued_per_principal,
        running: Default::default(),
    });
    let router = router(app.clone(), options.max_body_bytes, options.limits.request_timeout);
    // A download must fit in a post's time: three tries with their backoff within the request timeout.
    crate::engine::artifacts::set_limits(crate::aws::fetch::FetchLimits {
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
                tokio::task::spawn_local(async move { adopt_abandoned(&app, i64::MAX).await });
            }
            let worker = tokio::task::spawn_local(worker(app.clone(), slots.clone(), options.poll));
            let shutdown = async {
                while !crate::engine::interrupt::requested() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            };
            listener::run(listener, router, options.limits, tls, shutdown).await;
            worker.abort();
            // Every slot back and no task left (one that waits holds no slot): all ended and saved.
            let _ = slots.acquire_many(options.max_running as u32).await;
            while !app.running.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
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
        .route("/ecs/ops", post(post_ops))
        .route("/ecs/ops/{operation}", post(post_op))
        .route("/task", get(list_tasks))
        .route("/task/{id}", get(get_task))
        .route("/task/{id}/cancel", axum::routing::put(cancel_task).post(cancel_task))
        .route("/features/stages", get(features_stages))
        .route("/cache/{provider}/{kind}", post(post_cache).get(|| async { axum::Json(json!([])) }))
        .merge(read::routes())
        .merge(artifacts::routes())
        .merge(console::routes())
        .layer(middleware::from_fn_with_state(app.clone(), authenticate))
        .merge(console::open_routes())
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .route("/health", get(|| async { axum::Json(json!({"status": "UP"})) }))
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
        .layer(middleware::from_fn(move |request: Request, next: Next| within(request_timeout, request, next)))
        .with_state(app)
}

/// Reading the body and answering must end within the request timeout (408 otherwise).
async fn within(timeout: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = problem(StatusCode::REQUEST_TIMEOUT, "the request took longer than --request-timeout", Vec::new());
            response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
            response
        }
    }
}

/// An error response in Spring's shape (`error`, `status`, `message`), with field errors.
fn problem(status: StatusCode, message: &str, errors: Vec<FieldError>) -> Response {
    let body = json!({
        "error": status.canonical_reason().unwrap_or(""),
        "status": status.as_u16(),
        "message": message,
        "errors": crate::core::error::shown(&errors),
    });
    (status, axum::Json(body)).into_response()
}

/// What an audit event of `request` starts from.
fn event_of(method: &Method, path: &str, peer: Option<SocketAddr>) -> Event {
    Event {
        source: peer.map(|p| p.to_string()).unwrap_or_default(),
        method: method.to_string(),
        path: path.chars().take(512).collect(),
        ..Event::default()
    }
}

fn peer_of(request: &Request) -> Option<SocketAddr> {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

/// The host part of a `Host` header or an `Origin`'s authority, lowercased, without the port.
fn host_name(authority: &str) -> String {
    let authority = authority.trim().to_ascii_lowercase();
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default().to_string();
    }
    authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map(|(h, _)| h)
        .unwrap_or(&authority)
        .trim_end_matches('.')
        .to_string()
}

/// Why a request is refused before authentication, if it is: a `Host` that is not ours (DNS
/// rebinding), a state change from a foreign `Origin` (a web page's cross-site post), a body
/// that is not `application/json` (a CORS "simple request" needs no preflight).
fn refusal(app: &App, method: &Method, path: &str, headers: &HeaderMap) -> Option<(StatusCode, String)> {
    let host_header = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let host = host_name(host_header);
    if !app.hosts.contains(&host) {
        return Some((
            StatusCode::MISDIRECTED_REQUEST,
            "the Host header names a host this serve does not answer for; add it with --allowed-host NAME".into(),
        ));
    }
    let changes_state = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if let Some(origin) = headers.get(header::ORIGIN).filter(|_| changes_state)
        && !same_origin(app, origin.to_str().unwrap_or_default(), host_header)
    {
        return Some((StatusCode::FORBIDDEN, "a cross-origin request may not change anything (its Origin is not this serve)".into()));
    }
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if length.is_some_and(|n| n > app.max_body_bytes as u64) {
        return Some((StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than --max-body-bytes ({})", app.max_body_bytes)));
    }
    let has_body = headers.contains_key(header::TRANSFER_ENCODING) || length.is_some_and(|n| n > 0);
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    let console_form = console::is_console(path)
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if has_body && !json && !console_form {
        return Some((StatusCode::UNSUPPORTED_MEDIA_TYPE, "a request body must be sent as Content-Type: application/json".into()));
    }
    None
}

/// The client's address, for the audit log.
#[derive(Debug, Clone, Copy)]
struct Peer(Option<SocketAddr>);

async fn guard(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let Some((status, message)) = refusal(&app, request.method(), request.uri().path(), request.headers()) else {
        let peer = Peer(peer_of(&request));
        request.extensions_mut().insert(peer);
        return next.run(request).await;
    };
    let mut event = event_of(request.method(), request.uri().path(), peer_of(&request));
    event.outcome = "refused";
    event.status = status.as_u16();
    event.reason = Some(message.clone());
    app.audit.record(event);
    problem(status, &message, Vec::new())
}

/// Finds the principal of the bearer token and puts the request's [`Identity`] in its
/// extensions; 401 (audited) without one.
async fn authenticate(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    // The console's browsers carry a session cookie instead; its token is checked again each time.
    let from_session =
        if bearer.is_none() && console::is_console(request.uri().path()) { console::session_digest(&app, headers) } else { None };
    let principals = app.principals.get();
    let principal = match from_session {
        Some(digest) => principals.authenticate_digest(&digest),
        None => principals.authenticate(bearer),
    };
    let Some(principal) = principal else {
        if console::is_console(request.uri().path()) && request.method() == Method::GET {
            return console::to_sign_in();
        }
        let mut event = event_of(request.method(), request.uri().path(), peer_of(&request));
        event.outcome = "unauthenticated";
        event.status = 401;
        app.audit.record(event);
        let mut response = problem(StatusCode::UNAUTHORIZED, "a valid bearer token is required (Authorization: Bearer …)", Vec::new());
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return response;
    };
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let identity = Identity::new(principal, text("x-spinnaker-user").as_deref(), text("x-spinnaker-accounts").as_deref());
    request.extensions_mut().insert(identity);
    next.run(request).await
}

/// What a request is about, for the audit log and the permission check.
struct Audited {
    identity: Identity,
    event: Event,
}

impl Audited {
    fn new(identity: Identity, method: &Method, path: &str, peer: Option<SocketAddr>) -> Audited {
        let mut event = event_of(method, path, peer);
        event.principal = Some(identity.principal.name.clone());
        event.on_behalf_of = identity.user.clone();
        Audited { identity, event }
    }

    /// Audits the post's outcome and returns the response.
    fn answer(mut self, app: &App, outcome: &'static str, response: Response) -> Response {
        self.event.outcome = outcome;
        self.event.status = response.status().as_u16();
        app.audit.record(self.event);
        response
    }

    /// [`Audited::answer`] for a caller that keeps the record (its event is taken).
    fn clone_answer(&mut self, app: &App, outcome: &'static str, response: Response) -> Response {
        self.event.outcome = outcome;
        self.event.status = response.status().as_u16();
        app.audit.record(std::mem::take(&mut self.event));
        response
    }
}

async fn post_ops(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let post = Audited::new(identity, &Method::POST, "/ecs/ops", peer);
    submit(&app, post, None, body, query.as_deref()).await
}

async fn post_op(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    Path(operation): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let post = Audited::new(identity, &Method::POST, &format!("/ecs/ops/{operation}"), peer);
    submit(&app, post, Some(operation), body, query.as_deref()).await
}

/// Orca's `clientRequestId` query parameter (KatoRestService sends it on every operations post,
/// the same on each of its retries; no header carries it).
fn client_request_id(query: Option<&str>) -> std::result::Result<Option<String>, FieldError> {
    let Some(query) = query else { return Ok(None) };
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "clientRequestId" {
            continue;
        }
        let value = percent_encoding::percent_decode_str(&value.replace('+', " ")).decode_utf8_lossy().into_owned();
        if value.is_empty() {
            return Ok(None);
        }
        if value.len() > 256 || value.chars().any(char::is_control) {
            return Err(FieldError::new(
                "clientRequestId",
                "operations.clientRequestId.invalid",
                "clientRequestId must be at most 256 printable characters",
            ));
        }
        return Ok(Some(value));
    }
    Ok(None)
}

/// Hex SHA-256, as stored for a post's body.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_body(body: &[u8]) -> std::result::Result<Value, FieldError> {
    serde_json::from_slice(body).map_err(|e| {
        FieldError::new("body", "operations.invalid", format!("the body is not JSON (line {}, column {}): {e}", e.line(), e.column()))
    })
}

/// A post's body, parsed and validated: the operations list as text, its operation names and
/// the accounts it touches.
struct Checked {
    text: String,
    names: Vec<String>,
    accounts: Vec<String>,
    /// The artifact accounts its deploys download with.
    artifact_accounts: Vec<ArtifactAccount>,
    /// A deploy's task definition is to be downloaded (checked before the post is accepted).
    downloads: bool,
}

/// Why a post was not accepted: the audit outcome, the reason logged, the answer.
struct Rejected {
    outcome: &'static str,
    reason: Option<String>,
    response: Response,
}

impl Rejected {
    fn invalid(response: Response) -> Box<Rejected> {
        Box::new(Rejected { outcome: "invalid", reason: None, response })
    }
}

/// Parses a post's body, authorizes the accounts it names, then validates it (CPU-bound for a
/// large body: run off the async runtime). Authorizing first means validation never tells a
/// caller about accounts it may not write (that an account exists, its regions, the others).
fn check_body(config: &Config, identity: &Identity, operation: Option<&str>, body: &[u8]) -> std::result::Result<Checked, Box<Rejected>> {
    let value =
        parse_body(body).map_err(|e| Rejected::invalid(problem(StatusCode::BAD_REQUEST, "the request body is not valid JSON", vec![e])))?;
    let value = match operation {
        Some(operation) => ops::single(operation, value),
        None => value,
    };
    let named = ops::named_accounts(&value);
    if !identity.principal.admin
        && let Some(account) = denied(config, identity, &named, Authorization::Write)
    {
        let reason = Some(format!("no WRITE on {account}"));
        return Err(Box::new(Rejected { outcome: "denied", reason, response: access_denied(account, identity) }));
    }
    let text = value.to_string();
    match ops::parse(config, value) {
        Ok(operations) => Ok(Checked {
            text,
            names: operations.names().into_iter().map(str::to_string).collect(),
            accounts: operations.accounts(),
            artifact_accounts: operations.artifact_accounts(),
            downloads: operations.has_downloads(),
        }),
        Err(Error::Invalid(errors)) => Err(Rejected::invalid(problem(StatusCode::BAD_REQUEST, "Validation Failed", errors))),
        Err(e) => Err(Rejected::invalid(problem(StatusCode::BAD_REQUEST, &e.to_string(), Vec::new()))),
    }
}

/// [`check_body`] on a blocking thread: an 8 MiB body of thousands of operations takes a while
/// to check, and the runtime serves every other request meanwhile.
async fn check_in_background(
    config: Arc<Config>,
    identity: Identity,
    operation: Option<String>,
    body: Bytes,
) -> std::result::Result<std::result::Result<Checked, Box<Rejected>>, tokio::task::JoinError> {
    tokio::task::spawn_blocking(move || check_body(&config, &identity, operation.as_deref(), &body)).await
}

/// Whether `identity` may download with `account` (see
/// [`Identity::may_use_artifact_account`]); the embedded account reaches nothing and is anyone's.
fn may_use_artifact(config: &Config, identity: &Identity, account: &ArtifactAccount) -> bool {
    let writes_an_ecs_account =
        || config.ecs_account_names().into_iter().any(|name| denied(config, identity, &[name.to_string()], Authorization::Write).is_none());
    account.kind == crate::core::artifact::Kind::Embedded
        || identity.may_use_artifact_account(&account.permissions, !account.permissions.is_restricted() && writes_an_ecs_account())
}

/// The first account of `accounts` that `identity` may not use with `authorization`.
fn denied<'a>(config: &Config, identity: &Identity, accounts: &'a [String], authorization: Authorization) -> Option<&'a str> {
    accounts.iter().map(String::as_str).find(|name| match config.account(name) {
        Ok(account) => !identity.may(name, &account.permissions, authorization),
        Err(_) => true,
    })
}

/// The configured ECS accounts `identity` may read (the read API's application views, the console).
fn readable_accounts(config: &Config, identity: &Identity) -> Vec<String> {
    let names = config.ecs_account_names().into_iter().map(str::to_string);
    names.filter(|a| denied(config, identity, std::slice::from_ref(a), Authorization::Read).is_none()).collect()
}

/// Clouddriver's answer to an operation on an account the caller may not write
/// (`DescriptionAuthorizer`: `authorization.account`, "Access denied to account …").
fn access_denied(account: &str, identity: &Identity) -> Response {
    let message = format!("Access denied to account {account}");
    let detail = format!("{message}: {} may not write it", identity.owner());
    problem(StatusCode::FORBIDDEN, &message, vec![FieldError::new("credentials", "authorization.account", detail)])
}

/// Validates an operations list, checks WRITE on every account it touches and queues it; the
/// work runs in the background. A post that repeats a stored `clientRequestId` gets that task
/// back and starts nothing; under a different body it is a 409.
async fn submit(app: &Arc<App>, mut post: Audited, operation: Option<String>, body: Bytes, query: Option<&str>) -> Response {
    let client_request_id = match client_request_id(query) {
        Ok(id) => id,
        Err(error) => return post.answer(app, "invalid", problem(StatusCode::BAD_REQUEST, "Validation Failed", vec![error])),
    };
    if let Some(id) = &client_request_id
        && let Some(response) = repeated(app, &mut post, id, operation.as_deref(), &body).await
    {
        return response;
    }
    let checked = match check_in_background(app.config.clone(), post.identity.clone(), operation, body).await {
        Ok(Ok(checked)) => checked,
        Ok(Err(rejected)) => {
            post.event.reason = rejected.reason;
            return post.answer(app, rejected.outcome, rejected.response);
        }
        Err(e) => {
            error!("checking a post: {e}");
            return post.answer(app, "failed", problem(StatusCode::INTERNAL_SERVER_ERROR, "the post could not be checked", Vec::new()));
        }
    };
    post.event.accounts = checked.accounts.clone();
    post.event.operations = checked.names.clone();
    if let Some(account) = denied(&app.config, &post.identity, &checked.accounts, Authorization::Write) {
        post.event.reason = Some(format!("no WRITE on {account}"));
        let response = access_denied(account, &post.identity);
        return post.answer(app, "denied", response);
    }
    if let Some(account) = checked.artifact_accounts.iter().find(|a| !may_use_artifact(&app.config, &post.identity, a)) {
        post.event.reason = Some(format!("may not use artifact account {}", account.name));
        let message = format!("Access denied to artifact account {}", account.name);
        let errors = vec![FieldError::new("artifactAccount", "authorization.artifactAccount", message.clone())];
        return post.answer(app, "denied", problem(StatusCode::FORBIDDEN, &message, errors));
    }
    match app.store.active_of(&post.identity.principal.name).await {
        Ok(active) if active >= app.max_queued_per_principal => {
            let message = format!(
                "{} has {active} tasks queued or running, the most one principal may (--max-queued-per-principal); \
                 nothing was started: post again when some have finished, or cancel some (PUT /task/{{id}}/cancel)",
                post.identity.principal.name
            );
            post.event.reason = Some(message.clone());
            return post.answer(app, "refused", problem(StatusCode::TOO_MANY_REQUESTS, &message, Vec::new()));
        }
        Ok(_) => {}
        Err(e) => error!("counting the tasks of {}: {e}", post.identity.principal.name),
    }
    if checked.downloads
        && let Err(response) = download_artifacts(app, &checked.text).await
    {
        return post.answer(app, "invalid", *response);
    }
    let id = uuid::Uuid::new_v4().to_string();
    let created = now_ms();
    let mut task = Task::new();
    task.id = Some(id.clone());
    task.start_time_ms = Some(created as u64);
    task.owner_id = Some(post.identity.owner().to_string());
    task.principal = Some(post.identity.principal.name.clone());
    task.accounts = checked.accounts;
    let (id, outcome) = match app.store.insert(&id, created, &checked.text, &task, client_request_id.as_deref()).await {
        Ok(Inserted::New) => {
            app.wake.notify_one();
            (id, "accepted")
        }
        Ok(Inserted::Existing { id, same_body: true }) => {
            info!("task {id}: posted again with the same clientRequestId; nothing new started");
            (id, "repeated")
        }
        Ok(Inserted::Existing { id, same_body: false }) => {
            let message = format!(
                "clientRequestId {} was already used for a different operations list (task {id}); nothing was started: \
                 post a new operation under a new clientRequestId",
                client_request_id.unwrap_or_default()
            );
            post.event.task_id = Some(id);
            return post.answer(app, "conflict", problem(StatusCode::CONFLICT, &message, Vec::new()));
        }
        Err(e) => {
            error!("{e}");
            let response =
                problem(StatusCode::SERVICE_UNAVAILABLE, "the task store is unavailable; nothing was started, post again", Vec::new());
            return post.answer(app, "failed", response);
        }
    };
    post.event.task_id = Some(id.clone());
    post.answer(app, outcome, axum::Json(json!({"id": id, "resourceUri": format!("/task/{id}")})).into_response())
}

/// The answer to a post whose `clientRequestId` is stored already (an Orca retry, maybe on
/// another replica), looked up before anything else — no validation, no download: its task when
/// the body is the same and the caller may see it, 409 for another body, 403 for someone else's.
async fn repeated(app: &Arc<App>, post: &mut Audited, client_request_id: &str, operation: Option<&str>, body: &Bytes) -> Option<Response> {
    let found = match app.store.find_client_request(client_request_id).await {
        Ok(found) => found,
        Err(e) => {
            error!("{e}");
            let response =
                problem(StatusCode::SERVICE_UNAVAILABLE, "the task store is unavailable; nothing was started, post again", Vec::new());
            return Some(post.clone_answer(app, "failed", response));
        }
    };
    let (id, stored_hash) = found?;
    let (operation, bytes) = (operation.map(str::to_string), body.clone());
    let canonical = tokio::task::spawn_blocking(move || {
        let value = parse_body(&bytes).ok()?;
        let value = match operation {
            Some(operation) => ops::single(&operation, value),
            None => value,
        };
        Some(sha256_hex(value.to_string().as_bytes()))
    })
    .await
    .ok()
    .flatten();
    post.event.task_id = Some(id.clone());
    let task = app.store.get(&id).await.ok().flatten();
    if !task.as_ref().is_some_and(|t| may_see(&app.config, &post.identity, t)) {
        post.event.reason = Some("a clientRequestId of a task the caller may not see".into());
        let message = format!("clientRequestId {client_request_id} belongs to a task you may not see; nothing was started");
        return Some(post.clone_answer(app, "denied", problem(StatusCode::FORBIDDEN, &message, Vec::new())));
    }
    if canonical.is_none() || canonical != stored_hash {
        let message = format!(
            "clientRequestId {client_request_id} was already used for a different operations list (task {id}); nothing was started: \
             post a new operation under a new clientRequestId"
        );
        return Some(post.clone_answer(app, "conflict", problem(StatusCode::CONFLICT, &message, Vec::new())));
    }
    info!("task {id}: posted again with the same clientRequestId; nothing new started");
    Some(post.clone_answer(app, "repeated", axum::Json(json!({"id": id, "resourceUri": format!("/task/{id}")})).into_response()))
}

/// Downloads and checks the deploys' artifacts of an accepted-to-be post: a missing object, a
/// refusal or a bad body is a 400 and nothing starts; an unreachable store a 502. The task reuses
/// the bytes (see [`crate::engine::artifacts`]).
async fn download_artifacts(app: &App, text: &str) -> std::result::Result<(), Box<Response>> {
    let parsed = serde_json::from_str(text).map_err(|e| Error::Failed { message: e.to_string(), report: Vec::new() });
    let downloaded = match parsed.and_then(|v| ops::parse(&app.config, v)) {
        Ok(mut operations) => operations.download_artifacts().await,
        Err(e) => Err(e),
    };
    match downloaded {
        Ok(()) => Ok(()),
        Err(Error::Invalid(errors)) => Err(Box::new(problem(StatusCode::BAD_REQUEST, "Validation Failed", errors))),
        Err(e) => Err(Box::new(problem(StatusCode::BAD_GATEWAY, &format!("{e}; nothing was started"), Vec::new()))),
    }
}

/// The operations `serve` runs, as Clouddriver's `GET /features/stages` lists stage features
/// (Orca plans every deploy stage with it). No `upsertEntityTags`: entity tags are not served.
async fn features_stages() -> Response {
    let stages: Vec<Value> = ops::OPERATION_NAMES.iter().map(|name| json!({"name": name, "enabled": true})).collect();
    axum::Json(stages).into_response()
}

/// `POST /cache/{provider}/{type}` (Orca's force-cache-refresh after every deploy): ecs-deployer
/// reads AWS live, so there is nothing to refresh — 200 with Clouddriver's empty answer, which
/// lets Orca go on at once (a 202 would make it poll). The account named must be readable; its
/// views are read afresh next time (Decisions D7).
async fn post_cache(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    Path((provider, kind)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let mut post = Audited::new(identity, &Method::POST, &format!("/cache/{provider}/{kind}"), peer);
    let account = serde_json::from_slice::<Value>(&body).ok().and_then(|b| b.get("account").and_then(Value::as_str).map(str::to_string));
    if let Some(account) = account {
        post.event.accounts = vec![account.clone()];
        if denied(&app.config, &post.identity, std::slice::from_ref(&account), Authorization::Read).is_some() {
            post.event.reason = Some(format!("no READ on {account}"));
            let message = format!("Access denied to account {account}");
            let errors = vec![FieldError::new("account", "authorization.account", message.clone())];
            return post.answer(&app, "denied", problem(StatusCode::FORBIDDEN, &message, errors));
        }
    }
    if let Some(account) = post.event.accounts.first() {
        app.reader.invalidate(account);
    }
    post.answer(&app, "accepted", axum::Json(json!({"cachedIdentifiersByType": {}})).into_response())
}

/// Whether `identity` may see `task`: its owner (through the principal that posted it), a
/// principal that may read every account it touches, an admin.
fn may_see(config: &Config, identity: &Identity, task: &Task) -> bool {
    if identity.principal.admin {
        return true;
    }
    let posted_by_this_principal = task.principal.as_deref() == Some(identity.principal.name.as_str());
    if posted_by_this_principal && task.owner_id.as_deref() == Some(identity.owner()) {
        return true;
    }
    !task.accounts.is_empty() && denied(config, identity, &task.accounts, Authorization::Read).is_none()
}

async fn get_task(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    Path(id): Path<String>,
) -> Response {
    match app.store.get(&id).await {
        Ok(Some(task)) if may_see(&app.config, &identity, &task) => axum::Json(task).into_response(),
        Ok(Some(task)) => {
            let mut read = Audited::new(identity, &Method::GET, &format!("/task/{id}"), peer);
            read.event.accounts = task.accounts;
            read.event.task_id = Some(id.clone());
            read.event.reason = Some("not the owner, and no READ on every account of the task".into());
            let message = format!("Access denied to task {id}: it is not yours and you may not read all of its accounts");
            read.answer(&app, "denied", problem(StatusCode::FORBIDDEN, &message, Vec::new()))
        }
        Ok(None) => problem(StatusCode::NOT_FOUND, &format!("Task not found (id: {id})"), Vec::new()),
        Err(e) => {
            error!("{e}");
            problem(StatusCode::SERVICE_UNAVAILABLE, "the task store is unavailable; poll again", Vec::new())
        }
    }
}

/// The store's filter for the tasks `identity` may see (mentioning `needle` when given): its own,
/// and those whose every account it may read; every task for an admin. [`may_see`] stays the
/// final word on each.
fn visible_to(config: &Config, identity: &Identity, needle: Option<&str>) -> store::TaskFilter {
    let unreadable = (!identity.principal.admin).then(|| {
        let names = config.ecs_account_names().into_iter().map(str::to_string);
        names.filter(|a| denied(config, identity, std::slice::from_ref(a), Authorization::Read).is_some()).collect()
    });
    store::TaskFilter {
        own: Some((identity.principal.name.clone(), identity.owner().to_string())),
        unreadable_accounts: unreadable,
        mentioning: needle.map(str::to_string),
    }
}

/// Whether `identity` may cancel `task`: its owner (through the principal that posted it), a
/// principal that may write every account it touches, an admin.
fn may_cancel(config: &Config, identity: &Identity, task: &Task) -> bool {
    let own = task.principal.as_deref() == Some(identity.principal.name.as_str()) && task.owner_id.as_deref() == Some(identity.owner());
    identity.principal.admin
        || own
        || (!task.accounts.is_empty() && denied(config, identity, &task.accounts, Authorization::Write).is_none())
}

/// `PUT /task/{id}/cancel` (Clouddriver has none; Orca cancels pipelines with a PUT of the same
/// shape): a queued task ends at once and never runs; a running one stops at its next step —
/// the AWS call in flight finishes, what it created is undone as on any failure, and its report
/// says what exists. Answers the task.
async fn cancel_task(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    Path(id): Path<String>,
) -> Response {
    let mut post = Audited::new(identity, &Method::PUT, &format!("/task/{id}/cancel"), peer);
    post.event.task_id = Some(id.clone());
    let task = match app.store.get(&id).await {
        Ok(Some(task)) => task,
        Ok(None) => return problem(StatusCode::NOT_FOUND, &format!("Task not found (id: {id})"), Vec::new()),
        Err(e) => {
            error!("{e}");
            return problem(StatusCode::SERVICE_UNAVAILABLE, "the task store is unavailable; try again", Vec::new());
        }
    };
    post.event.accounts = task.accounts.clone();
    if !may_cancel(&app.config, &post.identity, &task) {
        post.event.reason = Some("not the owner, and no WRITE on every account of the task".into());
        let message = format!("Access denied to task {id}: it is not yours and you may not write all of its accounts");
        return post.answer(&app, "denied", problem(StatusCode::FORBIDDEN, &message, Vec::new()));
    }
    let by = post.identity.owner().to_string();
    let mut ended = task.clone();
    let message = format!("Canceled by {by} before it started");
    ended.push("ORCHESTRATION", message.clone());
    ended.fail("task", "Canceled", &message, 1, vec!["nothing was started".into()]);
    match app.store.cancel(&id, &by, &ended).await {
        Ok(store::Cancel::Dequeued) => post.answer(&app, "canceled", axum::Json(ended).into_response()),
        Ok(store::Cancel::Asked) => {
            if let Some(running) = app.running.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
                running.set(&by);
            }
            let task = app.store.get(&id).await.ok().flatten().unwrap_or(task);
            post.answer(&app, "canceled", (StatusCode::ACCEPTED, axum::Json(task)).into_response())
        }
        Ok(store::Cancel::Finished) => {
            let message = format!("task {id} has ended already; there is nothing to cancel");
            post.answer(&app, "invalid", problem(StatusCode::CONFLICT, &message, Vec::new()))
        }
        Err(e) => {
            error!("{e}");
            let response =
                problem(StatusCode::SERVICE_UNAVAILABLE, "the task store is unavailable; nothing was canceled, try again", Vec::new());
            post.answer(&app, "failed", response)
        }
    }
}

async fn list_tasks(State(app): State<Arc<App>>, Extension(identity): Extension<Identity>) -> Response {
    match app.store.list(&visible_to(&app.config, &identity, None), 500).await {
        Ok(tasks) => {
            let visible: Vec<Task> = tasks.into_iter().filter(|t| may_see(&app.config, &identity, t)).collect();
            axum::Json(visible).into_response()
        }
        Err(e) => {
            error!("{e}");
            problem(StatusCode::SERVICE_UNAVAILABLE, "the task store is unavailable; try again", Vec::new())
        }
    }
}

/// Claims queued tasks while there is a free slot, and marks abandoned ones failed.
async fn worker(app: Arc<App>, slots: Arc<Semaphore>, poll: Duration) {
    let mut next_sweep = tokio::time::Instant::now();
    let mut next_prune = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_sweep {
            next_sweep = tokio::time::Instant::now() + app.lease / 2;
            let app = app.clone();
            // A lease that ended may still cover a write sent just before: wait for the longest AWS call.
            let grace = crate::core::settings::get().aws_call_timeout.as_millis() as i64;
            tokio::task::spawn_local(async move { adopt_abandoned(&app, now_ms() - grace).await });
        }
        if tokio::time::Instant::now() >= next_prune {
            next_prune = tokio::time::Instant::now() + PRUNE_EVERY;
            let app = app.clone();
            tokio::task::spawn_local(async move { prune(&app).await });
        }
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let lease_until = now_ms() + app.lease.as_millis() as i64;
        match app.store.claim(&app.replica, lease_until, app.max_running_per_principal).await {
            Ok(Some(claimed)) => {
                let app = app.clone();
                let slot = TaskSlot::new(slots.clone(), slot);
                tokio::task::spawn_local(async move {
                    run_task(app, claimed, crate::aws::fence::Fence::until(lease_until), slot).await;
                });
            }
            Ok(None) => {
                drop(slot);
                tokio::select! {
                    _ = app.wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
            Err(e) => {
                drop(slot);
                error!("{e}");
                tokio::time::sleep(poll.max(Duration::from_secs(1))).await;
            }
        }
    }
}

/// A running task's worker slot, given back while it only waits (see [`crate::engine::slot`]);
/// dropped with the task.
struct TaskSlot {
    semaphore: Arc<Semaphore>,
    held: std::sync::Mutex<Option<tokio::sync::OwnedSemaphorePermit>>,
}

impl TaskSlot {
    fn new(semaphore: Arc<Semaphore>, permit: tokio::sync::OwnedSemaphorePermit) -> Arc<TaskSlot> {
        Arc::new(TaskSlot { semaphore, held: std::sync::Mutex::new(Some(permit)) })
    }
}

/// A task this replica runs, until dropped at the end of [`run_task`].
struct RunningTask {
    app: Arc<App>,
    id: String,
    _slot: Arc<TaskSlot>,
}

impl Drop for RunningTask {
    fn drop(&mut self) {
        self.app.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
    }
}

/// The engine's handle on a [`TaskSlot`].
struct SlotHandle(Arc<TaskSlot>);

impl crate::engine::slot::WaitSlot for SlotHandle {
    fn release(&self) {
        self.0.held.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    fn reacquire(&self) -> futures::future::BoxFuture<'static, ()> {
        let slot = self.0.clone();
        Box::pin(async move {
            if let Ok(permit) = slot.semaphore.clone().acquire_owned().await {
                *slot.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(permit);
            }
        })
    }
}

/// How often finished tasks past the retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Deletes the finished tasks older than `--task-retention`.
async fn prune(app: &App) {
    let before = now_ms().saturating_sub(app.task_retention.as_millis() as i64);
    match app.store.prune(before).await {
        Ok(0) => {}
        Ok(n) => info!("deleted {n} finished task(s) older than --task-retention"),
        Err(e) => error!("pruning finished tasks: {e}"),
    }
}

/// Takes over the tasks whose replica went away while running them (leases ended before
/// `before_ms`) and undoes each in the background: it reads as being undone at once, then ends
/// failed, saying what was removed. Serving never waits for an undo.
async fn adopt_abandoned(app: &Arc<App>, before_ms: i64) {
    let lease = now_ms() + app.lease.as_millis() as i64;
    let adopted = match app.store.adopt_abandoned(before_ms, &app.replica, lease).await {
        Ok(adopted) => adopted,
        Err(e) => return error!("{e}"),
    };
    for abandoned in adopted {
        tokio::task::spawn_local(undo_abandoned(app.clone(), abandoned));
    }
}

/// Undoes what an abandoned task was creating, renewing this replica's lease on it meanwhile, and
/// ends it failed with the report.
async fn undo_abandoned(app: Arc<App>, abandoned: Abandoned) {
    let Abandoned { id, previous_owner, mut task, creating } = abandoned;
    let lease = || now_ms() + app.lease.as_millis() as i64;
    let message = store::abandoned_message(&previous_owner);
    let phase = task.status.phase.clone();
    task.push(&phase, format!("Being undone: {message}; removing what it left incomplete"));
    if let Err(e) = app.store.save(&id, &app.replica, &task, lease(), false).await {
        error!("task {id}: {e}");
    }
    let undo = async {
        let mut report = Vec::new();
        for c in &creating {
            report.push(undo_create(&app.config, c).await);
        }
        // A disable, enable, resize or rollback cut short: what its server groups are now.
        let states = lifecycle_states(&app, &id).await;
        if creating.is_empty() && states.is_empty() {
            report.push("it had not started creating anything".to_string());
        }
        report.extend(states);
        report
    };
    let renew = async {
        loop {
            tokio::time::sleep(app.lease / 3).await;
            if let Err(e) = app.store.save(&id, &app.replica, &task, lease(), false).await {
                error!("task {id}: renewing the lease while undoing: {e}");
            }
        }
    };
    let report = tokio::select! {
        report = undo => report,
        _ = renew => unreachable!("renewing never ends"),
    };
    audit_own_work(&app, &id, &task.accounts, &report);
    task.push(&phase, format!("Failed: {message}"));
    report.iter().for_each(|line| task.push(&phase, line.clone()));
    task.fail("task", "TaskAbandoned", &message, 1, report);
    match app.store.save(&id, &app.replica, &task, lease(), true).await {
        Ok(true) => warn!("task {id} was running when ecs-deployer stopped; marked failed after undoing its work"),
        Ok(false) => warn!("task {id}: another replica took it over while this one was undoing it"),
        Err(e) => error!("task {id}: {e}"),
    }
}

/// What the server groups of an abandoned task's lifecycle operations are now (read back).
async fn lifecycle_states(app: &App, id: &str) -> Vec<String> {
    let Ok(Some(text)) = app.store.operations(id).await else { return Vec::new() };
    let Ok(operations) =
        serde_json::from_str(&text).map_err(|e| e.to_string()).and_then(|v| ops::parse(&app.config, v).map_err(|e| e.to_string()))
    else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for (target, name) in operations.lifecycle_targets() {
        let line = match crate::aws::Session::connect(&target.account, &target.region).await {
            Ok(session) => crate::engine::lifecycle::state_line(&session, target.ecs_cluster.as_deref(), &name).await,
            Err(e) => format!("could not read {name} back: {e}"),
        };
        lines.push(line);
    }
    lines
}

/// Audits what `serve` removed on its own (no request asked for it): an abandoned task's
/// creations undone at start-up or by adoption, a task's work undone on SIGTERM.
fn audit_own_work(app: &App, id: &str, accounts: &[String], report: &[String]) {
    app.audit.record(Event {
        principal: Some("serve".into()),
        source: format!("replica {}", app.replica),
        method: "UNDO".into(),
        path: format!("/task/{id}"),
        accounts: accounts.to_vec(),
        task_id: Some(id.to_string()),
        outcome: "undone",
        reason: Some(report.join("; ").chars().take(2048).collect()),
        ..Event::default()
    });
}

/// One report line: what became of a server group an abandoned task was creating.
async fn undo_create(config: &Config, creating: &crate::engine::journal::Creating) -> String {
    let name = &creating.server_group;
    let undone = async {
        let account = config.account(&creating.account).map_err(|e| Error::Config(e.to_string()))?;
        let session = crate::aws::Session::connect(&account, &creating.region).await?;
        crate::engine::lifecycle::undo_create(&session, creating).await
    };
    undone.await.unwrap_or_else(|e| {
        format!(
            "could not undo {name}: {e}; `ecs-deployer cleanup --account {} --region {}` removes it once it is old enough",
            creating.account, creating.region
        )
    })
}

/// The sink of a task's [`crate::engine::journal::Creating`]s: each is added to the task's row before
/// the deploy's first write; the deploy does not start if it cannot be stored.
fn creating_sink(app: Arc<App>, id: String) -> crate::engine::journal::CreatingSink {
    let said = Arc::new(std::sync::Mutex::new(Vec::<crate::engine::journal::Creating>::new()));
    Arc::new(move |creating| {
        let (app, id, said) = (app.clone(), id.clone(), said.clone());
        Box::pin(async move {
            let text = {
                let mut said = said.lock().unwrap_or_else(|e| e.into_inner());
                said.push(creating);
                serde_json::to_string(&*said).map_err(|e| e.to_string())?
            };
            match app.store.record_creating(&id, &app.replica, &text).await {
                Ok(true) => Ok(()),
                Ok(false) => Err("this replica no longer holds the task".to_string()),
                Err(e) => Err(e.to_string()),
            }
        })
    })
}

/// The locks of a task's operations taken in PostgreSQL too, so replicas exclude each other
/// (see [`crate::engine::locks`]); waits at most 15 minutes for one.
fn shared_locks(store: Store) -> crate::engine::locks::SharedLocks {
    Arc::new(move |name: String| {
        let store = store.clone();
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(900);
            loop {
                if store.try_lock(&name).await.map_err(|e| e.to_string())? {
                    return Ok(Box::new(SharedLock { store, name }) as Box<dyn std::any::Any>);
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(format!("another replica held {name} for 15 minutes"));
                }
                let jitter = uuid::Uuid::new_v4().as_u128() as u64 % 50;
                tokio::time::sleep(Duration::from_millis(50 + jitter)).await;
            }
        })
    })
}

/// A lock held in PostgreSQL; released when dropped.
struct SharedLock {
    store: Store,
    name: String,
}

impl Drop for SharedLock {
    fn drop(&mut self) {
        let (store, name) = (self.store.clone(), std::mem::take(&mut self.name));
        tokio::spawn(async move {
            if let Err(e) = store.unlock(&name).await {
                error!("releasing {name}: {e}");
            }
        });
    }
}

/// Runs one claimed task, saving its state on every change and renewing the lease meanwhile; its
/// AWS writes are fenced by the lease (see [`crate::aws::fence`]).
async fn run_task(app: Arc<App>, claimed: Claimed, fence: crate::aws::fence::Fence, slot: Arc<TaskSlot>) {
    let Claimed { id, operations, mut task } = claimed;
    let cancel = Arc::new(Canceled::default());
    app.running.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), cancel.clone());
    // Listed as running (and holding its slot) until its result is saved: shutdown waits for it.
    let _running = RunningTask { app: app.clone(), id: id.clone(), _slot: slot.clone() };
    let sink = creating_sink(app.clone(), id.clone());
    let app = &*app;
    info!("task {id}: running");
    task.replica = Some(app.replica.clone());
    let state = TaskState::new(task);
    let lease = || now_ms() + app.lease.as_millis() as i64;
    let parsed = serde_json::from_str(&operations).map_err(|e| Error::Failed { message: e.to_string(), report: Vec::new() });
    let work = async {
        match parsed.and_then(|v| ops::parse(&app.config, v)) {
            Ok(operations) => {
                let mut quiet = Quiet;
                let run = crate::engine::journal::recording_creates(sink, ops::run(operations, &state, &mut quiet));
                let run = crate::aws::fence::scope(fence.clone(), run);
                let run = crate::engine::interrupt::cancelable(cancel.flag.clone(), run);
                let run = crate::engine::slot::scope(Arc::new(SlotHandle(slot.clone())), run);
                match &app.store {
                    Store::Postgres(_) => crate::engine::locks::across(shared_locks(app.store.clone()), run).await,
                    Store::Sqlite(_) => run.await,
                }
            }
            Err(e) => {
                // Only when replicas run with different account configurations.
                let mut task = state.snapshot();
                let message = format!("this replica cannot run the task: {e}");
                task.fail("task", "InvalidRequestException", &message, e.exit_code(), Vec::new());
                task
            }
        }
    };
    let saver = async {
        loop {
            tokio::select! {
                _ = state.changed() => {}
                _ = tokio::time::sleep(app.lease / 3) => {}
            }
            let until = lease();
            match app.store.renew(&id, &app.replica, &state.snapshot(), until).await {
                Ok(store::Renewal::Held { canceled_by: by }) => {
                    fence.extend(until);
                    if let Some(by) = by.filter(|by| cancel.set(by)) {
                        info!("task {id}: canceled by {by}; it stops at its next step");
                    }
                }
                Ok(store::Renewal::Lost) => {
                    fence.close();
                    warn!("task {id}: this replica no longer holds it (its lease ran out); it stops before its next AWS write")
                }
                Err(e) => error!("task {id}: renewing its lease failed, it stops writing when the lease ends: {e}"),
            }
        }
    };
    let mut task = tokio::select! {
        task = work => task,
        _ = saver => unreachable!("the saver never ends"),
    };
    drop(slot);
    if cancel.flag.load(std::sync::atomic::Ordering::SeqCst) && task.status.failed {
        let by = cancel.by.lock().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_else(|| "a cancel".into());
        let phase = task.status.phase.clone();
        task.push(&phase, format!("Canceled by {by}: stopped at its next step; the report says what was undone and what exists"));
    }
    if task.status.failed && crate::engine::interrupt::requested() {
        let report = task.exception.as_ref().and_then(|e| e.get("report")).and_then(Value::as_array).cloned().unwrap_or_default();
        let lines: Vec<String> = report.iter().filter_map(|l| l.as_str().map(str::to_string)).collect();
        audit_own_work(app, &id, &task.accounts, &lines);
    }
    // Before the task reads as finished: a poller that then reads a view sees what it wrote.
    for account in &task.accounts {
        app.reader.invalidate(account);
    }
    for attempt in 0..10u32 {
        match app.store.save(&id, &app.replica, &task, lease(), true).await {
            Ok(true) => {
                info!("task {id}: {}", task.status.status);
                return;
            }
            Ok(false) => {
                error!(
                    "task {id}: finished ({}) after another replica marked it failed; its result is only in this log",
                    task.status.status
                );
                return;
            }
            Err(e) => {
                error!("task {id}: saving the result failed (attempt {}): {e}", attempt + 1);
                tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_large_body_is_checked_while_the_runtime_runs_other_work() {
        let config = Arc::new(Config::from_yaml("ecs: {accounts: []}").unwrap());
        let op = json!({"disableServerGroup": {"credentials": "nope", "region": "nowhere", "padding": "x".repeat(270)}});
        let body = Bytes::from(Value::Array(vec![op; 22_489]).to_string());
        let order = std::sync::Mutex::new(Vec::new());
        let check = async {
            let identity = Identity::new(Arc::new(crate::core::access::Principal::operator("operator")), None, None);
            let checked = check_in_background(config, identity, None, body).await.unwrap();
            assert!(checked.is_err(), "every operation is invalid");
            order.lock().unwrap().push("checked");
        };
        let other = async {
            tokio::task::yield_now().await;
            order.lock().unwrap().push("other work");
        };
        tokio::join!(check, other);
        assert_eq!(*order.lock().unwrap(), ["other work", "checked"]);
    }

    #[test]
    fn hosts_and_origins_compare_by_name_without_port() {
        assert_eq!(host_name("Deployer.Example:443"), "deployer.example");
        assert_eq!(host_name("[::1]:7002"), "::1");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name("example.com."), "example.com");
        let hosts = allowed_hosts("0.0.0.0:7002".parse().unwrap(), &["lb.example".into()], &["https://Console.Example:8443/x".into()]);
        assert!(hosts.contains("localhost") && hosts.contains("lb.example") && !hosts.contains("0.0.0.0"));
        assert!(hosts.contains("console.example"));
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(origin("HTTPS://Deployer.Example:443/path").as_deref(), Some("https://deployer.example"));
        assert_eq!(origin("http://localhost:9999").as_deref(), Some("http://localhost:9999"));
        assert_eq!(origin("null"), None);
        let loopback: SocketAddr = "127.0.0.1:7002".parse().unwrap();
        let public: SocketAddr = "0.0.0.0:7002".parse().unwrap();
        assert!(!secure_cookie(false, loopback, &[]), "plain http on loopback: a browser would drop a Secure cookie");
        assert!(secure_cookie(false, public, &[]), "--plaintext off loopback is behind TLS");
        assert!(secure_cookie(true, loopback, &[]));
        assert!(!secure_cookie(false, public, &["http://deployer.internal".into()]), "--external-url says how browsers come");
    }
}
