//! Clouddriver's artifact endpoints (`ArtifactController`): `PUT /artifacts/fetch` (Orca fetches
//! a task-definition artifact through it to evaluate SpEL over it; the answer is the raw bytes),
//! `GET /artifacts/credentials` (Deck lists artifact accounts: name, types and credentials type,
//! never a secret) and `GET /artifacts/account/{name}/names|versions`, which the artifact types
//! ecs-deployer serves do not support in Clouddriver either (501 with its message; 404 for an
//! account that does not exist). An artifact account is used only by who may use it (READ on
//! its `permissions`, or WRITE on some ECS account when it names no role): a fetch with any
//! other is a 403, the listings leave it out. Every fetch is audited.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};

use super::{App, Audited, Peer, may_use_artifact, problem};
use crate::core::access::Identity;
use crate::core::artifact::{ArtifactAccount, ArtifactRef, CredentialsView, Kind};
use crate::core::error::{Error, FieldError};
use crate::engine::artifacts;

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/artifacts/fetch", put(fetch))
        .route("/artifacts/fetch/", put(fetch))
        .route("/artifacts/credentials", get(credentials))
        .route("/artifacts/account/{account}/names", get(names))
        .route("/artifacts/account/{account}/versions", get(versions))
}

async fn fetch(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    body: Bytes,
) -> Response {
    let mut audited = Audited::new(identity, &Method::PUT, "/artifacts/fetch", peer);
    let artifact: ArtifactRef = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => {
            let error = FieldError::new("body", "artifact.invalid", format!("the body is not a kork Artifact (JSON): {e}"));
            return audited.answer(&app, "invalid", problem(StatusCode::BAD_REQUEST, "the request body is not an artifact", vec![error]));
        }
    };
    audited.event.reason = Some(artifact.label());
    let accounts = match app.config.artifact_accounts() {
        Ok(accounts) => accounts,
        Err(_) => return audited.answer(&app, "failed", misconfigured()),
    };
    if let Some(name) = unusable_named_account(&app, &audited.identity, &accounts, &artifact) {
        audited.event.reason = Some(format!("may not use artifact account {name}: {}", artifact.label()));
        let message = format!("Access denied to artifact account {name}");
        let errors = vec![FieldError::new("artifactAccount", "authorization.artifactAccount", message.clone())];
        return audited.answer(&app, "denied", problem(StatusCode::FORBIDDEN, &message, errors));
    }
    let usable: Vec<ArtifactAccount> = accounts.into_iter().filter(|a| may_use_artifact(&app.config, &audited.identity, a)).collect();
    match artifacts::fetch_artifact(&usable, &artifact).await {
        Ok(bytes) => audited.answer(&app, "fetched", ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()),
        Err(e) => {
            let (status, outcome) = match &e {
                e if artifacts::is_missing_account(e) => (StatusCode::NOT_FOUND, "invalid"),
                Error::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid"),
                Error::Failed { .. } => (StatusCode::BAD_GATEWAY, "failed"),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "failed"),
            };
            let errors = match e {
                Error::Invalid(ref errors) => errors.clone(),
                _ => Vec::new(),
            };
            audited.answer(&app, outcome, problem(status, &e.to_string(), errors))
        }
    }
}

/// The account an artifact names (with a type it handles) when the caller may not use it: a
/// 403, where an account the caller may use gets downloaded and one that does not exist a 404.
fn unusable_named_account(app: &App, identity: &Identity, accounts: &[ArtifactAccount], artifact: &ArtifactRef) -> Option<String> {
    let name = artifact.artifact_account.as_deref().filter(|n| !n.is_empty())?;
    let kind = Kind::of_type(artifact.kind.as_deref().unwrap_or_default())?;
    let account = accounts.iter().find(|a| a.name == name && a.kind == kind)?;
    (!may_use_artifact(&app.config, identity, account)).then(|| name.to_string())
}

/// The configuration's problems are the operator's to see (`accounts validate`), not a caller's.
fn misconfigured() -> Response {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the artifacts configuration is invalid; `ecs-deployer accounts validate` says why",
        Vec::new(),
    )
}

/// The artifact accounts the caller may use (never a secret, never an account it may not use).
async fn credentials(State(app): State<Arc<App>>, Extension(identity): Extension<Identity>) -> Response {
    match app.config.artifact_accounts() {
        Ok(accounts) => {
            let usable = accounts.iter().filter(|a| may_use_artifact(&app.config, &identity, a));
            axum::Json(usable.map(CredentialsView::from).collect::<Vec<_>>()).into_response()
        }
        Err(_) => misconfigured(),
    }
}

/// Clouddriver's answer for names and versions: the account must handle the type; these types
/// do not list names or versions (`ArtifactCredentials` defaults: NotImplementedException).
fn unsupported(app: &App, identity: &Identity, account: &str, query: Option<&str>, what: &str) -> Response {
    let artifact_type = super::http::query_pairs(query.unwrap_or_default().as_bytes()).remove("type").unwrap_or_default();
    let accounts = app.config.artifact_accounts().unwrap_or_default();
    let handles = accounts.iter().any(|a| {
        a.name == account && CredentialsView::from(a).types.contains(&artifact_type.as_str()) && may_use_artifact(&app.config, identity, a)
    });
    if !handles {
        let message = format!("Credentials '{account}' supporting artifact type '{artifact_type}' cannot be found");
        return problem(StatusCode::NOT_FOUND, &message, Vec::new());
    }
    let message = format!("Artifact {what} are not supported for artifact types that '{account}' account handles");
    problem(StatusCode::NOT_IMPLEMENTED, &message, Vec::new())
}

async fn names(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    unsupported(&app, &identity, &account, query.as_deref(), "names")
}

async fn versions(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    unsupported(&app, &identity, &account, query.as_deref(), "versions")
}
