//! The web console for manual blue/green, served by `serve` on the read API's views and the
//! operations engine it already runs — no second backend. Server-rendered HTML (maud escapes
//! every interpolated string, so an env value or a service event holding `<script>` is text), a
//! small stylesheet, no script: a running task's page refreshes itself. Its parts: the sessions
//! and sign-in ([`session`]), the pages ([`pages`]), their pieces ([`widgets`]) and the actions
//! with their confirmations ([`actions`]); here, the routes and what every page shares — the
//! chrome, the security headers (a strict Content-Security-Policy, `X-Frame-Options: DENY`,
//! `Referrer-Policy: same-origin`) and the audited refusal. Pages read the typed views' fields.

mod actions;
mod pages;
mod session;
mod traffic;
mod widgets;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};

use super::{App, Audited};
use crate::core::access::{Authorization, Identity};

pub(super) use session::{Sessions, session_digest};

/// Whether a path is the console's (unauthenticated requests to it are sent to the sign-in page).
pub(super) fn is_console(path: &str) -> bool {
    path == "/" || path == "/console" || path.starts_with("/console/")
}

/// Where an unauthenticated browser goes.
pub(super) fn to_sign_in() -> Response {
    redirect("/console/sign-in")
}

/// The console's pages behind authentication.
pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(|| async { redirect("/console") }))
        .route("/console", get(pages::home))
        .route("/console/applications/{app}", get(pages::application))
        .route("/console/server-groups/{account}/{region}/{name}", get(pages::server_group))
        .route("/console/confirm/{action}/{account}/{region}/{name}", get(actions::confirm))
        .route("/console/actions/{action}/{account}/{region}/{name}", post(actions::act))
        .route("/console/tasks/{id}", get(pages::task))
        .route("/console/traffic/{account}/{region}/{cluster}", get(traffic::show))
        .route("/console/traffic/{account}/{region}/{cluster}/{action}", post(traffic::act))
        .route("/console/sign-out", post(session::sign_out))
}

/// The pages anyone may load: the sign-in form and the stylesheet.
pub(super) fn open_routes() -> Router<Arc<App>> {
    Router::new()
        .route("/console/sign-in", get(session::sign_in_form).post(session::sign_in))
        .route("/console/style.css", get(|| async { with_headers(([(header::CONTENT_TYPE, "text/css")], STYLE).into_response()) }))
}

const STYLE: &str = include_str!("console.css");

/// Every console answer's security headers.
fn with_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, name: &'static str, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, "x-frame-options", "DENY");
    // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on a form post,
    // which the guard refuses as cross-origin.
    set(h, "referrer-policy", "same-origin");
    set(h, "x-content-type-options", "nosniff");
    set(h, "cache-control", "no-store");
    response
}

fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    with_headers(response)
}

fn page(title: &str, csrf: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — ecs-deployer" }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                header {
                    a.brand href="/console" { "ecs-deployer" }
                    @if let Some(csrf) = csrf {
                        form.signout method="post" action="/console/sign-out" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A console page answer: the markup with the security headers, and the session cookie when
/// one was made for this request.
fn answer(status: StatusCode, markup: Markup, cookie: Option<String>) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string()).into_response();
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    with_headers(response)
}

/// A page refusing what the caller may not see or do, audited as a denial.
fn denied_page(
    app: &App,
    identity: Identity,
    peer: Option<std::net::SocketAddr>,
    path: &str,
    what: (Vec<String>, Option<String>),
    csrf: &str,
    cookie: Option<String>,
) -> Response {
    let (accounts, task_id) = what;
    let message = match (&task_id, accounts.first()) {
        (Some(id), _) => format!("Access denied to task {id}"),
        (None, Some(account)) => format!("Access denied to account {account}"),
        (None, None) => "Access denied".to_string(),
    };
    let mut audited = Audited::new(identity, &Method::GET, path, peer);
    audited.event.accounts = accounts;
    audited.event.task_id = task_id;
    audited.event.reason = Some(message.clone());
    audited.answer(app, "denied", error_page(StatusCode::FORBIDDEN, "Access denied", csrf, cookie, message))
}

/// A page that only says why nothing is shown or done.
fn error_page(status: StatusCode, title: &str, csrf: &str, cookie: Option<String>, message: impl maud::Render) -> Response {
    answer(status, page(title, Some(csrf), html! { p.error { (message) } }), cookie)
}

/// A path segment or query value: everything but RFC 3986's unreserved characters encoded.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Submits a console form's operations (its one-time `token` as the `clientRequestId`): to the
/// task's page when accepted, else the refusal with its details.
async fn post_form(app: &Arc<App>, post: crate::serve::Audited, ops: &serde_json::Value, token: &str, csrf: &str) -> Response {
    use crate::serve::ops::{Submission, submit};
    let query = format!("clientRequestId=console-{token}");
    match submit(app, post, None, axum::body::Bytes::from(ops.to_string()), Some(&query)).await {
        Submission::Accepted { id } => redirect(&format!("/console/tasks/{}", encode(&id))),
        Submission::Refused(refusal) => {
            let details: Vec<&str> = refusal.errors.iter().map(|e| e.message.as_str()).collect();
            let markup = page("Not done", Some(csrf), html! { p.error { (refusal.message) } ul { @for d in &details { li { (d) } } } });
            answer(refusal.status, markup, None)
        }
    }
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

fn may_write(app: &App, identity: &Identity, account: &str) -> bool {
    super::denied(&app.config, identity, &[account.to_string()], Authorization::Write).is_none()
}
