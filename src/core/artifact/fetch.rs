//! A kork `Artifact` ([`ArtifactRef`]) matched to the account that handles its type
//! ([`choose_account`]) and turned into the request that fetches it ([`fetch_of`]): an S3
//! GetObject or an HTTP GET with the provider's headers.

use serde::{Deserialize, Serialize};

use super::{ArtifactAccount, Basic, INVALID_CODE, Kind, Secret, TYPES, check_reach, shown_url};
use crate::core::description::lenient_string;
use crate::core::error::FieldError;

/// A kork `Artifact` as Orca sends it (the keys a download reads; the rest are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactRef {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_string")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_string")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_string")]
    pub artifact_account: Option<String>,
}

impl ArtifactRef {
    /// How the artifact is named in messages: its type and reference (never credentials).
    pub fn label(&self) -> String {
        let reference = self.reference.as_deref().unwrap_or_default();
        let reference = if self.kind.as_deref() == Some("embedded/base64") { "(embedded)".to_string() } else { shown_url(reference) };
        format!("{} artifact {reference}", self.kind.as_deref().unwrap_or("untyped"))
    }
}

/// The account that downloads `artifact`: its `artifactAccount` (or `fallback`, the
/// description's `taskDefinitionArtifactAccount`, with Clouddriver's precedence), else — where
/// Clouddriver refuses — the one account that handles the type, when there is exactly one.
pub fn choose_account<'a>(
    accounts: &'a [ArtifactAccount],
    artifact: &ArtifactRef,
    fallback: Option<&str>,
    field: &str,
) -> Result<&'a ArtifactAccount, FieldError> {
    let code = INVALID_CODE;
    let artifact_type = artifact.kind.as_deref().unwrap_or_default();
    let Some(kind) = Kind::of_type(artifact_type) else {
        let known: Vec<&str> = TYPES.iter().map(|(t, _)| *t).collect();
        let message = format!("artifact type `{artifact_type}` is not one ecs-deployer downloads; use one of {}", known.join(", "));
        return Err(FieldError::new(format!("{field}.type"), code, message));
    };
    let handling: Vec<&ArtifactAccount> = accounts.iter().filter(|a| a.kind == kind).collect();
    let named = artifact.artifact_account.as_deref().filter(|n| !n.is_empty());
    // CreateServerGroupAtomicOperation: the fallback applies when the artifact names none.
    let name = named.or(fallback.filter(|f| !f.is_empty()));
    let choices = || {
        if handling.is_empty() {
            format!("none is configured: add one under `artifacts.{}` with `enabled: true`", kind.config_key())
        } else {
            format!("accounts for {artifact_type}: {}", handling.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "))
        }
    };
    match name {
        _ if kind == Kind::Embedded => Ok(handling[0]),
        Some(name) => handling.iter().find(|a| a.name == name).copied().ok_or_else(|| {
            FieldError::new(
                format!("{field}.artifactAccount"),
                code,
                format!("artifact account `{name}` supporting artifact type `{artifact_type}` cannot be found ({})", choices()),
            )
        }),
        None if handling.len() == 1 => Ok(handling[0]),
        None => Err(FieldError::new(
            format!("{field}.artifactAccount"),
            code,
            format!("the {} names no artifactAccount; name one ({})", artifact.label(), choices()),
        )),
    }
}

/// What one download sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    /// The content is in the artifact itself.
    Embedded(String),
    S3 {
        bucket: String,
        key: String,
        version_id: Option<String>,
    },
    /// An HTTP GET with the provider's headers. `then_download_url`: GitHub without the content
    /// API answers metadata whose `download_url` is fetched with the same headers.
    Http {
        url: String,
        headers: Vec<(&'static str, Header)>,
        then_download_url: bool,
    },
}

/// A header value, or one made from a secret the shell reads (a token, a basic-auth pair).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    Plain(String),
    /// `prefix` + the token (`token `, `Bearer `, or nothing for GitLab's `Private-Token`).
    Token {
        prefix: &'static str,
        token: Secret,
    },
    /// `Basic ` + base64 of `user:password`.
    Basic(Basic),
}

/// The request that downloads `artifact` with `account` (problems name the field and the fix).
pub fn fetch_of(account: &ArtifactAccount, artifact: &ArtifactRef, field: &str) -> Result<Fetch, FieldError> {
    let code = INVALID_CODE;
    let reference = artifact.reference.as_deref().unwrap_or_default().trim();
    if reference.is_empty() {
        return Err(FieldError::new(format!("{field}.reference"), code, format!("the {} has no reference", artifact.label())));
    }
    let version = artifact.version.as_deref().filter(|v| !v.is_empty());
    match account.kind {
        Kind::Embedded => Ok(Fetch::Embedded(reference.to_string())),
        Kind::S3 => {
            let path = reference.strip_prefix("s3://").unwrap_or(reference);
            match path.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
                    Ok(Fetch::S3 { bucket: bucket.into(), key: key.into(), version_id: version.map(str::to_string) })
                }
                _ => Err(FieldError::new(
                    format!("{field}.reference"),
                    code,
                    format!("S3 references must be of the format s3://<bucket>/<file-path>, got `{reference}`"),
                )),
            }
        }
        kind => {
            if !(reference.starts_with("https://") || reference.starts_with("http://")) {
                let message = format!(
                    "Malformed content URL in reference: `{}`; a {} reference is an http(s) URL",
                    shown_url(reference),
                    artifact.label()
                );
                return Err(FieldError::new(format!("{field}.reference"), code, message));
            }
            if let Err(why) = check_reach(account, reference) {
                return Err(FieldError::new(format!("{field}.reference"), code, format!("the {} is refused: {why}", artifact.label())));
            }
            Ok(http_fetch(account, kind, reference, version))
        }
    }
}

/// What OkHttp's `addQueryParameter` encodes in a query value (`QUERY_COMPONENT_ENCODE_SET`).
const QUERY_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'!')
    .add(b'"')
    .add(b'#')
    .add(b'$')
    .add(b'&')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b',')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'~')
    .add(b'+')
    .add(b'%');

fn http_fetch(account: &ArtifactAccount, kind: Kind, reference: &str, version: Option<&str>) -> Fetch {
    let auth = &account.auth;
    let token = |prefix: &'static str| auth.token.clone().map(|token| Header::Token { prefix, token });
    let basic = || auth.basic.clone().map(Header::Basic);
    let with_ref = || {
        let sep = if reference.contains('?') { '&' } else { '?' };
        let version = version.unwrap_or("master");
        format!("{reference}{sep}ref={}", percent_encoding::utf8_percent_encode(version, QUERY_COMPONENT))
    };
    let mut headers = Vec::new();
    let (url, then_download_url) = match kind {
        Kind::GitHub => {
            headers.extend(token("token ").or_else(basic).map(|h| ("Authorization", h)));
            if account.use_content_api {
                headers.push(("Accept", Header::Plain(format!("application/vnd.github.{}.raw", account.github_api_version))));
            }
            (with_ref(), !account.use_content_api)
        }
        Kind::GitLab => {
            headers.extend(token("").map(|h| ("Private-Token", h)));
            (with_ref(), false)
        }
        Kind::Bitbucket => {
            match token("Bearer ") {
                Some(h) => {
                    headers.push(("Authorization", h));
                    headers.push(("Accept", Header::Plain("application/json".into())));
                }
                None => headers.extend(basic().map(|h| ("Authorization", h))),
            }
            (reference.to_string(), false)
        }
        _ => {
            headers.extend(basic().map(|h| ("Authorization", h)));
            (reference.to_string(), false)
        }
    };
    Fetch::Http { url, headers, then_download_url }
}
