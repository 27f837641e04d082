//! Artifact downloads: an S3 GetObject with the artifact account's keys (else the standard
//! chain) and endpoint, or HTTP GETs through the SDK's own HTTPS connector (hyper 1, rustls with
//! aws-lc, `HTTPS_PROXY`/`NO_PROXY`) — one client, one TLS stack. Every hop (the reference, each
//! redirect, GitHub's `download_url`) passes the account's URL restrictions before it connects:
//! its scheme and host name, an IP literal as it is, and a name through a resolver that checks
//! every address it resolves to and hands the connector only those — no second resolution.
//! Bounded: a per-request timeout, a size limit read as the body arrives, up to 5 redirects
//! (credentials kept only while scheme, host and port stay the same), retries with backoff on
//! 5xx, 429 and connection errors only. Errors name the artifact, the account and the status;
//! never a credential.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDns, ResolveDnsError};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use base64::Engine;

use crate::core::artifact::{ArtifactAccount, Basic, Fetch, Header, Secret};
use crate::core::url_restrictions::UrlRestrictions;

/// How long, how large, how often.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    pub max_bytes: u64,
    /// Per request (connect, headers and body).
    pub timeout: Duration,
    pub attempts: u32,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits { max_bytes: 8 * 1024 * 1024, timeout: crate::core::settings::get().artifact_timeout, attempts: 3 }
    }
}

/// Why a download failed: the artifact or its account is wrong (`Refused`: a 4xx, a missing
/// object, a bad reference, too large — retrying will not help), or the store did not answer
/// (`Unavailable`: 5xx, throttling, timeouts, connection errors, after the retries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    Refused(String),
    Unavailable(String),
}

/// Downloads what `fetch` names with `account`'s credentials.
pub async fn download(account: &ArtifactAccount, fetch: &Fetch, limits: FetchLimits) -> Result<Vec<u8>, FetchError> {
    match fetch {
        Fetch::Embedded(reference) => crate::core::artifact::embedded_bytes(reference).map_err(FetchError::Refused),
        Fetch::S3 { bucket, key, version_id } => s3_object(account, bucket, key, version_id.as_deref(), limits).await,
        Fetch::Http { url, headers, then_download_url } => {
            let headers = resolve_headers(headers)?;
            let body = get_with_retries(account, url, &headers, limits).await?;
            if !then_download_url {
                return Ok(body);
            }
            let download_url = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("download_url").and_then(|u| u.as_str()).map(str::to_string))
                .filter(|u| !u.is_empty())
                .ok_or_else(|| {
                    FetchError::Refused(
                        "GitHub's answer has no download_url (is the reference a contents API URL of a file, and the account's token right?)"
                            .into(),
                    )
                })?;
            get_with_retries(account, &download_url, &headers, limits).await
        }
    }
}

/// Reads a credential file as Clouddriver's `CredentialReader` does (newlines removed).
fn read_secret(secret: &Secret) -> Result<String, FetchError> {
    match secret {
        Secret::Inline(s) => Ok(s.clone()),
        Secret::File(path) => crate::core::input::read_path(std::path::Path::new(path), 64 * 1024)
            .map(|s| s.replace('\n', ""))
            .map_err(|e| FetchError::Refused(format!("could not read credentials file {path}: {e}"))),
    }
}

fn resolve_headers(headers: &[(&'static str, Header)]) -> Result<Vec<(&'static str, String)>, FetchError> {
    headers
        .iter()
        .map(|(name, h)| {
            let value = match h {
                Header::Plain(v) => v.clone(),
                Header::Token { prefix, token } => format!("{prefix}{}", read_secret(token)?),
                Header::Basic(Basic::Pair { username, password }) => basic(&format!("{username}:{}", read_secret(password)?)),
                Header::Basic(Basic::File(path)) => basic(&read_secret(&Secret::File(path.clone()))?),
            };
            Ok((*name, value))
        })
        .collect()
}

fn basic(user_password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_password))
}

/// What the resolver's refusals start with, so a connector error can be told from the network's.
const REFUSED: &str = "refused by the URL restrictions: ";

/// Resolves a host name and checks every address against the account's URL restrictions; the
/// connector connects only to what this returns. A configured proxy's own host is not checked
/// (the operator chose it; the target is checked before the request, see [`check_target`]).
#[derive(Debug, Clone)]
struct CheckedResolver {
    restrictions: Arc<UrlRestrictions>,
    proxies: Arc<Vec<String>>,
}

