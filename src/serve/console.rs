//! The web console for manual blue/green, served by `serve` on the read API's views and the
//! operations engine it already runs — no second backend. Server-rendered HTML (maud escapes
//! every interpolated string, so an env value or a service event holding `<script>` is text), a
//! small stylesheet, no script: a running task's page refreshes itself. Signing in takes a
//! principal's bearer token and keeps it server-side behind an `HttpOnly`, `SameSite=Strict`
//! session cookie (`Secure` over TLS) that expires; every state-changing form carries the
//! session's CSRF token; every page is sent with a strict Content-Security-Policy,
//! `X-Frame-Options: DENY` and `Referrer-Policy: same-origin`. Actions are offered only on
//! accounts the caller may write, behind a confirmation that says what will happen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use serde_json::{Value, json};

use super::{App, Audited, Peer, audit, denied, principals};
use crate::core::access::{Authorization, Identity};

/// The session cookie's name. Its value is a signed-in session's id, or — before sign-in, and
/// on a `serve` that needs no token — a random value that only anchors the CSRF token.
pub(super) const COOKIE: &str = "ecsd_session";
/// How long a console session lasts.
const SESSION_FOR: Duration = Duration::from_secs(8 * 3600);
/// Sessions one principal may hold at once; signing in again ends its oldest.
const SESSIONS_PER_PRINCIPAL: usize = 16;
/// A bound on all sessions, whatever happens to the principals file.
const MAX_SESSIONS: usize = 10_000;

/// One signed-in browser: who signed in and the SHA-256 of the token it signed in with
/// (matched against the principals on every request, so a revoked token ends the session; the
/// token itself is never kept), and when it expires.
struct ConsoleSession {
    principal: String,
    digest: [u8; 32],
    expires: Instant,
}

/// The console's signed-in sessions, in this process, and the key its CSRF tokens are made with.
pub(super) struct Sessions {
    sessions: Mutex<HashMap<String, ConsoleSession>>,
    key: [u8; 32],
}

impl Default for Sessions {
    fn default() -> Self {
        let key = *uuid::Uuid::new_v4().as_bytes();
        let key2 = *uuid::Uuid::new_v4().as_bytes();
        let mut both = [0u8; 32];
        both[..16].copy_from_slice(&key);
        both[16..].copy_from_slice(&key2);
        Sessions { sessions: Mutex::new(HashMap::new()), key: both }
    }
}

/// A random cookie value (or session id): 256 bits as hex.
fn random_id() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

impl Sessions {
    /// A session for `principal` (signed in with the token of `digest`); only sign-in makes one.
    fn create(&self, principal: &str, digest: [u8; 32]) -> String {
        let id = random_id();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        let mut own: Vec<(String, Instant)> =
            sessions.iter().filter(|(_, s)| s.principal == principal).map(|(k, s)| (k.clone(), s.expires)).collect();
        own.sort_by_key(|(_, expires)| *expires);
        for (k, _) in own.iter().take((own.len() + 1).saturating_sub(SESSIONS_PER_PRINCIPAL)) {
            sessions.remove(k);
        }
        if sessions.len() >= MAX_SESSIONS
            && let Some(k) = sessions.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| k.clone())
        {
            sessions.remove(&k);
        }
        sessions.insert(id.clone(), ConsoleSession { principal: principal.to_string(), digest, expires: now + SESSION_FOR });
        id
    }

    /// The digest of the token the session signed in with, while it lasts.
    fn digest(&self, id: &str) -> Option<[u8; 32]> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.get(id).filter(|s| s.expires > Instant::now()).map(|s| s.digest)
    }

    /// Ends a session; the principal it was for, if it existed.
    fn remove(&self, id: &str) -> Option<String> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(id).map(|s| s.principal)
    }

    /// How many sessions are kept (for tests of the bounds).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The CSRF token of a cookie value: an HMAC of it under this process's key, so a form's
    /// token is bound to the browser's cookie and nothing is stored for a page that is only read.
    fn csrf(&self, cookie: &str) -> String {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(cookie.as_bytes());
        mac.finalize().into_bytes().iter().take(20).map(|b| format!("{b:02x}")).collect()
    }
}

/// The cookie value a request carries.
pub(super) fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(&format!("{COOKIE}=")).map(str::to_string))
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The token digest a console request's session carries (None: no signed-in session).
pub(super) fn session_digest(app: &App, headers: &HeaderMap) -> Option<[u8; 32]> {
    session_id(headers).and_then(|id| app.console.digest(&id))
}

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
        .route("/console", get(home))
        .route("/console/applications/{app}", get(application))
        .route("/console/server-groups/{account}/{region}/{name}", get(server_group))
        .route("/console/confirm/{action}/{account}/{region}/{name}", get(confirm))
        .route("/console/actions/{action}/{account}/{region}/{name}", post(act))
        .route("/console/tasks/{id}", get(task))
        .route("/console/sign-out", post(sign_out))
}

/// The pages anyone may load: the sign-in form and the stylesheet.
pub(super) fn open_routes() -> Router<Arc<App>> {
    Router::new()
        .route("/console/sign-in", get(sign_in_form).post(sign_in))
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

fn cookie_for(app: &App, id: &str) -> String {
    let secure = if app.secure_cookie { "; Secure" } else { "" };
    format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}", SESSION_FOR.as_secs())
}

