//! The console's sessions: signing in takes a principal's bearer token (from a form that carries
//! a token bound to the browser's pre-session cookie, against login CSRF) and keeps only the
//! principal's name and the token's SHA-256 behind an `HttpOnly`, `SameSite=Strict` cookie
//! (`Secure` behind TLS) that expires; only a sign-in makes a session, and a principal holds a
//! bounded number. Every form's CSRF token is an HMAC of the browser's cookie, so a page that is
//! only read stores nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use maud::{Markup, html};

use super::{answer, page, redirect};
use crate::serve::http::{Peer, event_of, query_pairs};
use crate::serve::{App, audit, principals};

/// The session cookie's name. Its value is a signed-in session's id, or — before sign-in, and
/// on a `serve` that needs no token — a random value that only anchors the CSRF token.
const COOKIE: &str = "ecsd_session";
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
pub(in crate::serve) struct Sessions {
    sessions: Mutex<HashMap<String, ConsoleSession>>,
    key: [u8; 32],
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::with_key(&random_id())
    }
}

impl Sessions {
    /// Sessions whose CSRF tokens are made with `secret` (the store's, shared by every replica).
    pub(in crate::serve) fn with_key(secret: &str) -> Sessions {
        use sha2::Digest;
        Sessions { sessions: Mutex::new(HashMap::new()), key: sha2::Sha256::digest(secret.as_bytes()).into() }
    }

    /// Keeps a session another replica made (read from the store) until `expires_in` from now.
    fn adopt(&self, id: &str, principal: String, digest: [u8; 32], expires_in: Duration) {
        let session = ConsoleSession { principal, digest, expires: Instant::now() + expires_in };
        crate::core::sync::lock(&self.sessions).insert(id.to_string(), session);
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let bytes: Vec<u8> = (0..text.len()).step_by(2).filter_map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect();
    bytes.try_into().ok()
}

/// A random cookie value (or session id): 256 bits as hex.
pub(super) fn random_id() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

impl Sessions {
    /// A session for `principal` (signed in with the token of `digest`); only sign-in makes one.
    /// Its id, and the sessions the bounds ended to make room (to end in the store too).
    fn create(&self, principal: &str, digest: [u8; 32]) -> (String, Vec<String>) {
        let id = random_id();
        let mut sessions = crate::core::sync::lock(&self.sessions);
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        let mut own: Vec<(String, Instant)> =
            sessions.iter().filter(|(_, s)| s.principal == principal).map(|(k, s)| (k.clone(), s.expires)).collect();
        own.sort_by_key(|(_, expires)| *expires);
        let mut ended = Vec::new();
        for (k, _) in own.iter().take((own.len() + 1).saturating_sub(SESSIONS_PER_PRINCIPAL)) {
            sessions.remove(k);
            ended.push(k.clone());
        }
        if sessions.len() >= MAX_SESSIONS
            && let Some(k) = sessions.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| k.clone())
        {
            sessions.remove(&k);
            ended.push(k);
        }
        sessions.insert(id.clone(), ConsoleSession { principal: principal.to_string(), digest, expires: now + SESSION_FOR });
        (id, ended)
    }

    /// The digest of the token the session signed in with, while it lasts.
    fn digest(&self, id: &str) -> Option<[u8; 32]> {
        let sessions = crate::core::sync::lock(&self.sessions);
        sessions.get(id).filter(|s| s.expires > Instant::now()).map(|s| s.digest)
    }

    /// Ends a session; the principal it was for, if it existed.
    fn remove(&self, id: &str) -> Option<String> {
        crate::core::sync::lock(&self.sessions).remove(id).map(|s| s.principal)
    }

