//! The operations endpoints (`POST /ecs/ops`, `/ecs/ops/{operation}`): a post is answered from
//! its `clientRequestId` when it repeats one, else parsed once, authorized on the accounts it
//! names, validated once, authorized on every account and artifact account it touches, its
//! artifacts downloaded and checked, and stored as a queued task. [`submit`] returns a typed
//! [`Submission`] that the JSON endpoint and the console each render. Also Orca's planning
//! (`GET /features/stages`) and cache refresh (`POST /cache/...`).

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::{error, info};

use super::access::*;
use super::http::*;
use super::store::Inserted;
use super::{App, now_ms};
use crate::core::access::{Authorization, Identity};
use crate::core::config::Config;
use crate::core::error::{Error, FieldError};
use crate::engine::operations::list::{self as list, Task};

pub(super) async fn post_ops(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let post = Audited::new(identity, &Method::POST, "/ecs/ops", peer);
    submit(&app, post, None, body, query.as_deref()).await.into_response()
}

pub(super) async fn post_op(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    Path(operation): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let post = Audited::new(identity, &Method::POST, &format!("/ecs/ops/{operation}"), peer);
    submit(&app, post, Some(operation), body, query.as_deref()).await.into_response()
}

/// What became of a post.
pub(super) enum Submission {
    /// Stored, or found stored under its `clientRequestId`: the task's id.
    Accepted { id: String },
    /// Nothing stored or started, and why.
    Refused(Refusal),
}

/// Why a post was refused: its HTTP status, the message and the field problems.
pub(super) struct Refusal {
    pub(super) status: StatusCode,
    pub(super) message: String,
    pub(super) errors: Vec<FieldError>,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>, errors: Vec<FieldError>) -> Refusal {
        Refusal { status, message: message.into(), errors }
    }

    fn invalid(errors: Vec<FieldError>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, "Validation Failed", errors)
    }

    /// Clouddriver's answer to an operation on an account the caller may not write
    /// (`DescriptionAuthorizer`: `authorization.account`, "Access denied to account …").
    fn access_denied(account: &str, identity: &Identity) -> Refusal {
        let message = format!("Access denied to account {account}");
        let detail = format!("{message}: {} may not write it", identity.owner());
        Refusal::new(StatusCode::FORBIDDEN, message, vec![FieldError::new("credentials", "authorization.account", detail)])
    }

    fn store_unavailable() -> Refusal {
        Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "the task store is unavailable; nothing was started, post again", Vec::new())
    }

    fn reused(client_request_id: &str, id: &str) -> Refusal {
        let message = format!(
            "clientRequestId {client_request_id} was already used for a different operations list (task {id}); nothing was started: \
             post a new operation under a new clientRequestId"
        );
        Refusal::new(StatusCode::CONFLICT, message, Vec::new())
    }
}

impl Submission {
    /// The JSON endpoint's answer: Clouddriver's `{id, resourceUri}`, or the error shape.
    pub(super) fn into_response(self) -> Response {
        match self {
            Submission::Accepted { id } => axum::Json(json!({"id": id, "resourceUri": format!("/task/{id}")})).into_response(),
            Submission::Refused(r) => problem(r.status, &r.message, r.errors),
        }
    }
}

/// Orca's `clientRequestId` query parameter (KatoRestService sends it on every operations post,
/// the same on each of its retries; no header carries it).
pub(super) fn client_request_id(query: Option<&str>) -> std::result::Result<Option<String>, FieldError> {
    let Some(value) = query_pairs(query.unwrap_or_default().as_bytes()).remove("clientRequestId").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.len() > 256 || value.chars().any(char::is_control) {
        let message = "clientRequestId must be at most 256 printable characters";
        return Err(FieldError::new("clientRequestId", "operations.clientRequestId.invalid", message));
    }
    Ok(Some(value))
}

/// Hex SHA-256, as stored for a post's body.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn parse_body(body: &[u8]) -> std::result::Result<Value, FieldError> {
    serde_json::from_slice(body).map_err(|e| {
        FieldError::new("body", "operations.invalid", format!("the body is not JSON (line {}, column {}): {e}", e.line(), e.column()))
    })
}

