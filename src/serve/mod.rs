//! `ecs-deployer serve`: Clouddriver's operations and task API over HTTP, so a pipeline that
//! posts `[{"createServerGroup": {...}}]` to `/ecs/ops` and polls `/task/{id}` (Orca's
//! `createServerGroup` → `monitorDeploy`) can drive ecs-deployer unchanged. A post is parsed and
//! validated at once (HTTP 400 with the CLI's error codes, nothing stored); a valid one becomes a
//! queued task in the [`store`], which a worker of some replica claims and runs with the same
//! engine as the `ops` command ([`crate::ops`]), saving the task's history as it goes.

pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{Notify, Semaphore};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::error::{Error, FieldError, Result};
use crate::lifecycle::Quiet;
use crate::ops::{self, Task, TaskState};
use store::{Abandoned, Claimed, Inserted, Store};

/// How `serve` runs.
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub store: Store,
    /// SHA-256 of the bearer token; None: no authentication (loopback only).
    pub token: Option<[u8; 32]>,
    pub max_body_bytes: usize,
    pub max_running: usize,
    pub lease: Duration,
    /// How often a replica looks for tasks posted to another replica and for abandoned ones.
    pub poll: Duration,
    /// The exclusive lock on the SQLite store file, held while serving.
    pub store_lock: Option<std::fs::File>,
}

impl ServeOptions {
    /// The options of `serve`: checks the token against the listen address and opens the store
    /// (SQLite marks the tasks a crash cut short as failed; PostgreSQL is polled for the tasks
    /// posted to other replicas).
    pub async fn from_args(args: &crate::cli::ServeArgs) -> Result<ServeOptions> {
        let token = token(args.listen, args.token_file.as_deref(), args.token_env)?;
        let (store, poll_ms, store_lock) = match &args.postgres_url {
            Some(url) => (Store::open_postgres(url).await.map_err(|e| Error::Config(e.to_string()))?, 200, None),
            None => {
                let (store, lock) = Store::open_sqlite(&args.store_file).await.map_err(|e| Error::Config(e.to_string()))?;
                (store, 1000, Some(lock))
            }
        };
        Ok(ServeOptions {
            listen: args.listen,
            store,
            token,
            max_body_bytes: args.max_body_bytes,
            max_running: args.max_running as usize,
            lease: args.lease,
            poll: Duration::from_millis(poll_ms),
            store_lock,
        })
    }
}

/// Reads the bearer token and checks the listen address: off loopback a token is required.
pub fn token(listen: SocketAddr, file: Option<&std::path::Path>, from_env: bool) -> Result<Option<[u8; 32]>> {
    let token = match (file, from_env) {
        (Some(path), _) => Some(
            std::fs::read_to_string(path).map_err(|e| Error::Config(format!("--token-file {}: {e}", path.display())))?.trim().to_string(),
        ),
        (None, true) => Some(
            std::env::var("ECS_DEPLOYER_TOKEN")
                .map_err(|_| Error::Config("--token-env is set but ECS_DEPLOYER_TOKEN is not".into()))?
                .trim()
                .to_string(),
        ),
        (None, false) => None,
    };
    match token {
        Some(t) if t.len() < 16 => Err(Error::Config(format!(
            "the bearer token is {} characters long; use at least 16 (e.g. `openssl rand -hex 32 > token`)",
            t.len()
        ))),
        Some(t) => Ok(Some(Sha256::digest(t.as_bytes()).into())),
        None if !listen.ip().is_loopback() => Err(Error::Config(format!(
            "serve listens on {listen}, off loopback, without authentication: give a bearer token with --token-file FILE \
             or --token-env (ECS_DEPLOYER_TOKEN), or listen on 127.0.0.1"
        ))),
        None => Ok(None),
    }
}

struct App {
    config: Config,
    store: Store,
    token: Option<[u8; 32]>,
    replica: String,
    wake: Notify,
    lease: Duration,
    /// SQLite: this process holds the store file's lock, so no other replica runs its tasks.
    store_is_exclusive: bool,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// Runs the HTTP API and the task worker until SIGTERM / Ctrl-C; then stops taking tasks,
/// lets the running ones stop at their next step (undoing what they created, as on any
/// failure), saves them and exits.
pub async fn serve(config: Config, options: ServeOptions) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", options.listen)))?;
    let address = listener.local_addr().map_err(|e| Error::Config(e.to_string()))?;
    let replica = format!("{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let store_is_exclusive = options.store_lock.is_some();
    let _store_lock = options.store_lock;
    let app = Arc::new(App {
        config,
        store: options.store,
        token: options.token,
        replica,
        wake: Notify::new(),
        lease: options.lease,
        store_is_exclusive,
    });
    let router = router(app.clone(), options.max_body_bytes);
    if app.store_is_exclusive {
        // This process owns the store file: every task still running was cut short by the last
        // one's end. Undo their work before serving, so the first poll sees them ended.
        adopt_abandoned(&app, i64::MAX).await;
    }
    info!("ecs-deployer serve listening on http://{address} (replica {})", app.replica);
    let slots = Arc::new(Semaphore::new(options.max_running));
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let worker = tokio::task::spawn_local(worker(app.clone(), slots.clone(), options.poll));
            let shutdown = async {
                while !crate::interrupt::requested() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            };
            let served = axum::serve(listener, router).with_graceful_shutdown(shutdown).await;
            worker.abort();
            // Every slot back: the running tasks have ended and been saved.
            let _ = slots.acquire_many(options.max_running as u32).await;
            served.map_err(|e| Error::Failed { message: format!("HTTP server: {e}"), report: Vec::new() })
        })
        .await
}