    /// How many sessions are kept (for tests of the bounds).
    #[cfg(test)]
    fn len(&self) -> usize {
        crate::core::sync::lock(&self.sessions).len()
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

/// The token digest a console request's session carries (None: no signed-in session). With one
/// replica (SQLite) this process's sessions answer, and the store's after a restart; on
/// PostgreSQL the store always does, so a sign-out through any replica ends the session on all.
pub(in crate::serve) async fn session_digest(app: &App, headers: &HeaderMap) -> Option<[u8; 32]> {
    let id = session_id(headers)?;
    let shared = matches!(app.store, crate::serve::store::Store::Postgres(_));
    if let Some(digest) = app.console.digest(&id).filter(|_| !shared) {
        return Some(digest);
    }
    let now = now_ms();
    let (principal, digest, expires_ms) = app.store.session(&id, now).await.ok()??;
    let digest = unhex(&digest)?;
    if !shared {
        app.console.adopt(&id, principal, digest, Duration::from_millis((expires_ms - now).max(0) as u64));
    }
    Some(digest)
}

pub(super) fn cookie_for(app: &App, id: &str) -> String {
    let secure = if app.secure_cookie { "; Secure" } else { "" };
    format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}", SESSION_FOR.as_secs())
}

/// The request's CSRF token, from its cookie; a request without one gets a new random cookie
/// (nothing is stored: the token is the cookie's HMAC).
pub(super) fn csrf_of(app: &App, headers: &HeaderMap) -> (String, Option<String>) {
    match session_id(headers) {
        Some(id) => (app.console.csrf(&id), None),
        None => {
            let id = random_id();
            (app.console.csrf(&id), Some(cookie_for(app, &id)))
        }
    }
}

/// Whether a form's `csrf` field is the token of the request's cookie.
pub(super) fn csrf_ok(app: &App, headers: &HeaderMap, given: Option<&str>) -> bool {
    session_id(headers).is_some_and(|id| csrf_matches(&app.console.csrf(&id), given))
}

pub(super) async fn sign_in_form(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
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

pub(super) async fn sign_in(
    State(app): State<Arc<App>>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut event = event_of(&Method::POST, "/console/sign-in", peer);
    let mut fields = query_pairs(&body);
    let given = fields.remove("csrf");
    let (csrf, cookie) = csrf_of(&app, &headers);
    let refuse = |mut event: audit::Event, outcome: &'static str, status: StatusCode, reason: &str, message: &str| {
        event.outcome = outcome;
        event.status = status.as_u16();
        event.reason = Some(reason.to_string());
        app.audit.record(event);
        answer(status, sign_in_page(&app, &csrf, Some(message)), cookie.clone())
    };
    if !csrf_ok(&app, &headers, given.as_deref()) {
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
            let (id, ended) = app.console.create(&principal.name, digest);
            // In the store too: any replica serves this browser (and the sessions the bounds ended go).
            let stored = (principal.name.clone(), hex(&digest), now_ms() + SESSION_FOR.as_millis() as i64);
            if let Err(e) = app.store.save_session(&id, stored, now_ms()).await {
                tracing::warn!("console session kept on this replica only: {e}");
            }
            for old in ended {
                let _ = app.store.drop_session(&old).await;
            }
            let mut response = redirect("/console");
            if let Ok(c) = HeaderValue::from_str(&cookie_for(&app, &id)) {
                response.headers_mut().insert(header::SET_COOKIE, c);
            }
            response
        }
        _ => refuse(event, "unauthenticated", StatusCode::UNAUTHORIZED, "no principal has that token", "That token is not valid."),
    }
}

pub(super) async fn sign_out(
    State(app): State<Arc<App>>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut event = event_of(&Method::POST, "/console/sign-out", peer);
    event.status = 303;
    match session_id(&headers).filter(|_| csrf_ok(&app, &headers, query_pairs(&body).remove("csrf").as_deref())) {
        Some(id) => {
            let stored = app.store.session(&id, now_ms()).await.ok().flatten().map(|(principal, _, _)| principal);
            event.principal = app.console.remove(&id).or(stored);
            let _ = app.store.drop_session(&id).await;
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

fn csrf_matches(expected: &str, given: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    given.is_some_and(|g| g.len() == expected.len() && bool::from(g.as_bytes().ct_eq(expected.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_made_per_sign_in_capped_per_principal_and_csrf_tokens_bound_to_the_cookie() {
        let sessions = Sessions::default();
        let (first, _) = sessions.create("alice", [1; 32]);
        let later: Vec<(String, Vec<String>)> = (0..SESSIONS_PER_PRINCIPAL).map(|_| sessions.create("alice", [1; 32])).collect();
        assert_eq!(later.last().unwrap().1, std::slice::from_ref(&first), "the session the cap ended is named");
        let later: Vec<String> = later.into_iter().map(|(id, _)| id).collect();
        let (bob, _) = sessions.create("bob", [2; 32]);
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