/// A post's operations list as it is stored: the single operation of `/ecs/ops/{operation}`
/// wrapped in a list.
fn as_list(operation: Option<&str>, value: Value) -> Value {
    match operation {
        Some(operation) => list::single(operation, value),
        None => value,
    }
}

/// A post's body, parsed and validated once: the operations list as text and as values.
pub(super) struct Checked {
    text: String,
    operations: list::Operations,
}

/// Why a post was not accepted: the audit outcome, the reason logged, the refusal.
pub(super) struct Rejected {
    outcome: &'static str,
    reason: Option<String>,
    refusal: Refusal,
}

impl Rejected {
    fn invalid(refusal: Refusal) -> Box<Rejected> {
        Box::new(Rejected { outcome: "invalid", reason: None, refusal })
    }
}

/// Parses a post's body, authorizes the accounts it names, then validates it (CPU-bound for a
/// large body: run off the async runtime). Authorizing first means validation never tells a
/// caller about accounts it may not write (that an account exists, its regions, the others).
pub(super) fn check_body(
    config: &Config,
    identity: &Identity,
    operation: Option<&str>,
    body: &[u8],
) -> std::result::Result<Checked, Box<Rejected>> {
    let value = parse_body(body)
        .map_err(|e| Rejected::invalid(Refusal::new(StatusCode::BAD_REQUEST, "the request body is not valid JSON", vec![e])))?;
    let value = as_list(operation, value);
    let named = crate::core::operation::named_accounts(&value);
    if !identity.principal.admin
        && let Some(account) = denied(config, identity, &named, Authorization::Write)
    {
        let reason = Some(format!("no WRITE on {account}"));
        return Err(Box::new(Rejected { outcome: "denied", reason, refusal: Refusal::access_denied(account, identity) }));
    }
    let text = value.to_string();
    match list::parse(config, value) {
        Ok(operations) => Ok(Checked { text, operations }),
        Err(Error::Invalid(errors)) => Err(Rejected::invalid(Refusal::invalid(errors))),
        Err(e) => Err(Rejected::invalid(Refusal::new(StatusCode::BAD_REQUEST, e.to_string(), Vec::new()))),
    }
}

/// [`check_body`] on a blocking thread: an 8 MiB body of thousands of operations takes a while
/// to check, and the runtime serves every other request meanwhile.
pub(super) async fn check_in_background(
    config: Arc<Config>,
    identity: Identity,
    operation: Option<String>,
    body: Bytes,
) -> std::result::Result<std::result::Result<Checked, Box<Rejected>>, tokio::task::JoinError> {
    tokio::task::spawn_blocking(move || check_body(&config, &identity, operation.as_deref(), &body)).await
}

/// Audits a post's outcome and says what became of it.
fn decided(app: &App, post: &mut Audited, outcome: &'static str, submission: Submission) -> Submission {
    let status = match &submission {
        Submission::Accepted { .. } => StatusCode::OK,
        Submission::Refused(r) => r.status,
    };
    post.event.outcome = outcome;
    post.event.status = status.as_u16();
    app.audit.record(std::mem::take(&mut post.event));
    submission
}