fn router(app: Arc<App>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/ecs/ops", post(post_ops))
        .route("/ecs/ops/{operation}", post(post_op))
        .route("/task", get(list_tasks))
        .route("/task/{id}", get(get_task))
        .layer(middleware::from_fn_with_state(app.clone(), authenticate))
        .route("/health", get(|| async { axum::Json(json!({"status": "UP"})) }))
        .fallback(|| async {
            problem(
                StatusCode::NOT_FOUND,
                "no such endpoint: use POST /ecs/ops, POST /ecs/ops/{operation}, GET /task/{id}, GET /task or GET /health",
                Vec::new(),
            )
        })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(app)
}

/// An error response in Spring's shape (`error`, `status`, `message`), with field errors.
fn problem(status: StatusCode, message: &str, errors: Vec<FieldError>) -> Response {
    let body = json!({
        "error": status.canonical_reason().unwrap_or(""),
        "status": status.as_u16(),
        "message": message,
        "errors": errors,
    });
    (status, axum::Json(body)).into_response()
}

async fn authenticate(State(app): State<Arc<App>>, headers: HeaderMap, request: Request, next: Next) -> Response {
    if let Some(expected) = &app.token {
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let ok = given.map(|g| Sha256::digest(g.trim().as_bytes()).ct_eq(expected.as_slice()).into()).unwrap_or(false);
        if !ok {
            let mut response = problem(StatusCode::UNAUTHORIZED, "a valid bearer token is required (Authorization: Bearer …)", Vec::new());
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    next.run(request).await
}

async fn post_ops(State(app): State<Arc<App>>, RawQuery(query): RawQuery, body: Bytes) -> Response {
    match parse_body(&body) {
        Ok(value) => submit(&app, value, query.as_deref()).await,
        Err(error) => problem(StatusCode::BAD_REQUEST, "the request body is not valid JSON", vec![error]),
    }
}

async fn post_op(State(app): State<Arc<App>>, Path(operation): Path<String>, RawQuery(query): RawQuery, body: Bytes) -> Response {
    match parse_body(&body) {
        Ok(value) => submit(&app, ops::single(&operation, value), query.as_deref()).await,
        Err(error) => problem(StatusCode::BAD_REQUEST, "the request body is not valid JSON", vec![error]),
    }
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

/// Validates an operations list and queues it; the work runs in the background. A post that
/// repeats a stored `clientRequestId` gets that task back and starts nothing; under a different
/// body it is a 409.
async fn submit(app: &App, value: Value, query: Option<&str>) -> Response {
    let client_request_id = match client_request_id(query) {
        Ok(id) => id,
        Err(error) => return problem(StatusCode::BAD_REQUEST, "Validation Failed", vec![error]),
    };
    let text = value.to_string();
    match ops::parse(&app.config, value) {
        Ok(_) => {}
        Err(Error::Invalid(errors)) => return problem(StatusCode::BAD_REQUEST, "Validation Failed", errors),
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e.to_string(), Vec::new()),
    }
    let id = uuid::Uuid::new_v4().to_string();
    let created = now_ms();
    let mut task = Task::new();
    task.id = Some(id.clone());
    task.start_time_ms = Some(created as u64);
    let id = match app.store.insert(&id, created, &text, &task, client_request_id.as_deref()).await {
        Ok(Inserted::New) => {
            app.wake.notify_one();
            id
        }
        Ok(Inserted::Existing { id, same_body: true }) => {
            info!("task {id}: posted again with the same clientRequestId; nothing new started");
            id
        }
        Ok(Inserted::Existing { id, same_body: false }) => {
            let message = format!(
                "clientRequestId {} was already used for a different operations list (task {id}); nothing was started: \
                 post a new operation under a new clientRequestId",
                client_request_id.unwrap_or_default()
            );
            return problem(StatusCode::CONFLICT, &message, Vec::new());
        }
        Err(e) => {
            error!("{e}");
            return problem(StatusCode::SERVICE_UNAVAILABLE, "the task store is unavailable; nothing was started, post again", Vec::new());
        }
    };
    axum::Json(json!({"id": id, "resourceUri": format!("/task/{id}")})).into_response()
}

async fn get_task(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match app.store.get(&id).await {
        Ok(Some(task)) => axum::Json(task).into_response(),
        Ok(None) => problem(StatusCode::NOT_FOUND, &format!("Task not found (id: {id})"), Vec::new()),
        Err(e) => {
            error!("{e}");
            problem(StatusCode::SERVICE_UNAVAILABLE, "the task store is unavailable; poll again", Vec::new())
        }
    }
}

async fn list_tasks(State(app): State<Arc<App>>) -> Response {
    match app.store.list(500).await {
        Ok(tasks) => axum::Json(tasks).into_response(),
        Err(e) => {
            error!("{e}");
            problem(StatusCode::SERVICE_UNAVAILABLE, "the task store is unavailable; try again", Vec::new())
        }
    }
}

/// Claims queued tasks while there is a free slot, and marks abandoned ones failed.
async fn worker(app: Arc<App>, slots: Arc<Semaphore>, poll: Duration) {
    let mut next_sweep = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_sweep {
            next_sweep = tokio::time::Instant::now() + app.lease / 2;
            let app = app.clone();
            tokio::task::spawn_local(async move { adopt_abandoned(&app, now_ms()).await });
        }
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        match app.store.claim(&app.replica, now_ms() + app.lease.as_millis() as i64).await {
            Ok(Some(claimed)) => {
                let app = app.clone();
                tokio::task::spawn_local(async move {
                    run_task(app, claimed).await;
                    drop(slot);
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

/// Takes over the tasks whose replica went away while running them (leases ended before
/// `before_ms`), undoes what each was creating and ends it as failed, saying what it removed.
async fn adopt_abandoned(app: &App, before_ms: i64) {
    let lease = now_ms() + app.lease.as_millis() as i64;
    let adopted = match app.store.adopt_abandoned(before_ms, &app.replica, lease).await {
        Ok(adopted) => adopted,
        Err(e) => return error!("{e}"),
    };
    for Abandoned { id, previous_owner, mut task, creating } in adopted {
        let mut report = Vec::new();
        for c in &creating {
            report.push(undo_create(&app.config, c).await);
        }
        if creating.is_empty() {
            report.push("it had not started creating anything".to_string());
        }
        let message = store::abandoned_message(&previous_owner);
        let phase = task.status.phase.clone();
        task.push(&phase, format!("Failed: {message}"));
        report.iter().for_each(|line| task.push(&phase, line.clone()));
        task.fail("task", "TaskAbandoned", &message, 1, report);
        match app.store.save(&id, &app.replica, &task, lease, true).await {
            Ok(true) => warn!("task {id} was running when ecs-deployer stopped; marked failed after undoing its work"),
            Ok(false) => warn!("task {id}: another replica took it over while this one was undoing it"),
            Err(e) => error!("task {id}: {e}"),
        }
    }
}

/// One report line: what became of a server group an abandoned task was creating.
async fn undo_create(config: &Config, creating: &crate::journal::Creating) -> String {
    let name = &creating.server_group;
    let undone = async {
        let account = config.account(&creating.account).map_err(|e| Error::Config(e.to_string()))?;
        let session = crate::aws::Session::connect(&account, &creating.region).await?;
        crate::lifecycle::undo_create(&session, creating).await
    };
    undone.await.unwrap_or_else(|e| {
        format!(
            "could not undo {name}: {e}; `ecs-deployer cleanup --account {} --region {}` removes it once it is old enough",
            creating.account, creating.region
        )
    })
}

/// The sink of a task's [`crate::journal::Creating`]s: each is added to the task's row before
/// the deploy's first write; the deploy does not start if it cannot be stored.
fn creating_sink(app: Arc<App>, id: String) -> crate::journal::CreatingSink {
    let said = Arc::new(std::sync::Mutex::new(Vec::<crate::journal::Creating>::new()));
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
/// (see [`crate::locks`]); waits at most 15 minutes for one.
fn shared_locks(store: Store) -> crate::locks::SharedLocks {
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

/// Runs one claimed task, saving its state on every change and renewing the lease meanwhile.
async fn run_task(app: Arc<App>, claimed: Claimed) {
    let Claimed { id, operations, mut task } = claimed;
    let sink = creating_sink(app.clone(), id.clone());
    let app = &*app;
    info!("task {id}: running");
    task.owner_id = Some(app.replica.clone());
    let state = TaskState::new(task);
    let lease = || now_ms() + app.lease.as_millis() as i64;
    let parsed = serde_json::from_str(&operations).map_err(|e| Error::Failed { message: e.to_string(), report: Vec::new() });
    let work = async {
        match parsed.and_then(|v| ops::parse(&app.config, v)) {
            Ok(operations) => {
                let mut quiet = Quiet;
                let run = crate::journal::recording_creates(sink, ops::run(&app.config, operations, &state, &mut quiet));
                match &app.store {
                    Store::Postgres(_) => crate::locks::across(shared_locks(app.store.clone()), run).await,
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
            match app.store.save(&id, &app.replica, &state.snapshot(), lease(), false).await {
                Ok(true) => {}
                Ok(false) => {
                    warn!("task {id}: this replica no longer holds it (its lease ran out); the work goes on, its result cannot be saved")
                }
                Err(e) => error!("task {id}: {e}"),
            }
        }
    };
    let task = tokio::select! {
        task = work => task,
        _ = saver => unreachable!("the saver never ends"),
    };
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
