//! The task endpoints: `GET /task/{id}`, `GET /task` (filtered in the store's query) and
//! `PUT /task/{id}/cancel`.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tracing::error;

use super::App;
use super::access::*;
use super::http::*;
use super::store::{self};
use crate::core::access::Identity;
use crate::engine::operations::list::Task;

pub(super) async fn get_task(
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

/// `PUT /task/{id}/cancel` (Clouddriver has none; Orca cancels pipelines with a PUT of the same
/// shape): a queued task ends at once and never runs; a running one stops at its next step —
/// the AWS call in flight finishes, what it created is undone as on any failure, and its report
/// says what exists. Answers the task.
pub(super) async fn cancel_task(
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
            if let Some(running) = crate::core::sync::lock(&app.running).get(&id) {
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

pub(super) async fn list_tasks(State(app): State<Arc<App>>, Extension(identity): Extension<Identity>) -> Response {
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