/// Handles an operations post: a repeated `clientRequestId` gets its task at once; otherwise the
/// body is parsed, authorized and validated once, checked against every account and artifact
/// account it touches and the principal's share, its artifacts downloaded and checked, and it is
/// stored as a queued task that a worker runs in the background. Audited whatever happens.
pub(super) async fn submit(app: &Arc<App>, mut post: Audited, operation: Option<String>, body: Bytes, query: Option<&str>) -> Submission {
    let client_request_id = match client_request_id(query) {
        Ok(id) => id,
        Err(error) => return decided(app, &mut post, "invalid", Submission::Refused(Refusal::invalid(vec![error]))),
    };
    if let Some(id) = &client_request_id
        && let Some((outcome, submission)) = repeated(app, &mut post, id, operation.as_deref(), &body).await
    {
        return decided(app, &mut post, outcome, submission);
    }
    let checked = match check_in_background(app.config.clone(), post.identity.clone(), operation, body).await {
        Ok(Ok(checked)) => checked,
        Ok(Err(rejected)) => {
            post.event.reason = rejected.reason;
            return decided(app, &mut post, rejected.outcome, Submission::Refused(rejected.refusal));
        }
        Err(e) => {
            error!("checking a post: {e}");
            let refusal = Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "the post could not be checked", Vec::new());
            return decided(app, &mut post, "failed", Submission::Refused(refusal));
        }
    };
    let Checked { text, mut operations } = checked;
    post.event.accounts = operations.accounts();
    post.event.operations = operations.names().into_iter().map(str::to_string).collect();
    post.event.forced = operations.forced().into_iter().map(str::to_string).collect();
    if let Some((outcome, refusal)) = refused_to(app, &mut post, &operations).await {
        return decided(app, &mut post, outcome, Submission::Refused(refusal));
    }
    if operations.has_downloads()
        && let Err(refusal) = download_artifacts(&mut operations).await
    {
        return decided(app, &mut post, "invalid", Submission::Refused(refusal));
    }
    let (outcome, submission) = store(app, &mut post, &text, operations.accounts(), client_request_id.as_deref()).await;
    decided(app, &mut post, outcome, submission)
}

/// Why the caller may not post `operations`, if it may not: WRITE on every account, use of every
/// artifact account, its principal's share of queued and running tasks.
async fn refused_to(app: &App, post: &mut Audited, operations: &list::Operations) -> Option<(&'static str, Refusal)> {
    let accounts = operations.accounts();
    if let Some(account) = denied(&app.config, &post.identity, &accounts, Authorization::Write) {
        post.event.reason = Some(format!("no WRITE on {account}"));
        return Some(("denied", Refusal::access_denied(account, &post.identity)));
    }
    if let Some(account) = operations.artifact_accounts().iter().find(|a| !may_use_artifact(&app.config, &post.identity, a)) {
        post.event.reason = Some(format!("may not use artifact account {}", account.name));
        let message = format!("Access denied to artifact account {}", account.name);
        let errors = vec![FieldError::new("artifactAccount", "authorization.artifactAccount", message.clone())];
        return Some(("denied", Refusal::new(StatusCode::FORBIDDEN, message, errors)));
    }
    let principal = &post.identity.principal.name;
    match app.store.active_of(principal).await {
        Ok(active) if active >= app.max_queued_per_principal => {
            let message = format!(
                "{principal} has {active} tasks queued or running, the most one principal may (--max-queued-per-principal); \
                 nothing was started: post again when some have finished, or cancel some (PUT /task/{{id}}/cancel)"
            );
            post.event.reason = Some(message.clone());
            Some(("refused", Refusal::new(StatusCode::TOO_MANY_REQUESTS, message, Vec::new())))
        }
        Ok(_) => None,
        Err(e) => {
            error!("counting the tasks of {principal}: {e}");
            None
        }
    }
}

/// Stores the checked post as a queued task (or finds the one its `clientRequestId` names).
async fn store(
    app: &App,
    post: &mut Audited,
    text: &str,
    accounts: Vec<String>,
    client_request_id: Option<&str>,
) -> (&'static str, Submission) {
    let id = uuid::Uuid::new_v4().to_string();
    let created = now_ms();
    let mut task = Task::new();
    task.id = Some(id.clone());
    task.start_time_ms = Some(created as u64);
    task.owner_id = Some(post.identity.owner().to_string());
    task.principal = Some(post.identity.principal.name.clone());
    task.accounts = accounts;
    let (id, outcome) = match app.store.insert(&id, created, text, &task, client_request_id).await {
        Ok(Inserted::New) => {
            app.wake.notify_one();
            (id, "accepted")
        }
        Ok(Inserted::Existing { id, same_body: true }) => {
            info!("task {id}: posted again with the same clientRequestId; nothing new started");
            (id, "repeated")
        }
        Ok(Inserted::Existing { id, same_body: false }) => {
            post.event.task_id = Some(id.clone());
            return ("conflict", Submission::Refused(Refusal::reused(client_request_id.unwrap_or_default(), &id)));
        }
        Err(e) => {
            error!("{e}");
            return ("failed", Submission::Refused(Refusal::store_unavailable()));
        }
    };
    post.event.task_id = Some(id.clone());
    (outcome, Submission::Accepted { id })
}