impl ResolveDns for CheckedResolver {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        DnsFuture::new(Box::pin(async move {
            let addresses = resolve(name).await.map_err(ResolveDnsError::new)?;
            if !self.proxies.iter().any(|p| p.eq_ignore_ascii_case(name)) {
                check_addresses(&self.restrictions, name, &addresses).map_err(ResolveDnsError::new)?;
            }
            Ok(addresses)
        }))
    }
}

async fn resolve(name: &str) -> std::io::Result<Vec<IpAddr>> {
    let addresses: Vec<IpAddr> = tokio::net::lookup_host((name, 0)).await?.map(|a| a.ip()).collect();
    if addresses.is_empty() {
        return Err(std::io::Error::other(format!("{name} resolves to no address")));
    }
    Ok(addresses)
}

fn check_addresses(restrictions: &UrlRestrictions, name: &str, addresses: &[IpAddr]) -> std::io::Result<()> {
    for ip in addresses {
        restrictions.check_address(*ip).map_err(|why| std::io::Error::other(format!("{REFUSED}{name} resolves to {why}")))?;
    }
    Ok(())
}

/// The hosts of the proxies the environment configures (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`).
fn proxy_hosts() -> Vec<String> {
    ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .filter_map(|url| url.parse::<axum::http::Uri>().ok()?.host().map(|h| h.trim_matches(['[', ']']).to_string()))
        .collect()
}

/// The HTTPS connector for downloads under `restrictions`, configured as the SDK's; one per
/// distinct restrictions in the process (accounts rarely differ), built on first use.
fn connector(restrictions: &UrlRestrictions) -> SharedHttpConnector {
    static CONNECTORS: std::sync::Mutex<Vec<(UrlRestrictions, SharedHttpConnector)>> = std::sync::Mutex::new(Vec::new());
    let mut connectors = crate::core::sync::lock(&CONNECTORS);
    if let Some((_, c)) = connectors.iter().find(|(r, _)| r == restrictions) {
        return c.clone();
    }
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let settings = HttpConnectorSettings::builder().connect_timeout(Duration::from_secs(5)).build();
    let resolver = CheckedResolver { restrictions: Arc::new(restrictions.clone()), proxies: Arc::new(proxy_hosts()) };
    let connector = aws_smithy_http_client::Connector::builder()
        .connector_settings(settings)
        .enable_tcp_nodelay(true)
        .proxy_config(ProxyConfig::from_env())
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .build_with_resolver(resolver);
    let connector = SharedHttpConnector::new(connector);
    connectors.push((restrictions.clone(), connector.clone()));
    connector
}

/// Checks a hop before any connection: the account's reach (scheme, host name, allowed domains,
/// an IP literal as it is — the connector does not resolve literals); behind a proxy, which
/// resolves names itself, the name's addresses too.
async fn check_target(account: &ArtifactAccount, uri: &axum::http::Uri, url: &str) -> Result<(), FetchError> {
    crate::core::artifact::check_reach(account, url).map_err(FetchError::Refused)?;
    if !proxy_hosts().is_empty() {
        let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
        if host.parse::<IpAddr>().is_err() {
            let addresses = resolve(host).await.map_err(|e| FetchError::Unavailable(format!("resolving {host}: {e}")))?;
            check_addresses(&account.restrictions, host, &addresses).map_err(|e| FetchError::Refused(refusal(&e.to_string())))?;
        }
    }
    Ok(())
}

/// The restriction a connector error carries, if it is one.
fn refusal(text: &str) -> String {
    let rest = text.split(REFUSED).nth(1).unwrap_or(text);
    rest.split(": ").next().unwrap_or(rest).trim().to_string()
}

/// One GET's outcome.
enum Answer {
    Body(Vec<u8>),
    Redirect(String),
}

/// Scheme, host and port: a redirect keeps the credentials only while all three stay the same
/// (an https → http hop on the same host drops them).
fn origin_of(url: &str) -> Option<(String, String, u16)> {
    let uri = url.parse::<axum::http::Uri>().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    Some((scheme, uri.host()?.to_ascii_lowercase(), port))
}

