//! `serve`'s HTTP edge before any handler: what a request may be (the guard: its `Host`, the
//! `Origin` of a state change — scheme, host and port —, its `Content-Type`, a declared length),
//! who sends it (a bearer token, or the console's session), how long it may take, and the error
//! shape every answer uses (Spring's `error`, `status`, `message`, `errors`).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::audit::Event;
use super::{App, console};
use crate::core::access::Identity;
use crate::core::error::FieldError;

/// The host names a request may name: loopback's, the listen address's, `--allowed-host`s and
/// the `--external-url`s' hosts.
pub(super) fn allowed_hosts(listen: SocketAddr, extra: &[String], external_urls: &[String]) -> BTreeSet<String> {
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
pub(super) fn secure_cookie(tls: bool, listen: SocketAddr, external_urls: &[String]) -> bool {
    match external_urls.first().and_then(|u| origin(u)) {
        Some(origin) => origin.starts_with("https://"),
        None => tls || !listen.ip().is_loopback(),
    }
}

/// A URL's origin as browsers send it (`scheme://host[:port]`, lowercased, the scheme's default
/// port left out); None when it is not an http(s) URL.
pub(super) fn origin(url: &str) -> Option<String> {
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
pub(super) fn same_origin(app: &App, origin_header: &str, host_header: &str) -> bool {
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

/// Reading the body and answering must end within the request timeout (408 otherwise).
pub(super) async fn within(timeout: Duration, request: Request, next: Next) -> Response {
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
pub(super) fn problem(status: StatusCode, message: &str, errors: Vec<FieldError>) -> Response {
    let body = json!({
        "error": status.canonical_reason().unwrap_or(""),
        "status": status.as_u16(),
        "message": message,
        "errors": crate::core::error::shown(&errors),
    });
    (status, axum::Json(body)).into_response()
}

/// What an audit event of `request` starts from.
pub(super) fn event_of(method: &Method, path: &str, peer: Option<SocketAddr>) -> Event {
    Event {
        source: peer.map(|p| p.to_string()).unwrap_or_default(),
        method: method.to_string(),
        path: path.chars().take(512).collect(),
        ..Event::default()
    }
}

pub(super) fn peer_of(request: &Request) -> Option<SocketAddr> {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

/// The host part of a `Host` header or an `Origin`'s authority, lowercased, without the port.
pub(super) fn host_name(authority: &str) -> String {
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
pub(super) fn refusal(app: &App, method: &Method, path: &str, headers: &HeaderMap) -> Option<(StatusCode, String)> {
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
pub(super) struct Peer(pub(super) Option<SocketAddr>);

pub(super) async fn guard(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
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
pub(super) async fn authenticate(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    // The console's browsers carry a session cookie instead; its token is checked again each time.
    let from_session =
        if bearer.is_none() && console::is_console(request.uri().path()) { console::session_digest(&app, headers).await } else { None };
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

/// `application/x-www-form-urlencoded` pairs — a query string or a form's body — decoded: the one
/// parser of them in `serve` (a repeated key keeps its last value).
pub(super) fn query_pairs(text: &[u8]) -> std::collections::HashMap<String, String> {
    let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    String::from_utf8_lossy(text)
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
