//! Clouddriver's artifact endpoints (`ArtifactController`): `PUT /artifacts/fetch` (Orca fetches
//! a task-definition artifact through it to evaluate SpEL over it; the answer is the raw bytes),
//! `GET /artifacts/credentials` (Deck lists artifact accounts: name, types and credentials type,
//! never a secret) and `GET /artifacts/account/{name}/names|versions`, which the artifact types
//! ecs-deployer serves do not support in Clouddriver either (501 with its message; 404 for an
//! account that does not exist). Every fetch is audited.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};

use super::{App, Audited, Peer, problem};
use crate::core::access::Identity;
use crate::core::artifact::{ArtifactRef, CredentialsView};
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
    match artifacts::fetch_artifact(&app.config, &artifact).await {
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

async fn credentials(State(app): State<Arc<App>>) -> Response {
    match app.config.artifact_accounts() {
        Ok(accounts) => axum::Json(accounts.iter().map(CredentialsView::from).collect::<Vec<_>>()).into_response(),
        Err(problems) => {
            let errors = problems.into_iter().map(|p| FieldError::new(p.key, "artifacts.invalid", p.message)).collect();
            problem(StatusCode::INTERNAL_SERVER_ERROR, "the artifacts configuration is invalid", errors)
        }
    }
}

/// Clouddriver's answer for names and versions: the account must handle the type; these types
/// do not list names or versions (`ArtifactCredentials` defaults: NotImplementedException).
fn unsupported(app: &App, account: &str, query: Option<&str>, what: &str) -> Response {
    let artifact_type = query
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("type="))
        .map(|t| percent_encoding::percent_decode_str(t).decode_utf8_lossy().into_owned())
        .unwrap_or_default();
    let accounts = app.config.artifact_accounts().unwrap_or_default();
    let handles = accounts.iter().any(|a| a.name == account && CredentialsView::from(a).types.contains(&artifact_type.as_str()));
    if !handles {
        let message = format!("Credentials '{account}' supporting artifact type '{artifact_type}' cannot be found");
        return problem(StatusCode::NOT_FOUND, &message, Vec::new());
    }
    let message = format!("Artifact {what} are not supported for artifact types that '{account}' account handles");
    problem(StatusCode::NOT_IMPLEMENTED, &message, Vec::new())
}

async fn names(State(app): State<Arc<App>>, Path(account): Path<String>, RawQuery(query): RawQuery) -> Response {
    unsupported(&app, &account, query.as_deref(), "names")
}

async fn versions(State(app): State<Arc<App>>, Path(account): Path<String>, RawQuery(query): RawQuery) -> Response {
    unsupported(&app, &account, query.as_deref(), "versions")
}