async fn get_with_retries(
    account: &ArtifactAccount,
    url: &str,
    headers: &[(&'static str, String)],
    limits: FetchLimits,
) -> Result<Vec<u8>, FetchError> {
    let mut url = url.to_string();
    let original = origin_of(&url);
    for _redirect in 0..=5 {
        let same_origin = original.is_some() && origin_of(&url) == original;
        let sent: Vec<(&'static str, String)> = headers.iter().filter(|(n, _)| same_origin || *n == "Accept").cloned().collect();
        let mut attempt = 1;
        let answer = loop {
            match get_once(account, &url, &sent, limits).await {
                Err(FetchError::Unavailable(e)) if attempt < limits.attempts => {
                    tracing::warn!("{e}; retrying");
                    tokio::time::sleep(crate::aws::initial_backoff() * 2u32.pow(attempt - 1)).await;
                    attempt += 1;
                }
                other => break other?,
            }
        };
        match answer {
            Answer::Body(body) => return Ok(body),
            Answer::Redirect(next) => url = next,
        }
    }
    Err(FetchError::Refused(format!("more than 5 redirects from {}", display_url(&url))))
}

/// The URL as messages show it (no credentials, no query).
fn display_url(url: &str) -> String {
    crate::core::artifact::shown_url(url)
}

async fn get_once(
    account: &ArtifactAccount,
    url: &str,
    headers: &[(&'static str, String)],
    limits: FetchLimits,
) -> Result<Answer, FetchError> {
    let shown = display_url(url);
    let shown = shown.as_str();
    let uri = url.parse::<axum::http::Uri>().map_err(|_| FetchError::Refused(format!("Malformed URL: {shown}")))?;
    check_target(account, &uri, url).await?;
    let mut request = HttpRequest::new(SdkBody::empty());
    request.set_uri(url).map_err(|_| FetchError::Refused(format!("Malformed URL: {shown}")))?;
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.clone());
    }
    request.headers_mut().insert("User-Agent", concat!("ecs-deployer/", env!("CARGO_PKG_VERSION")));
    let exchange = async {
        let response = connector(&account.restrictions).call(request).await.map_err(|e| {
            let text = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
            match text.contains(REFUSED) {
                true => FetchError::Refused(format!("{shown}: {}", refusal(&text))),
                false => FetchError::Unavailable(format!("GET {shown}: {e}")),
            }
        })?;
        let status = response.status().as_u16();
        if (300..400).contains(&status)
            && let Some(location) = response.headers().get("location")
        {
            return Ok(Answer::Redirect(join_location(url, location)));
        }
        match status {
            200..=299 => {}
            429 | 500..=599 => return Err(FetchError::Unavailable(format!("Received {status} status code from {shown}"))),
            _ => return Err(FetchError::Refused(format!("Received {status} status code from {shown}"))),
        }
        let declared = response.headers().get("content-length").and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limits.max_bytes) {
            return Err(too_large(shown, limits.max_bytes));
        }
        read_limited(ByteStream::new(response.into_body()), limits.max_bytes, shown).await.map(Answer::Body)
    };
    match tokio::time::timeout(limits.timeout, exchange).await {
        Ok(answer) => answer,
        Err(_) => Err(FetchError::Unavailable(format!("GET {shown}: no complete answer within {}s", limits.timeout.as_secs()))),
    }
}

/// The status `url` answers a GET with (redirects not followed), through the connector that checks
/// every address against `restrictions` before it connects; within `timeout`.
pub async fn probe_status(url: &str, restrictions: &UrlRestrictions, timeout: Duration) -> Result<u16, String> {
    let shown = display_url(url);
    let mut request = HttpRequest::new(SdkBody::empty());
    request.set_uri(url).map_err(|_| format!("Malformed URL: {shown}"))?;
    request.headers_mut().insert("User-Agent", concat!("ecs-deployer/", env!("CARGO_PKG_VERSION")));
    match tokio::time::timeout(timeout, connector(restrictions).call(request)).await {
        Ok(Ok(response)) => Ok(response.status().as_u16()),
        Ok(Err(e)) => Err(format!("GET {shown}: {}", refusal(&aws_smithy_types::error::display::DisplayErrorContext(&e).to_string()))),
        Err(_) => Err(format!("GET {shown}: no answer within {}s", timeout.as_secs())),
    }
}

fn join_location(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    let uri = base.parse::<axum::http::Uri>().ok();
    let origin =
        uri.as_ref().map(|u| format!("{}://{}", u.scheme_str().unwrap_or("https"), u.authority().map(|a| a.as_str()).unwrap_or("")));
    format!("{}{location}", origin.unwrap_or_default())
}

fn too_large(what: &str, max: u64) -> FetchError {
    FetchError::Refused(format!("{what} is larger than the {max}-byte limit"))
}

async fn read_limited(mut body: ByteStream, max: u64, what: &str) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| FetchError::Unavailable(format!("reading {what}: {e}")))?;
        if out.len() as u64 + chunk.len() as u64 > max {
            return Err(too_large(what, max));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// An S3 client for the account: its endpoint (path-style) and signing region, its keys or the
/// standard chain.
async fn s3_client(account: &ArtifactAccount, limits: FetchLimits) -> Result<aws_sdk_s3::Client, FetchError> {
    let s3 = &account.s3;
    let region = s3.api_endpoint.as_ref().and(s3.api_region.clone()).or(s3.region.clone()).unwrap_or_else(|| "us-east-1".into());
    let base = crate::aws::base_config(&region).await;
    let mut builder = aws_sdk_s3::config::Builder::from(&base).timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(limits.timeout)
            .build(),
    );
    if let Some(endpoint) = &s3.api_endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    // Path-style for an S3-compatible store and for AWS_ENDPOINT_URL (an emulator, a proxy).
    if s3.api_endpoint.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some() {
        builder = builder.force_path_style(true);
    }
    if let Some((id, secret)) = &s3.access_key {
        let credentials = aws_credential_types::Credentials::new(id, read_secret(secret)?, None, None, "artifact-account");
        builder = builder.credentials_provider(credentials);
    }
    Ok(aws_sdk_s3::Client::from_conf(builder.build()))
}

async fn s3_object(
    account: &ArtifactAccount,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    limits: FetchLimits,
) -> Result<Vec<u8>, FetchError> {
    let shown = match version_id {
        Some(v) => format!("s3://{bucket}/{key} (version {v})"),
        None => format!("s3://{bucket}/{key}"),
    };
    let client = s3_client(account, limits).await?;
    let out = client.get_object().bucket(bucket).key(key).set_version_id(version_id.map(str::to_string)).send().await.map_err(|e| {
        let status = e.raw_response().map(|r| r.status().as_u16());
        let code = e.code().unwrap_or_default().to_string();
        let message = e.message().unwrap_or_default().to_string();
        match (code.as_str(), status) {
            ("NoSuchKey", _) | (_, Some(404)) => {
                FetchError::Refused(format!("{shown} not found ({})", if code.is_empty() { "404" } else { &code }))
            }
            (_, Some(s)) if (400..500).contains(&s) && s != 429 => {
                FetchError::Refused(format!("S3 refused {shown}: {s} {code} {message}").trim_end().to_string())
            }
            _ => FetchError::Unavailable(format!("S3 GetObject {shown}: {}", aws_smithy_types::error::display::DisplayErrorContext(&e))),
        }
    })?;
    if out.content_length().is_some_and(|n| n as u64 > limits.max_bytes) {
        return Err(too_large(&shown, limits.max_bytes));
    }
    read_limited(out.body, limits.max_bytes, &shown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_a_redirect_only_within_one_origin() {
        assert_eq!(origin_of("https://files.example/x"), origin_of("https://FILES.example:443/y"));
        assert_ne!(origin_of("https://files.example/x"), origin_of("http://files.example/x"), "https → http on the same host");
        assert_ne!(origin_of("http://files.example/x"), origin_of("http://files.example:8080/x"));
        assert_ne!(origin_of("http://files.example/x"), origin_of("http://other.example/x"));
    }

    #[test]
    fn a_resolver_refusal_is_told_from_a_network_error() {
        let text = format!("dispatch failure: io error: {REFUSED}2130706433 resolves to 127.0.0.1 is a loopback address: more");
        assert_eq!(refusal(&text), "2130706433 resolves to 127.0.0.1 is a loopback address");
        let restrictions = UrlRestrictions::default();
        let refused = check_addresses(&restrictions, "x.example", &["10.1.2.3".parse().unwrap()]).unwrap_err();
        assert!(refused.to_string().starts_with(REFUSED), "{refused}");
        assert!(check_addresses(&restrictions, "x.example", &["140.82.112.6".parse().unwrap()]).is_ok());
    }
}