/// What a post whose `clientRequestId` is stored already (an Orca retry, maybe on another
/// replica) gets, looked up before anything else — no validation, no download: its task when
/// the body is the same and the caller may see it, 409 for another body, 403 for someone else's.
/// None when the id is new.
async fn repeated(
    app: &Arc<App>,
    post: &mut Audited,
    client_request_id: &str,
    operation: Option<&str>,
    body: &Bytes,
) -> Option<(&'static str, Submission)> {
    let (id, stored_hash) = match app.store.find_client_request(client_request_id).await {
        Ok(found) => found?,
        Err(e) => {
            error!("{e}");
            return Some(("failed", Submission::Refused(Refusal::store_unavailable())));
        }
    };
    let (operation, bytes) = (operation.map(str::to_string), body.clone());
    let canonical = tokio::task::spawn_blocking(move || {
        parse_body(&bytes).ok().map(|value| sha256_hex(as_list(operation.as_deref(), value).to_string().as_bytes()))
    })
    .await
    .ok()
    .flatten();
    post.event.task_id = Some(id.clone());
    let task = app.store.get(&id).await.ok().flatten();
    if !task.as_ref().is_some_and(|t| may_see(&app.config, &post.identity, t)) {
        post.event.reason = Some("a clientRequestId of a task the caller may not see".into());
        let message = format!("clientRequestId {client_request_id} belongs to a task you may not see; nothing was started");
        return Some(("denied", Submission::Refused(Refusal::new(StatusCode::FORBIDDEN, message, Vec::new()))));
    }
    if canonical.is_none() || canonical != stored_hash {
        return Some(("conflict", Submission::Refused(Refusal::reused(client_request_id, &id))));
    }
    info!("task {id}: posted again with the same clientRequestId; nothing new started");
    Some(("repeated", Submission::Accepted { id }))
}

/// Downloads and checks the deploys' artifacts of an accepted-to-be post: a missing object, a
/// refusal or a bad body is a 400 and nothing starts; an unreachable store a 502. The task reuses
/// the bytes (see [`crate::engine::artifacts`]).
async fn download_artifacts(operations: &mut list::Operations) -> std::result::Result<(), Refusal> {
    match operations.download_artifacts().await {
        Ok(()) => Ok(()),
        Err(Error::Invalid(errors)) => Err(Refusal::invalid(errors)),
        Err(e) => Err(Refusal::new(StatusCode::BAD_GATEWAY, format!("{e}; nothing was started"), Vec::new())),
    }
}

/// The operations `serve` runs, as Clouddriver's `GET /features/stages` lists stage features
/// (Orca plans every deploy stage with it). No `upsertEntityTags`: entity tags are not served.
pub(super) async fn features_stages() -> Response {
    let stages: Vec<Value> = crate::core::operation::Operation::ALL.iter().map(|o| json!({"name": o.name(), "enabled": true})).collect();
    axum::Json(stages).into_response()
}

/// `POST /cache/{provider}/{type}` (Orca's force-cache-refresh after every deploy): ecs-deployer
/// reads AWS live, so there is nothing to refresh — 200 with Clouddriver's empty answer, which
/// lets Orca go on at once (a 202 would make it poll). The account named must be readable; its
/// views are read afresh next time (Decisions D7).
pub(super) async fn post_cache(
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
        super::views::changed(&app, account).await;
    }
    post.answer(&app, "accepted", axum::Json(json!({"cachedIdentifiersByType": {}})).into_response())
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
            crate::core::sync::lock(&order).push("checked");
        };
        let other = async {
            tokio::task::yield_now().await;
            crate::core::sync::lock(&order).push("other work");
        };
        tokio::join!(check, other);
        assert_eq!(*crate::core::sync::lock(&order), ["other work", "checked"]);
    }
}
