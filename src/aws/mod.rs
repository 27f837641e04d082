//! The API boundary: the only module that imports the AWS SDK. It opens a session per
//! (account, region) — assuming the account's role through STS — converts SDK responses into
//! the plain data of [`crate::core::model`], and sends requests. Writes to ECS and Application Auto
//! Scaling send the JSON document the plan holds as the request body, so what `--plan` prints is
//! byte for byte what AWS receives, with every field AWS knows (see [`send_json`]).

mod budget;
mod cloudwatch;
mod ecr;
mod ecs;
pub mod fence;
pub mod fetch;
mod lookup;
mod metered;
pub mod rules;
mod scaling;
mod tagging;
pub use tagging::Indexed;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::core::config::Account;
use crate::core::error::AwsError;

/// Clients for one account in one region.
#[derive(Clone, Debug)]
pub struct Session {
    pub account_name: String,
    pub account_id: String,
    pub region: String,
    ecs: aws_sdk_ecs::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    scaling: aws_sdk_applicationautoscaling::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    ecr: aws_sdk_ecr::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
    ec2: aws_sdk_ec2::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
}

/// An SDK client of `$krate` from the session's configuration: every attempt counted
/// (`metered.rs`), and its retries' rate limit (adaptive mode) kept per AWS account, so throttling
/// in one account slows only that account's requests.
macro_rules! client {
    ($krate:ident, $config:expr, $account_id:expr) => {
        $krate::Client::from_conf(
            $krate::config::Builder::from($config)
                .interceptor(metered::Metered)
                .retry_partition($krate::config::retry::RetryPartition::new(format!("ecs-deployer-{}", $account_id)))
                .build(),
        )
    };
}

/// Converts an SDK error into an [`AwsError`] that keeps the AWS code and message.
pub(crate) fn aws_error<E>(operation: &str, err: aws_sdk_ecs::error::SdkError<E, aws_smithy_runtime_api::http::Response>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().map(str::to_string);
    let message = match err.message() {
        Some(m) => m.to_string(),
        None => DisplayErrorContext(&err).to_string(),
    };
    AwsError { operation: operation.to_string(), code, message }
}

/// The first retry's backoff (see [`crate::core::settings`]).
pub(crate) fn initial_backoff() -> Duration {
    crate::core::settings::get().initial_backoff
}

/// The HTTPS client every SDK client of a session shares: the SDK's default one (hyper 1,
/// rustls with aws-lc, the platform's root certificates, `HTTPS_PROXY`/`NO_PROXY` from the
/// environment), built once per session instead of once per SDK client.
///
/// Left to itself, each of a session's SDK clients (and the STS client inside the default
/// credential chain) makes its own default client and, to validate it, builds a TLS connector
/// at once — turning every root certificate into a trust anchor each time — and again on its
/// first request. Counted with callgrind on a redeploy: 15 builds, a fifth of the process's
/// instructions (49.8 M in all before, 40.1 M after; what remains is mostly reading the
/// platform's certificates, once). Shared and built on first use, it is one build, and one
/// connection pool.
fn http_client() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let inner = aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = aws_smithy_http_client::ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    });
    SharedHttpClient::new(BuiltOnFirstUse(inner))
}

/// An HTTP client whose connector is built when the first request needs it, not each time an
/// SDK client is constructed with it (the SDK's validation hook, skipped here, builds one only to
/// load the root certificates early).
#[derive(Debug)]
struct BuiltOnFirstUse(SharedHttpClient);

