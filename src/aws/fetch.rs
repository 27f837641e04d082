//! Artifact downloads: an S3 GetObject with the artifact account's keys (else the standard
//! chain) and endpoint, or HTTP GETs through the SDK's own HTTPS connector (hyper 1, rustls with
//! aws-lc, `HTTPS_PROXY`/`NO_PROXY`) — one client, one TLS stack. Bounded: a per-request
//! timeout, a size limit read as the body arrives, up to 5 redirects (credentials dropped when
//! the host changes, as OkHttp does), retries with backoff on 5xx, 429 and connection errors only.
//! Errors name the artifact, the account and the status; never a credential.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use base64::Engine;

use crate::core::artifact::{ArtifactAccount, Basic, Fetch, Header, Secret};

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
            let body = get_with_retries(url, &headers, limits).await?;
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
            get_with_retries(&download_url, &headers, limits).await
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

/// The process's one HTTPS connector for downloads, configured as the SDK's.
fn connector() -> &'static SharedHttpConnector {
    static CONNECTOR: std::sync::OnceLock<SharedHttpConnector> = std::sync::OnceLock::new();
    CONNECTOR.get_or_init(|| {
        use aws_smithy_http_client::proxy::ProxyConfig;
        use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
        let settings = HttpConnectorSettings::builder().connect_timeout(Duration::from_secs(5)).build();
        let connector = aws_smithy_http_client::Connector::builder()
            .connector_settings(settings)
            .enable_tcp_nodelay(true)
            .proxy_config(ProxyConfig::from_env())
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .build();
        SharedHttpConnector::new(connector)
    })
}

/// One GET's outcome.
enum Answer {
    Body(Vec<u8>),
    Redirect(String),
}

fn host_of(url: &str) -> Option<String> {
    url.parse::<axum::http::Uri>().ok().and_then(|u| u.authority().map(|a| a.to_string()))
}

async fn get_with_retries(url: &str, headers: &[(&'static str, String)], limits: FetchLimits) -> Result<Vec<u8>, FetchError> {
    let mut url = url.to_string();
    let original_host = host_of(&url);
    for _redirect in 0..=5 {
        let same_host = host_of(&url) == original_host;
        let sent: Vec<(&'static str, String)> = headers.iter().filter(|(n, _)| same_host || *n == "Accept").cloned().collect();
        let mut attempt = 1;
        let answer = loop {
            match get_once(&url, &sent, limits).await {
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

async fn get_once(url: &str, headers: &[(&'static str, String)], limits: FetchLimits) -> Result<Answer, FetchError> {
    let shown = display_url(url);
    let shown = shown.as_str();
    if crate::core::artifact::is_forbidden_host(url) {
        return Err(FetchError::Refused(format!("{shown} is a link-local address (instance metadata); artifacts are never read from one")));
    }
    let mut request = HttpRequest::new(SdkBody::empty());
    request.set_uri(url).map_err(|_| FetchError::Refused(format!("Malformed URL: {shown}")))?;
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.clone());
    }
    request.headers_mut().insert("User-Agent", concat!("ecs-deployer/", env!("CARGO_PKG_VERSION")));
    let exchange = async {
        let response = connector().call(request).await.map_err(|e| FetchError::Unavailable(format!("GET {shown}: {e}")))?;
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