/// The request's CSRF token, from its cookie; a request without one gets a new random cookie
/// (nothing is stored: the token is the cookie's HMAC).
fn csrf_of(app: &App, headers: &HeaderMap) -> (String, Option<String>) {
    match session_id(headers) {
        Some(id) => (app.console.csrf(&id), None),
        None => {
            let id = random_id();
            (app.console.csrf(&id), Some(cookie_for(app, &id)))
        }
    }
}

/// Whether a form's `csrf` field is the token of the request's cookie.
fn csrf_ok(app: &App, headers: &HeaderMap, fields: &HashMap<String, String>) -> bool {
    session_id(headers).is_some_and(|id| csrf_matches(&app.console.csrf(&id), fields.get("csrf")))
}

/// `application/x-www-form-urlencoded` pairs.
fn form(body: &[u8]) -> HashMap<String, String> {
    let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// A path segment or query value: everything but RFC 3986's unreserved characters encoded.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

async fn sign_in_form(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let (csrf, cookie) = csrf_of(&app, &headers);
    answer(StatusCode::OK, sign_in_page(&app, &csrf, None), cookie)
}

/// The sign-in form carries the token of the browser's pre-session cookie: a sign-in posted
/// from anywhere else (login CSRF) is refused.
fn sign_in_page(app: &App, csrf: &str, error: Option<&str>) -> Markup {
    let open = app.principals.get().authenticate(None).is_some();
    page(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if open {
                p { "This serve needs no token (loopback, no principals): " a href="/console" { "open the console" } "." }
            } @else {
                @if let Some(error) = error { p.error { (error) } }
                form method="post" action="/console/sign-in" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="token" { "Bearer token" }
                    input #token type="password" name="token" autocomplete="off" required;
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

async fn sign_in(State(app): State<Arc<App>>, Extension(Peer(peer)): Extension<Peer>, headers: HeaderMap, body: Bytes) -> Response {
    let mut event = super::event_of(&Method::POST, "/console/sign-in", peer);
    let mut fields = form(&body);
    let (csrf, cookie) = csrf_of(&app, &headers);
    let refuse = |mut event: audit::Event, outcome: &'static str, status: StatusCode, reason: &str, message: &str| {
        event.outcome = outcome;
        event.status = status.as_u16();
        event.reason = Some(reason.to_string());
        app.audit.record(event);
        answer(status, sign_in_page(&app, &csrf, Some(message)), cookie.clone())
    };
    if !csrf_ok(&app, &headers, &fields) {
        let message = "This sign-in form is stale or was not sent by the console; sign in again.";
        return refuse(event, "refused", StatusCode::FORBIDDEN, "missing or wrong pre-session token", message);
    }
    let token = fields.remove("token").unwrap_or_default();
    if token.len() > principals::MAX_TOKEN_BYTES {
        let message = "That token is not valid.";
        return refuse(event, "unauthenticated", StatusCode::UNAUTHORIZED, "a token longer than 4096 bytes", message);
    }
    let principals = app.principals.get();
    let digest = principals::digest_of(&token);
    match principals.authenticate_digest(&digest) {
        Some(principal) if !principals.is_open() => {
            event.principal = Some(principal.name.clone());
            event.outcome = "signed-in";
            event.status = 303;
            app.audit.record(event);
            let id = app.console.create(&principal.name, digest);
            let mut response = redirect("/console");
            if let Ok(c) = HeaderValue::from_str(&cookie_for(&app, &id)) {
                response.headers_mut().insert(header::SET_COOKIE, c);
            }
            response
        }
        _ => refuse(event, "unauthenticated", StatusCode::UNAUTHORIZED, "no principal has that token", "That token is not valid."),
    }
}

async fn sign_out(State(app): State<Arc<App>>, Extension(Peer(peer)): Extension<Peer>, headers: HeaderMap, body: Bytes) -> Response {
    let mut event = super::event_of(&Method::POST, "/console/sign-out", peer);
    event.status = 303;
    match session_id(&headers).filter(|_| csrf_ok(&app, &headers, &form(&body))) {
        Some(id) => {
            event.principal = app.console.remove(&id);
            event.outcome = "signed-out";
        }
        None => {
            event.outcome = "refused";
            event.reason = Some("missing or wrong CSRF token".into());
        }
    }
    app.audit.record(event);
    let mut response = redirect("/console/sign-in");
    let expired = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(c) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    response
}

fn csrf_matches(expected: &str, given: Option<&String>) -> bool {
    use subtle::ConstantTimeEq;
    given.is_some_and(|g| g.len() == expected.len() && bool::from(g.as_bytes().ct_eq(expected.as_bytes())))
}

fn may_write(app: &App, identity: &Identity, account: &str) -> bool {
    denied(&app.config, identity, &[account.to_string()], Authorization::Write).is_none()
}

async fn home(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(name) = query.as_deref().map(|q| form(q.as_bytes())).and_then(|mut f| f.remove("app")).filter(|a| !a.trim().is_empty()) {
        return redirect(&format!("/console/applications/{}", encode(name.trim())));
    }
    let (csrf, cookie) = csrf_of(&app, &headers);
    let accounts = super::readable_accounts(&app.config, &identity);
    let reads = futures::future::join_all(accounts.iter().map(|a| app.reader.applications(a))).await;
    let mut apps: Vec<(String, Vec<String>)> = Vec::new();
    for (account, read) in accounts.iter().zip(reads) {
        for name in read.ok().and_then(|v| v.as_array().cloned()).unwrap_or_default().iter().filter_map(|v| v.as_str().map(str::to_string))
        {
            match apps.iter_mut().find(|(a, _)| *a == name) {
                Some((_, in_accounts)) => in_accounts.push(account.clone()),
                None => apps.push((name, vec![account.clone()])),
            }
        }
    }
    apps.sort();
    let body = html! {
        h1 { "Applications" }
        form.search method="get" action="/console" {
            label for="app" { "Application" }
            input #app type="text" name="app" placeholder="orders" required;
            button type="submit" { "Show its clusters" }
        }
        @if apps.is_empty() { p.muted { "No server group in the accounts you may read." } }
        ul.apps {
            @for (name, in_accounts) in &apps {
                li { a href=(format!("/console/applications/{}", encode(name))) { (name) } " " span.muted { (in_accounts.join(", ")) } }
            }
        }
        p.muted { "Signed in as " (identity.principal.name) ". Accounts you may read: " (accounts.join(", ")) "." }
    };
    answer(StatusCode::OK, page("Applications", Some(&csrf), body), cookie)
}

/// The health bar's counts of a server group view: up, starting, down, unknown.
fn counts(sg: &Value) -> (i64, i64, i64, i64) {
    let c = &sg["instanceCounts"];
    let n = |k: &str| c[k].as_i64().unwrap_or(0);
    (n("up"), n("starting"), n("down") + n("outOfService"), n("unknown"))
}

fn health_bar(sg: &Value) -> Markup {
    let (up, starting, down, unknown) = counts(sg);
    let total = (up + starting + down + unknown).max(1);
    // Widths in 5 % steps as classes: the Content-Security-Policy allows no inline style.
    let part = |kind: &str, n: i64| format!("{kind} w{}", (n * 20 + total / 2) / total);
    html! {
        div.health title=(format!("{up} up, {starting} starting, {down} down, {unknown} unknown")) {
            @if up > 0 { span class=(part("up", up)) {} }
            @if starting > 0 { span class=(part("starting", starting)) {} }
            @if down > 0 { span class=(part("down", down)) {} }
            @if unknown > 0 { span class=(part("unknown", unknown)) {} }
        }
        span.counts { (up) " up · " (starting) " starting · " (down) " down · " (unknown) " unknown" }
    }
}

/// "3 minutes ago", with the exact time on hover.
fn created(ms: i64) -> Markup {
    let now = super::now_ms();
    let secs = ((now - ms) / 1000).max(0);
    let text = match secs {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    };
    let exact = exact_time(ms);
    html! { time datetime=(exact) title=(exact) { (text) } }
}

fn exact_time(ms: i64) -> String {
    crate::aws::rfc3339(std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

async fn application(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let (csrf, cookie) = csrf_of(&app, &headers);
    let accounts = super::readable_accounts(&app.config, &identity);
    let reads = futures::future::join_all(accounts.iter().map(|a| app.reader.groups(a, &name, None))).await;
    let mut clusters: Vec<(String, String, Vec<Value>)> = Vec::new();
    let mut problems = Vec::new();
    for (account, read) in accounts.iter().zip(reads) {
        match read {
            Ok(groups) => {
                for sg in groups.as_array().cloned().unwrap_or_default() {
                    let cluster = sg["cluster"].as_str().unwrap_or_default().to_string();
                    match clusters.iter_mut().find(|(a, c, _)| a == account && *c == cluster) {
                        Some((_, _, list)) => list.push(sg),
                        None => clusters.push((account.clone(), cluster, vec![sg])),
                    }
                }
            }
            Err(e) => problems.push(format!("{account}: {}", e.into_error())),
        }
    }
    let body = html! {
        h1 { "Application " (name) }
        @for p in &problems { p.error { (p) } }
        @if clusters.is_empty() && problems.is_empty() { p { "No server group of " (name) " in the accounts you may read." } }
        @for (account, cluster, groups) in &clusters {
            section.cluster {
                h2 { (cluster) " " span.muted { "in " (account) } }
                (cluster_table(&app, &identity, account, groups))
            }
        }
    };
    answer(StatusCode::OK, page(&name, Some(&csrf), body), cookie)
}

fn cluster_table(app: &App, identity: &Identity, account: &str, groups: &[Value]) -> Markup {
    let writable = may_write(app, identity, account);
    html! {
        table {
            thead { tr {
                th { "Server group" } th { "Region" } th { "State" } th { "Desired / running / pending" } th { "Capacity" }
                th { "Health" } th { "Target groups" } th { "Task definition" } th { "Scaling" } th { "Created" }
                @if writable { th { "Actions" } }
            } }
            tbody {
                @for sg in groups {
                    @let name = sg["name"].as_str().unwrap_or_default();
                    @let region = sg["region"].as_str().unwrap_or_default();
                    @let enabled = sg["isDisabled"] != json!(true);
                    tr class=(if enabled { "enabled" } else { "disabled" }) {
                        td { a href=(format!("/console/server-groups/{}/{}/{}", encode(account), encode(region), encode(name))) { (name) } }
                        td { (region) }
                        td {
                            span class=(if enabled { "badge on" } else { "badge off" }) { (if enabled { "enabled" } else { "disabled" }) }
                            @if let Some(mismatch) = sg["scalingMismatch"].as_str() { " " span.badge.warn title="disable or enable it again" { (mismatch) } }
                        }
                        td { @let n = &sg["taskCounts"]; (n["desired"]) " / " (n["running"]) " / " (n["pending"]) }
                        td { (sg["capacity"]["min"].as_i64().unwrap_or(0)) "–" (sg["capacity"]["max"].as_i64().unwrap_or(0)) }
                        td { (health_bar(sg)) }
                        td { @for tg in sg["targetGroupHealth"].as_array().map(Vec::as_slice).unwrap_or_default() {
                            span.tag title="healthy / registered targets" { (tg["name"].as_str().unwrap_or_default()) " " (tg["healthy"]) "/" (tg["targets"]) }
                        } }
                        td { (sg["taskDefinition"]["taskName"].as_str().unwrap_or("")) br; span.muted { (sg["image"]["imageId"].as_str().unwrap_or("")) } }
                        td { (scaling(sg)) }
                        td { (created(sg["createdTime"].as_i64().unwrap_or(0))) }
                        @if writable { td.actions { (action_links(account, region, name, enabled)) } }
                    }
                }
            }
        }
    }
}

/// The scaling a server group carries: its scalable target's range and its policies' alarms.
fn scaling(sg: &Value) -> Markup {
    let alarms: Vec<&str> = sg["metricAlarms"].as_array().map(Vec::as_slice).unwrap_or_default().iter().filter_map(Value::as_str).collect();
    html! {
        @if alarms.is_empty() { span.muted { "no alarms" } }
        @else { span title=(alarms.join(", ")) { (alarms.len()) " alarm" @if alarms.len() > 1 { "s" } } }
    }
}

fn action_links(account: &str, region: &str, name: &str, enabled: bool) -> Markup {
    let href = |action: &str| format!("/console/confirm/{action}/{}/{}/{}", encode(account), encode(region), encode(name));
    html! {
        @if enabled { a href=(href("disable")) { "Disable" } } @else { a href=(href("enable")) { "Enable" } " " a href=(href("rollback")) { "Roll back to this" } }
        " " a href=(href("resize")) { "Resize" }
        " " a href=(href("redeploy")) { "Deploy new version" }
        " " a href=(href("destroy")) { "Destroy" }
    }
}

async fn server_group(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    Path((account, region, name)): Path<(String, String, String)>,
) -> Response {
    let (csrf, cookie) = csrf_of(&app, &headers);
    if denied(&app.config, &identity, std::slice::from_ref(&account), Authorization::Read).is_some() {
        let path = format!("/console/server-groups/{account}/{region}/{name}");
        return denied_page(&app, identity, peer, &path, (vec![account], None), &csrf, cookie);
    }
    let sg = match app.reader.server_group(&account, &region, &name).await {
        Ok(sg) => sg,
        Err(e) => return error_page(StatusCode::NOT_FOUND, &name, &csrf, cookie, e.into_error().to_string()),
    };
    let history = history_of(&app, &identity, &name).await;
    let enabled = sg["isDisabled"] != json!(true);
    let body = html! {
        h1 {
            (name) " " span class=(if enabled { "badge on" } else { "badge off" }) { (if enabled { "enabled" } else { "disabled" }) }
            @if let Some(mismatch) = sg["scalingMismatch"].as_str() { " " span.badge.warn title="disable or enable it again" { (mismatch) } }
        }
        p.muted { (account) " · " (region) " · ECS cluster " (sg["ecsCluster"].as_str().unwrap_or_default()) " · created " (created(sg["createdTime"].as_i64().unwrap_or(0))) }
        (health_bar(&sg))
        @if may_write(&app, &identity, &account) { p.actions { (action_links(&account, &region, &name, enabled)) } }
        h2 { "Tasks" }
        table {
            thead { tr { th { "Task" } th { "Health" } th { "Checks" } th { "Status" } th { "Zone" } } }
            tbody {
                @for i in sg["instances"].as_array().map(Vec::as_slice).unwrap_or_default() {
                    tr {
                        td { (i["name"].as_str().unwrap_or_default()) }
                        td { span class=(format!("state {}", i["healthState"].as_str().unwrap_or("Unknown").to_lowercase())) { (i["healthState"].as_str().unwrap_or("Unknown")) } }
                        td { @for h in i["health"].as_array().map(Vec::as_slice).unwrap_or_default() {
                            span.tag { (h["type"].as_str().unwrap_or_default()) ": " (h["state"].as_str().unwrap_or_default()) }
                        } }
                        td { (i["lastStatus"].as_str().unwrap_or_default()) @if let Some(r) = i["stoppedReason"].as_str() { br; span.muted { (r) } } }
                        td { (i["availabilityZone"].as_str().unwrap_or_default()) }
                    }
                }
            }
        }
        h2 { "Task definition " span.muted { (sg["taskDefinition"]["taskName"].as_str().unwrap_or_default()) } }
        @for container in sg["containers"].as_array().map(Vec::as_slice).unwrap_or_default() {
            dl {
                dt { "Container" } dd { strong { (container["name"].as_str().unwrap_or_default()) } }
                dt { "Image" } dd { (container["image"].as_str().unwrap_or_default()) }
                dt { "Ports" } dd { @for p in container["ports"].as_array().map(Vec::as_slice).unwrap_or_default() { span.tag { (p) } } }
                dt { "Environment" } dd { @for e in container["environment"].as_array().map(Vec::as_slice).unwrap_or_default() {
                    code { (e["name"].as_str().unwrap_or_default()) "=" (e["value"].as_str().unwrap_or_default()) } " "
                } }
                dt { "Secrets" } dd { @for s in container["secretNames"].as_array().map(Vec::as_slice).unwrap_or_default() {
                    code { (s.as_str().unwrap_or_default()) } " "
                } }
            }
        }
        h2 { "Latest ECS service events" }
        ul.events { @for e in sg["serviceEvents"].as_array().map(Vec::as_slice).unwrap_or_default() {
            li { (created(e["createdAt"].as_i64().map(|s| s * 1000).unwrap_or(0))) " " (e["message"].as_str().unwrap_or_default()) }
        } }
        h2 { "Scaling alarms" }
        ul { @for a in sg["metricAlarms"].as_array().map(Vec::as_slice).unwrap_or_default() { li { (a.as_str().unwrap_or_default()) } } }
        h2 { "Operations run through serve" }
        (history)
    };
    answer(StatusCode::OK, page(&name, Some(&csrf), body), cookie)
}

/// The tasks run through `serve` on a server group (newest first), that the caller may see.
async fn history_of(app: &App, identity: &Identity, name: &str) -> Markup {
    let needle = format!("\"{name}\"");
    let tasks = app.store.list(&super::visible_to(&app.config, identity, Some(&needle)), 100).await.unwrap_or_default();
    let mine: Vec<_> = tasks
        .into_iter()
        .filter(|t| super::may_see(&app.config, identity, t))
        .filter(|t| serde_json::to_string(t).is_ok_and(|s| s.contains(&needle)))
        .take(20)
        .collect();
    html! {
        @if mine.is_empty() { p.muted { "None yet." } }
        ul {
            @for t in &mine {
                li {
                    a href=(format!("/console/tasks/{}", t.id.as_deref().unwrap_or_default())) { (t.status.status) }
                    " — " (t.principal.as_deref().unwrap_or_default()) " — " (created(t.start_time_ms.unwrap_or(0) as i64))
                }
            }
        }
    }
}

/// The createServerGroup description (as posted to `serve`) of the task that created `name`.
async fn creating_description(app: &App, identity: &Identity, account: &str, region: &str, name: &str) -> Option<Value> {
    let qualified = format!("{region}:{name}");
    let filter = super::visible_to(&app.config, identity, Some(&format!("\"{qualified}\"")));
    let tasks = app.store.list(&filter, 100).await.ok()?;
    let created =
        |r: &Value| r["account"] == json!(account) && r["serverGroupNames"].as_array().is_some_and(|n| n.contains(&json!(qualified)));
    let task = tasks
        .into_iter()
        .filter(|t| super::may_see(&app.config, identity, t) && !t.status.failed)
        .find(|t| t.result_objects.iter().any(created))?;
    let text = app.store.operations(task.id.as_deref()?).await.ok()??;
    let ops: Value = serde_json::from_str(&text).ok()?;
    let described_here = |d: &Value| {
        let named = d.get("credentials").or_else(|| d.get("account")).and_then(Value::as_str) == Some(account);
        named && d.get("availabilityZones").and_then(Value::as_object).is_some_and(|z| z.contains_key(region))
    };
    ops.as_array()?.iter().filter_map(|op| op.get("createServerGroup")).find(|d| described_here(d)).cloned()
}

/// The images a new version may replace: the artifact's mapped containers, or the one image of inputs mode.
fn image_fields(description: &Value, sg: &Value) -> Vec<(String, String)> {
    if description["useTaskDefinitionArtifact"] == json!(true) {
        let current: HashMap<String, String> = sg["containers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| Some((c["name"].as_str()?.to_string(), c["image"].as_str()?.to_string())))
            .collect();
        let mapped: Vec<String> = description["containerToImageMap"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        return mapped
            .into_iter()
            .map(|container| {
                let image = current.get(&container).cloned().unwrap_or_default();
                (container, image)
            })
            .collect();
    }
    vec![("image".into(), sg["image"]["imageId"].as_str().unwrap_or_default().to_string())]
}

/// What an action does, said in the confirmation.
fn describe(action: &str, name: &str, others: &[String]) -> Option<String> {
    let serving = if others.is_empty() {
        "no other server group of its cluster is enabled".to_string()
    } else {
        format!("{} keeps serving", others.join(", "))
    };
    Some(match action {
        "disable" => {
            format!("disable {name}: suspend its scaling, deregister it from its target groups and set its desired count to 0; {serving}")
        }
        "enable" => format!("enable {name}: restore its desired count and scaling and register it with its target groups"),
        "resize" => format!("resize {name} to the capacity below"),
        "redeploy" => format!(
            "deploy a new version of {name}'s cluster from {name}'s description and task definition, with the images below; {name} keeps serving until you disable it"
        ),
        "rollback" => match others.first() {
            Some(current) => format!("roll back to {name}: enable it, wait until it is healthy, then disable {current}"),
            None => return None,
        },
        "destroy" => format!("destroy {name}: delete its service, scalable target, scaling policies and alarms; this cannot be undone"),
        _ => return None,
    })
}

/// Why taking `name` away leaves nothing (healthy) serving, if it does: the second
/// confirmation's reason. Err when that cannot be checked — a check that cannot be made refuses.
async fn leaves_nothing_serving(app: &App, account: &str, region: &str, name: &str) -> Result<Option<String>, String> {
    let sg = app.reader.server_group(account, region, name).await.map_err(|e| e.into_error().to_string())?;
    if sg["isDisabled"] == json!(true) {
        return Ok(None);
    }
    let (others, healthy) = enabled_peers(app, account, &sg).await?;
    Ok(if others.is_empty() {
        Some(format!("{name} is the cluster's only enabled server group"))
    } else if !healthy && counts(&sg).0 > 0 {
        Some(format!("{name} is the only server group of its cluster with healthy tasks"))
    } else {
        None
    })
}

/// Whether an action takes a server group out of service: a disable, a destroy, a resize to
/// desired 0 (what needs the second confirmation when nothing else serves).
fn takes_out_of_service(action: &str, fields: &HashMap<String, String>) -> bool {
    match action {
        "disable" | "destroy" => true,
        "resize" => fields.get("desired").and_then(|d| d.trim().parse::<i64>().ok()) == Some(0),
        _ => false,
    }
}

/// The other enabled server groups of a server group's cluster — same account, region and ECS
/// cluster — and whether any has a task up; Err when they cannot be read.
async fn enabled_peers(app: &App, account: &str, sg: &Value) -> Result<(Vec<String>, bool), String> {
    let peers = enabled_peer_views(app, account, sg).await?;
    let healthy = peers.iter().any(|g| counts(g).0 > 0);
    Ok((peers.iter().filter_map(|g| g["name"].as_str().map(str::to_string)).collect(), healthy))
}

/// The peers' views, newest first.
async fn enabled_peer_views(app: &App, account: &str, sg: &Value) -> Result<Vec<Value>, String> {
    let (Some(app_name), Some(cluster)) = (sg["moniker"]["app"].as_str(), sg["cluster"].as_str()) else {
        return Err(format!("{} has no moniker, so its cluster is not known", sg["name"]));
    };
    let groups = app.reader.groups(account, app_name, Some(cluster)).await.map_err(|e| e.into_error().to_string())?;
    let same_place = |g: &Value| g["region"] == sg["region"] && g["ecsCluster"] == sg["ecsCluster"];
    Ok(groups
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|g| g["name"] != sg["name"] && g["isDisabled"] != json!(true) && same_place(g))
        .cloned()
        .collect())
}

async fn confirm(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    Path((action, account, region, name)): Path<(String, String, String, String)>,
) -> Response {
    let (csrf, cookie) = csrf_of(&app, &headers);
    if !may_write(&app, &identity, &account) {
        let path = format!("/console/confirm/{action}/{account}/{region}/{name}");
        return denied_page(&app, identity, peer, &path, (vec![account], None), &csrf, cookie);
    }
    let sg = match app.reader.server_group(&account, &region, &name).await {
        Ok(sg) => sg,
        Err(e) => return error_page(StatusCode::NOT_FOUND, &name, &csrf, cookie, e.into_error().to_string()),
    };
    let (peers, unchecked) = match enabled_peers(&app, &account, &sg).await {
        Ok(peers) => (peers, None),
        Err(e) => ((Vec::new(), false), Some(e)),
    };
    let (others, others_healthy) = peers;
    let Some(what) = describe(&action, &name, &others).filter(|_| unchecked.is_none() || action != "rollback") else {
        let message = match action.as_str() {
            "rollback" => format!("{name} has no enabled server group beside it to roll back from"),
            _ => format!("No such action: {action}"),
        };
        return error_page(StatusCode::NOT_FOUND, "Not possible", &csrf, cookie, message);
    };
    let images = match action.as_str() {
        "redeploy" => match creating_description(&app, &identity, &account, &region, &name).await {
            Some(d) => image_fields(&d, &sg),
            None => {
                let message = format!(
                    "{name} was not deployed through this serve, so its description is not known here; deploy the new version with `ecs-deployer deploy` or a pipeline"
                );
                return error_page(StatusCode::NOT_FOUND, "Not possible", &csrf, cookie, message);
            }
        },
        _ => Vec::new(),
    };
    let takes_away = matches!(action.as_str(), "disable" | "destroy" | "resize") && sg["isDisabled"] != json!(true);
    let leaves_none = takes_away && unchecked.is_none() && others.is_empty();
    let only_healthy = takes_away && unchecked.is_none() && !others.is_empty() && !others_healthy && counts(&sg).0 > 0;
    // A resize leaves nothing serving only at desired 0: its acknowledgement is asked for, not required.
    let required = action != "resize";
    let target = format!("/console/actions/{}/{}/{}/{}", encode(&action), encode(&account), encode(&region), encode(&name));
    let body = html! {
        h1 { "Confirm" }
        p.confirm { (what) "." }
        form method="post" action=(target) {
            input type="hidden" name="csrf" value=(csrf);
            // One-time: the same form posted twice (a double click) is one task.
            input type="hidden" name="form" value=(random_id());
            @if action == "rollback" { input type="hidden" name="current" value=(others.first().cloned().unwrap_or_default()); }
            @if action == "redeploy" {
                @for (field, image) in &images {
                    label { "Image of " code { (field) } " " input type="text" name=(format!("image.{field}")) value=(image) required; }
                }
            }
            @if action == "resize" {
                @let c = &sg["capacity"];
                label { "Min " input type="number" name="min" min="0" value=(c["min"].as_i64().unwrap_or(0)); }
                label { "Max " input type="number" name="max" min="0" value=(c["max"].as_i64().unwrap_or(0)); }
                label { "Desired " input type="number" name="desired" min="0" value=(c["desired"].as_i64().unwrap_or(0)); }
            }
            @if action == "destroy" {
                label { "Type " code { (name) } " to confirm " input type="text" name="confirmName" autocomplete="off" required; }
            }
            @if let (true, Some(why)) = (takes_away, &unchecked) {
                p.warning { "Could not check what keeps serving (" (why) "): this may leave nothing serving." }
                label { input type="checkbox" name="acknowledge" value="yes" required[required]; " I understand that nothing may serve" }
            }
            @if leaves_none {
                p.warning {
                    @if action == "resize" { "At desired 0 this leaves" } @else { "This leaves" }
                    " the cluster with no enabled server group: nothing will take traffic."
                }
                label { input type="checkbox" name="acknowledge" value="yes" required[required]; " I understand that nothing will serve" }
            }
            @if only_healthy {
                p.warning { (name) " is the only server group of its cluster with healthy tasks: " (others.join(", ")) " has none up." }
                label { input type="checkbox" name="acknowledge" value="yes" required[required]; " I understand that nothing healthy will serve" }
            }
            button type="submit" { "Yes, " (action) " " (name) }
            " " a href=(format!("/console/server-groups/{}/{}/{}", encode(&account), encode(&region), encode(&name))) { "Cancel" }
        }
    };
    answer(StatusCode::OK, page("Confirm", Some(&csrf), body), cookie)
}

/// The Clouddriver operation an action posts.
fn operation(action: &str, account: &str, region: &str, name: &str, fields: &HashMap<String, String>) -> Result<Value, String> {
    let base = json!({"serverGroupName": name, "region": region, "credentials": account, "account": account, "cloudProvider": "ecs"});
    let (op, mut description) = match action {
        "disable" => ("disableServerGroup", base),
        "enable" => ("enableServerGroup", base),
        "destroy" => {
            if fields.get("confirmName").map(|n| n.trim()) != Some(name) {
                return Err(format!("type the server group's name ({name}) to destroy it"));
            }
            ("destroyServerGroup", base)
        }
        "resize" => {
            let number =
                |k: &str| fields.get(k).and_then(|v| v.trim().parse::<i64>().ok()).ok_or_else(|| format!("{k} must be a whole number"));
            let mut d = base;
            d["capacity"] = json!({"min": number("min")?, "max": number("max")?, "desired": number("desired")?});
            ("resizeServerGroup", d)
        }
        other => return Err(format!("no such action: {other}")),
    };
    description["asgName"] = json!(name);
    Ok(json!([{ op: description }]))
}

async fn act(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    Path((action, account, region, name)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Response {
    let fields = form(&body);
    let path = format!("/console/actions/{action}/{account}/{region}/{name}");
    let mut post = Audited::new(identity, &Method::POST, &path, peer);
    if !csrf_ok(&app, &headers, &fields) {
        post.event.reason = Some("missing or wrong CSRF token".into());
        let markup = page(
            "Refused",
            None,
            html! { p.error { "This form is stale or was not sent by the console (missing CSRF token). Nothing was changed." } },
        );
        return post.answer(&app, "refused", answer(StatusCode::FORBIDDEN, markup, None));
    }
    let (csrf, _) = csrf_of(&app, &headers);
    let not_done = |message: String| page("Not done", Some(&csrf), html! { p.error { (message) " Nothing was changed." } });
    if takes_out_of_service(&action, &fields) && fields.get("acknowledge").map(String::as_str) != Some("yes") {
        let refusal = match leaves_nothing_serving(&app, &account, &region, &name).await {
            Ok(None) => None,
            Ok(Some(why)) => Some(format!("{why}; confirm that explicitly on the confirmation page.")),
            Err(e) => Some(format!("Could not check what keeps serving ({e}); confirm explicitly on the confirmation page.")),
        };
        if let Some(message) = refusal {
            post.event.reason = Some(message.clone());
            return post.answer(&app, "invalid", answer(StatusCode::BAD_REQUEST, not_done(message), None));
        }
    }
    let Some(form_id) = fields.get("form").filter(|f| f.len() == 64 && f.bytes().all(|b| b.is_ascii_hexdigit())) else {
        let message = "This form is stale (it has no one-time token); open the confirmation page again.".to_string();
        return post.answer(&app, "invalid", answer(StatusCode::BAD_REQUEST, not_done(message), None));
    };
    let ops = match action.as_str() {
        "redeploy" => redeploy(&app, &post.identity, &account, &region, &name, &fields).await,
        "rollback" => rollback_from_current(&app, &account, &region, &name, &fields).await,
        _ => operation(&action, &account, &region, &name, &fields),
    };
    let ops = match ops {
        Ok(ops) => ops,
        Err(message) => {
            let markup = page("Not done", Some(&csrf), html! { p.error { (message) ". Nothing was changed." } });
            return post.answer(&app, "invalid", answer(StatusCode::BAD_REQUEST, markup, None));
        }
    };
    let query = format!("clientRequestId=console-{form_id}");
    let response = super::submit(&app, post, None, Bytes::from(ops.to_string()), Some(&query)).await;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap_or_default();
    let answer_json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    match answer_json["id"].as_str() {
        Some(id) if status.is_success() => redirect(&format!("/console/tasks/{}", encode(id))),
        _ => {
            let message = answer_json["message"].as_str().unwrap_or("the operation was not accepted").to_string();
            let details: Vec<String> = answer_json["errors"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|e| e["message"].as_str().map(str::to_string))
                .collect();
            let markup = page("Not done", Some(&csrf), html! { p.error { (message) } ul { @for d in &details { li { (d) } } } });
            answer(status, markup, None)
        }
    }
}

/// The rollback onto `name`, from the server group the console finds current — the newest other
/// enabled one of its cluster in the same account, region and ECS cluster — which must be the one
/// the confirmation named (else the cluster changed meanwhile and the person confirms again).
async fn rollback_from_current(
    app: &App,
    account: &str,
    region: &str,
    name: &str,
    fields: &HashMap<String, String>,
) -> Result<Value, String> {
    let sg = app.reader.server_group(account, region, name).await.map_err(|e| e.into_error().to_string())?;
    let peers = enabled_peer_views(app, account, &sg).await.map_err(|e| format!("could not read {name}'s cluster ({e})"))?;
    let current = peers
        .first()
        .and_then(|g| g["name"].as_str())
        .ok_or_else(|| format!("{name} has no enabled server group beside it to roll back from"))?;
    if fields.get("current").map(|c| c.trim()) != Some(current) {
        return Err(format!("the cluster changed since the confirmation: the current server group is now {current}; confirm again"));
    }
    let context = json!({"restoreServerGroupName": name, "rollbackServerGroupName": current});
    Ok(json!([{"rollbackServerGroup": {"credentials": account, "account": account, "region": region, "cloudProvider": "ecs",
        "rollbackType": "EXPLICIT", "rollbackContext": context}}]))
}

/// A createServerGroup from the description that created `name`, with the images given and
/// `name` as its source (capacity and scaling copied): a manual red/black's first step.
async fn redeploy(
    app: &App,
    identity: &Identity,
    account: &str,
    region: &str,
    name: &str,
    fields: &HashMap<String, String>,
) -> Result<Value, String> {
    let mut d = creating_description(app, identity, account, region, name)
        .await
        .ok_or_else(|| format!("{name} was not deployed through this serve; its description is not known here"))?;
    let images: Vec<(String, String)> = fields
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("image.")?.to_string(), v.trim().to_string())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if images.is_empty() {
        return Err("give the new version's image".into());
    }
    if d["useTaskDefinitionArtifact"] == json!(true) {
        let map: serde_json::Map<String, Value> = images.into_iter().map(|(c, i)| (c, json!(i))).collect();
        d["containerToImageMap"] = Value::Object(map);
        if let Some(o) = d.as_object_mut() {
            o.remove("containerMappings");
        }
    } else {
        d["dockerImageAddress"] = json!(images[0].1);
        if let Some(o) = d.as_object_mut() {
            o.remove("imageDescription");
        }
    }
    d["source"] = json!({"account": account, "region": region, "asgName": name, "useSourceCapacity": true});
    d["strategy"] = json!("");
    Ok(json!([{"createServerGroup": d}]))
}

async fn task(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (csrf, cookie) = csrf_of(&app, &headers);
    let task = match app.store.get(&id).await {
        Ok(Some(t)) if super::may_see(&app.config, &identity, &t) => t,
        Ok(Some(t)) => return denied_page(&app, identity, peer, &format!("/console/tasks/{id}"), (t.accounts, Some(id)), &csrf, cookie),
        _ => return error_page(StatusCode::NOT_FOUND, "Not found", &csrf, cookie, format!("Task not found (id: {id})")),
    };
    let done = task.status.completed;
    let body = html! {
        h1 { "Task " span.muted { (id) } }
        p class=(if task.status.failed { "error" } else if done { "ok" } else { "running" }) #status { (task.status.status) }
        ol.history { @for line in &task.history { li { span.muted { (line.phase) } " " (line.status) } } }
        @if done { p { a href="/console" { "Back to the applications" } } }
    };
    let mut response = answer(StatusCode::OK, page("Task", Some(&csrf), body), cookie);
    if !done {
        // Polled until it finishes: the browser reloads the page every second (no script).
        response.headers_mut().insert("refresh", HeaderValue::from_static("1"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_made_per_sign_in_capped_per_principal_and_csrf_tokens_bound_to_the_cookie() {
        let sessions = Sessions::default();
        let first = sessions.create("alice", [1; 32]);
        let later: Vec<String> = (0..SESSIONS_PER_PRINCIPAL).map(|_| sessions.create("alice", [1; 32])).collect();
        let bob = sessions.create("bob", [2; 32]);
        assert_eq!(sessions.digest(&first), None, "alice's oldest session ended when she passed the cap");
        assert!(later.iter().all(|id| sessions.digest(id) == Some([1; 32])));
        assert_eq!(sessions.digest(&bob), Some([2; 32]), "another principal's sessions are untouched");
        assert_eq!(sessions.len(), SESSIONS_PER_PRINCIPAL + 1);
        assert_eq!(sessions.remove(&bob).as_deref(), Some("bob"));
        let (a, b) = (random_id(), random_id());
        assert_eq!(sessions.csrf(&a), sessions.csrf(&a));
        assert_ne!(sessions.csrf(&a), sessions.csrf(&b));
        assert_ne!(sessions.csrf(&a), Sessions::default().csrf(&a), "the key is the process's own");
    }
}