impl HttpClient for BuiltOnFirstUse {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// Checks `AWS_ENDPOINT_URL` (and every `AWS_ENDPOINT_URL_<SERVICE>`): each must be an
/// `http://` or `https://` URL with a host, so a typo is one clear line before anything runs,
/// not a failed request at the first call.
pub fn check_endpoint_env() -> Result<(), String> {
    for (name, value) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name != "AWS_ENDPOINT_URL" && !name.starts_with("AWS_ENDPOINT_URL_") {
            continue;
        }
        let value = value.to_string_lossy();
        let uri = value.parse::<axum::http::Uri>().ok();
        let scheme_ok = uri.as_ref().and_then(|u| u.scheme_str()).is_some_and(|s| s == "http" || s == "https");
        let host_ok = uri.as_ref().and_then(|u| u.host()).is_some_and(|h| !h.is_empty());
        if !scheme_ok || !host_ok || value.chars().any(char::is_whitespace) {
            return Err(format!(
                "{name}=`{value}` is not an endpoint URL; give one like http://127.0.0.1:5000 or https://ecs.us-west-2.amazonaws.com, or unset it"
            ));
        }
    }
    Ok(())
}

/// The SDK configuration every session starts from: the standard credential chain and
/// `AWS_ENDPOINT_URL`, bounded adaptive retries (throttling and 5xx, with backoff, and a
/// client-side rate limit after throttling) and timeouts.
pub(crate) async fn base_config(region: &str) -> aws_config::SdkConfig {
    let settings = crate::core::settings::get();
    let max_attempts = settings.max_attempts;
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .region(aws_config::Region::new(region.to_string()))
        // Adaptive: the standard retries plus client-side rate limiting once AWS throttles.
        .retry_config(RetryConfig::adaptive().with_max_attempts(max_attempts).with_initial_backoff(initial_backoff()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30).min(settings.aws_call_timeout))
                .operation_timeout(settings.aws_call_timeout)
                .build(),
        )
        .load()
        .await
}

/// Sessions already opened in this process, by everything that determines them, with the expiry
/// of their assumed-role credentials (None: the standard chain, which refreshes itself).
type SessionKey = (String, String, String, Option<String>, String);
static SESSIONS: std::sync::Mutex<Vec<(SessionKey, Session, Option<std::time::SystemTime>)>> = std::sync::Mutex::new(Vec::new());

/// How long before its credentials expire a session is opened afresh (Decisions D8).
const RENEW_BEFORE: Duration = Duration::from_secs(300);

impl Session {
    /// The session for `account` in `region`: the one this process opened already while its
    /// credentials are good for five more minutes (Decisions D8: in `serve`, reads and deploys
    /// share it and spend no AssumeRole round trip), else a new one.
    pub async fn connect(account: &Account, region: &str) -> Result<Session, AwsError> {
        let key: SessionKey =
            (account.name.clone(), account.account_id.clone(), region.to_string(), account.role_arn(region), account.session_name.clone());
        let fresh = |expiry: &Option<std::time::SystemTime>| expiry.is_none_or(|e| e > std::time::SystemTime::now() + RENEW_BEFORE);
        if let Some((_, session, _)) = crate::core::sync::lock(&SESSIONS).iter().find(|(k, _, e)| *k == key && fresh(e)) {
            return Ok(session.clone());
        }
        let (session, expiry) = Session::open(account, region).await?;
        let mut sessions = crate::core::sync::lock(&SESSIONS);
        sessions.retain(|(k, _, _)| *k != key);
        sessions.push((key, session.clone(), expiry));
        Ok(session)
    }

