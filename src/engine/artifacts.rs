//! Downloading task-definition artifacts for deploys and for `PUT /artifacts/fetch`: the
//! account's request (from [`crate::core::artifact`]) sent through [`crate::aws::fetch`], its
//! failure said as an input problem (a 4xx, a missing object, a bad body: exit 2, HTTP 400) or
//! as an unavailable store (exit 1), naming the artifact and the account, never a credential.
//! A body fetched in the last minute for the same account and request is reused, so the check
//! `serve` makes before accepting a deploy and the deploy itself read the same bytes once.

use std::time::{Duration, Instant};

pub use crate::aws::fetch::FetchLimits;
use crate::aws::fetch::{self, FetchError};
use crate::core::artifact::{self, ArtifactAccount, ArtifactRef, Fetch};
use crate::core::config::Config;
use crate::core::error::{Error, FieldError, Result};
use crate::core::request::DeployRequest;

use crate::core::artifact::INVALID_CODE as CODE;
const REUSE_FOR: Duration = Duration::from_secs(60);
const KEPT: usize = 32;

static LIMITS: std::sync::Mutex<Option<FetchLimits>> = std::sync::Mutex::new(None);

/// Sets the limits downloads use in this process (`serve`: its `--max-body-bytes`).
pub fn set_limits(limits: FetchLimits) {
    *crate::core::sync::lock(&LIMITS) = Some(limits);
}

fn limits() -> FetchLimits {
    crate::core::sync::lock(&LIMITS).unwrap_or_default()
}

type Recent = Vec<((String, String), Instant, Vec<u8>)>;
static RECENT: std::sync::Mutex<Recent> = std::sync::Mutex::new(Vec::new());

fn recent(key: &(String, String)) -> Option<Vec<u8>> {
    let mut recent = crate::core::sync::lock(&RECENT);
    recent.retain(|(_, at, _)| at.elapsed() < REUSE_FOR);
    recent.iter().find(|(k, _, _)| k == key).map(|(_, _, body)| body.clone())
}

fn remember(key: (String, String), body: &[u8]) {
    let mut recent = crate::core::sync::lock(&RECENT);
    recent.retain(|(k, _, _)| *k != key);
    if recent.len() >= KEPT {
        recent.remove(0);
    }
    recent.push((key, Instant::now(), body.to_vec()));
}

/// Downloads `fetch` with `account`; `label` names the artifact in errors.
async fn download(account: &ArtifactAccount, fetch: &Fetch, label: &str, field: &str) -> Result<Vec<u8>> {
    let key = (account.name.clone(), format!("{fetch:?}"));
    if let Some(body) = recent(&key) {
        return Ok(body);
    }
    let what = format!("could not download the {label} with artifact account `{}`", account.name);
    let downloaded = fetch::download(account, fetch, limits()).await;
    crate::core::metrics::artifact_download(match &downloaded {
        Ok(_) => "ok",
        Err(FetchError::Refused(_)) => "refused",
        Err(FetchError::Unavailable(_)) => "unavailable",
    });
    match downloaded {
        Ok(body) => {
            remember(key, &body);
            Ok(body)
        }
        Err(FetchError::Refused(reason)) => Err(Error::invalid(field, CODE, format!("{what}: {reason}"))),
        Err(FetchError::Unavailable(reason)) => {
            Err(Error::Failed { message: format!("{what}: {reason}"), report: vec!["nothing was written".into()] })
        }
    }
}

/// The request with its referenced artifact downloaded and checked (unchanged when it has none).
pub async fn resolve(req: DeployRequest) -> Result<DeployRequest> {
    let Some(pending) = req.pending_download() else { return Ok(req) };
    let label = pending.artifact.label();
    let body = download(&pending.account, &pending.fetch, &label, "resolvedTaskDefinitionArtifact").await?;
    // Parsing and checking megabytes of JSON or YAML is CPU work: off the async runtime.
    let checked = tokio::task::spawn_blocking(move || req.with_downloaded(&body)).await;
    checked
        .map_err(|e| Error::Failed { message: format!("checking the downloaded artifact: {e}"), report: Vec::new() })?
        .map_err(Error::Invalid)
}

/// `PUT /artifacts/fetch`: the artifact's bytes, downloaded with the account it names (or the
/// type's only account) among `accounts` (those the caller may use).
pub async fn fetch_artifact(accounts: &[ArtifactAccount], artifact: &ArtifactRef) -> Result<Vec<u8>> {
    let account = artifact::choose_account(accounts, artifact, None, "artifact").map_err(|e| Error::Invalid(vec![e]))?;
    let fetch = artifact::fetch_of(account, artifact, "artifact").map_err(|e| Error::Invalid(vec![e]))?;
    download(account, &fetch, &artifact.label(), "artifact").await
}

/// The artifact accounts' credential files that cannot be read, as (key, message): what
/// `accounts validate` and `doctor` report (a deploy would fail on them).
pub fn unreadable_credentials(config: &Config) -> Vec<(String, String)> {
    let accounts = config.readable_artifact_accounts();
    let mut problems = Vec::new();
    for account in &accounts {
        for (key, path) in account.credential_files() {
            if let Err(e) = crate::core::input::read_path(std::path::Path::new(path), 64 * 1024) {
                let where_ = format!("artifacts.{}.accounts[{}].{key}", account.kind.config_key(), account.name);
                problems.push((where_, format!("cannot read {path} for artifact account `{}`: {e}", account.name)));
            }
        }
    }
    problems
}

/// Whether `error` is an unknown artifact account (Clouddriver answers 404 for it).
pub fn is_missing_account(error: &Error) -> bool {
    matches!(error, Error::Invalid(errors) if errors.iter().any(|e: &FieldError| e.field.ends_with("artifactAccount")))
}