    /// Opens a session for `account` in `region`, assuming the account's role when one is
    /// configured; with the assumed credentials' expiry.
    async fn open(account: &Account, region: &str) -> Result<(Session, Option<std::time::SystemTime>), AwsError> {
        let base = base_config(region).await;
        let mut expiry = None;
        let config = match account.role_arn(region) {
            None => base,
            Some(role_arn) => {
                let sts = aws_sdk_sts::Client::new(&base);
                let out = sts.assume_role().role_arn(&role_arn).role_session_name(&account.session_name).send().await.map_err(|e| {
                    let mut err = aws_error("sts:AssumeRole", e);
                    err.message = format!("could not assume `{role_arn}` for account `{}`: {}", account.name, err.message);
                    err
                })?;
                let creds = out.credentials().ok_or_else(|| AwsError {
                    operation: "sts:AssumeRole".into(),
                    code: None,
                    message: "AssumeRole returned no credentials".into(),
                })?;
                expiry = std::time::SystemTime::try_from(*creds.expiration()).ok();
                let credentials = Credentials::new(
                    creds.access_key_id(),
                    creds.secret_access_key(),
                    Some(creds.session_token().to_string()),
                    expiry,
                    "ecs-deployer-assume-role",
                );
                base.to_builder().credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials)).build()
            }
        };
        // Every request of the account's clients within its budget (`budget.rs`).
        let shared = config.http_client().unwrap_or_else(http_client);
        let config = config.to_builder().http_client(budget::budgeted(shared, &account.account_id)).build();
        let ecs = client!(aws_sdk_ecs, &config, &account.account_id);
        Ok((Session::from_config(&account.name, &account.account_id, region, &config, ecs), expiry))
    }

    fn from_config(
        account_name: &str,
        account_id: &str,
        region: &str,
        config: &aws_config::SdkConfig,
        ecs: aws_sdk_ecs::Client,
    ) -> Session {
        Session {
            account_name: account_name.to_string(),
            account_id: account_id.to_string(),
            region: region.to_string(),
            ecs,
            cloudwatch: client!(aws_sdk_cloudwatch, config, account_id),
            scaling: client!(aws_sdk_applicationautoscaling, config, account_id),
            elb: client!(aws_sdk_elasticloadbalancingv2, config, account_id),
            ecr: client!(aws_sdk_ecr, config, account_id),
            tagging: client!(aws_sdk_resourcegroupstagging, config, account_id),
            ec2: client!(aws_sdk_ec2, config, account_id),
            iam: client!(aws_sdk_iam, config, account_id),
            sts: client!(aws_sdk_sts, config, account_id),
        }
    }

    /// A session whose ECS calls go to `ecs` (an `aws-smithy-mocks` client in tests); the other
    /// clients point nowhere and must not be used.
    #[doc(hidden)]
    pub fn with_ecs_client(ecs: aws_sdk_ecs::Client) -> Session {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-west-2"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        Session::from_config("test", "123456789012", "us-west-2", &config, ecs)
    }
}

/// Keeps the raw JSON body of a response: ECS and Application Auto Scaling answer with exactly
/// the documents of the API reference, so reading them raw copies every field AWS returns —
/// including ones newer than this SDK — into the plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct CaptureBody(std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>>);

impl aws_smithy_runtime_api::client::interceptors::Intercept for CaptureBody {
    fn name(&self) -> &'static str {
        "CaptureBody"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let Some(bytes) = context.response().body().bytes() {
            *crate::core::sync::lock(&self.0) = Some(bytes.to_vec());
        }
        Ok(())
    }
}

impl CaptureBody {
    pub(crate) fn json(&self) -> serde_json::Value {
        crate::core::sync::lock(&self.0).as_deref().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(serde_json::Value::Null)
    }
}

/// Sends `$builder` (an SDK fluent builder) with `$body` (a `serde_json::Value`) as the request
/// body. ECS and Application Auto Scaling speak JSON 1.1, whose body is exactly the JSON document
/// of the API reference; replacing the SDK's serialisation before signing sends every field of
/// the plan, including ones newer than this SDK release. Retries re-apply it on each attempt.
macro_rules! send_json {
    ($builder:expr, $body:expr) => {{
        let bytes: Vec<u8> = serde_json::to_vec($body).expect("a serde_json::Value always serialises");
        $builder
            .customize()
            .mutate_request(move |req| {
                let len = bytes.len();
                *req.body_mut() = aws_smithy_types::body::SdkBody::from(bytes.clone());
                req.headers_mut().insert("content-length", len.to_string());
            })
            .send()
            .await
    }};
}
pub(crate) use send_json;
