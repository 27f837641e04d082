//! Clouddriver's artifact accounts and what downloading an artifact takes, as values. The
//! `artifacts:` section of clouddriver.yml (`s3`, `http`, `github`, `gitlab`, `bitbucket`, each
//! with `enabled` and `accounts[]`, keys as `clouddriver-artifacts` binds them) becomes
//! [`ArtifactAccount`]s; a kork `Artifact` ([`ArtifactRef`]) is matched to the account that
//! handles its type ([`choose_account`]) and turned into the request that fetches it
//! ([`fetch_of`]): an S3 GetObject or an HTTP GET with the provider's headers. Credentials
//! given as files are named, not read, here; the shell reads them just before the request.
//! Pure.

use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value as Yaml;

use crate::core::access::Permissions;
use crate::core::config::RawAccess;
use crate::core::description::lenient_string;
use crate::core::error::FieldError;
use crate::core::url_restrictions::{self, UrlRestrictions};

/// The artifact types ecs-deployer downloads, with the account kind that handles each.
pub const TYPES: [(&str, Kind); 6] = [
    ("embedded/base64", Kind::Embedded),
    ("s3/object", Kind::S3),
    ("http/file", Kind::Http),
    ("github/file", Kind::GitHub),
    ("gitlab/file", Kind::GitLab),
    ("bitbucket/file", Kind::Bitbucket),
];

/// Clouddriver's always-present account for `embedded/base64` (`EmbeddedArtifactAccount`).
pub const EMBEDDED_ACCOUNT: &str = "embedded-artifact";
/// The account Clouddriver adds when `artifacts.http` is enabled and no account uses auth.
pub const NO_AUTH_HTTP_ACCOUNT: &str = "no-auth-http-account";

/// The provider an artifact account belongs to (the key under `artifacts:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    Embedded,
    S3,
    Http,
    GitHub,
    GitLab,
    Bitbucket,
}

impl Kind {
    /// The artifact type this kind downloads.
    pub fn artifact_type(self) -> &'static str {
        TYPES.iter().find(|(_, k)| *k == self).map(|(t, _)| *t).unwrap_or_default()
    }

    /// Clouddriver's `CREDENTIALS_TYPE` (`artifacts-s3`), shown in `GET /artifacts/credentials`.
    pub fn credentials_type(self) -> &'static str {
        match self {
            Kind::Embedded => "artifacts-embedded",
            Kind::S3 => "artifacts-s3",
            Kind::Http => "artifacts-http",
            Kind::GitHub => "artifacts-github",
            Kind::GitLab => "artifacts-gitlab",
            Kind::Bitbucket => "artifacts-bitbucket",
        }
    }

    /// The kind that handles `artifact_type`, if ecs-deployer downloads it.
    pub fn of_type(artifact_type: &str) -> Option<Kind> {
        TYPES.iter().find(|(t, _)| *t == artifact_type).map(|(_, k)| *k)
    }

    /// The key under `artifacts:` in clouddriver.yml.
    pub fn config_key(self) -> &'static str {
        match self {
            Kind::Embedded => "embedded",
            Kind::S3 => "s3",
            Kind::Http => "http",
            Kind::GitHub => "github",
            Kind::GitLab => "gitlab",
            Kind::Bitbucket => "bitbucket",
        }
    }
}

/// A secret given inline or as a file to read (Clouddriver's `CredentialReader`: newlines removed).
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Inline(String),
    File(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Inline(_) => f.write_str("Secret::Inline(<redacted>)"),
            Secret::File(path) => write!(f, "Secret::File({path})"),
        }
    }
}

/// How an account authenticates its HTTP requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpAuth {
    /// `token` / `tokenFile` (the file wins, as in Clouddriver's `TokenAuth`).
    pub token: Option<Secret>,
    /// `usernamePasswordFile` (`user:password`), else `username` + `password`.
    pub basic: Option<Basic>,
}

/// Basic-auth credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basic {
    Pair { username: String, password: Secret },
    File(String),
}

/// An S3 account: where its endpoint is and whose keys it signs with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct S3Settings {
    pub region: Option<String>,
    /// An S3-compatible store's endpoint (path-style addressing), with its signing region.
    pub api_endpoint: Option<String>,
    pub api_region: Option<String>,
    /// `awsAccessKeyId` + `awsSecretAccessKey`; None: the standard AWS credential chain.
    pub access_key: Option<(String, Secret)>,
}

/// One artifact account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactAccount {
    pub name: String,
    pub kind: Kind,
    pub auth: HttpAuth,
    pub s3: S3Settings,
    /// GitHub: `useContentAPI` (one request with the raw media type) and `githubAPIVersion`.
    pub use_content_api: bool,
    pub github_api_version: String,
    /// Who may use it (`permissions`, `requiredGroupMembership`; READ to download with it).
    pub permissions: Permissions,
    /// Where its downloads may connect (`urlRestrictions`, over the section's); an account
    /// with credentials sends them only to its `allowedDomains` (by default its provider's).
    pub restrictions: UrlRestrictions,
}

impl ArtifactAccount {
    fn new(name: &str, kind: Kind) -> Self {
        ArtifactAccount {
            name: name.to_string(),
            kind,
            auth: HttpAuth::default(),
            s3: S3Settings::default(),
            use_content_api: false,
            github_api_version: "v3".into(),
            permissions: Permissions::default(),
            restrictions: UrlRestrictions::default(),
        }
    }

    /// True when the account sends credentials (for HTTP's no-auth default account).
    pub fn uses_auth(&self) -> bool {
        self.auth.token.is_some() || self.auth.basic.is_some()
    }

    /// Every credential file the account names, with its key.
    pub fn credential_files(&self) -> Vec<(&'static str, &str)> {
        let mut files = Vec::new();
        if let Some(Secret::File(path)) = &self.auth.token {
            files.push(("tokenFile", path.as_str()));
        }
        if let Some(Basic::File(path)) = &self.auth.basic {
            files.push(("usernamePasswordFile", path.as_str()));
        }
        files
    }
}

/// What `GET /artifacts/credentials` lists for an account: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialsView {
    pub name: String,
    pub types: Vec<&'static str>,
    #[serde(rename = "type")]
    pub credentials_type: &'static str,
}

impl From<&ArtifactAccount> for CredentialsView {
    fn from(a: &ArtifactAccount) -> Self {
        let types = match a.kind {
            Kind::Embedded => vec!["embedded/base64", "remote/base64"],
            kind => vec![kind.artifact_type()],
        };
        CredentialsView { name: a.name.clone(), types, credentials_type: a.kind.credentials_type() }
    }
}

/// One problem of the `artifacts:` section, with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

/// The raw account as Spring binds it (every key optional; unknown keys ignored, as Spring does).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAccount {
    name: Option<String>,
    region: Option<String>,
    api_region: Option<String>,
    api_endpoint: Option<String>,
    aws_access_key_id: Option<String>,
    aws_secret_access_key: Option<String>,
    username: Option<String>,
    password: Option<String>,
    username_password_file: Option<String>,
    token: Option<String>,
    token_file: Option<String>,
    #[serde(rename = "githubAPIVersion")]
    github_api_version: Option<String>,
    #[serde(rename = "useContentAPI")]
    use_content_api: Option<bool>,
    url_restrictions: Option<Yaml>,
    #[serde(flatten)]
    access: RawAccess,
}

#[derive(Debug, Default, Deserialize)]
struct RawProvider {
    enabled: Option<bool>,
    #[serde(default)]
    accounts: Vec<Yaml>,
}

const PROVIDERS: [Kind; 5] = [Kind::S3, Kind::Http, Kind::GitHub, Kind::GitLab, Kind::Bitbucket];

/// Providers Clouddriver knows that ecs-deployer does not download from.
const OTHER_PROVIDERS: [&str; 10] = ["gcs", "oracle", "helm", "gitrepo", "gitRepo", "maven", "ivy", "jenkins", "front50", "kubernetes"];

fn nonblank(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// The hosts an account of `kind` with credentials sends them to when its `urlRestrictions`
/// name no `allowedDomains` (Clouddriver's `DEFAULT_ALLOWED_DOMAINS`; an `http` account has none:
/// it must list its own).
pub fn default_credential_domains(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::GitHub => &[
            r"github\.com",
            r"api\.github\.com",
            r"codeload\.github\.com",
            r"raw\.githubusercontent\.com",
            r"media\.githubusercontent\.com",
            r"objects\.githubusercontent\.com",
        ],
        Kind::GitLab => &[r"gitlab\.com"],
        Kind::Bitbucket => &[r"bitbucket\.org", r"api\.bitbucket\.org"],
        Kind::Embedded | Kind::S3 | Kind::Http => &[],
    }
}

/// An account from its raw keys, with the section's `urlRestrictions` under its own; problems
/// as (key below the account, message).
fn account_of(raw: RawAccount, kind: Kind, section_restrictions: Option<&Yaml>) -> (ArtifactAccount, Vec<(String, String)>) {
    let mut a = ArtifactAccount::new(raw.name.as_deref().unwrap_or_default(), kind);
    let token_file = nonblank(raw.token_file).map(Secret::File);
    a.auth.token = token_file.or(nonblank(raw.token).map(Secret::Inline)).filter(|_| kind != Kind::Http && kind != Kind::S3);
    let pair = match (nonblank(raw.username), nonblank(raw.password)) {
        (Some(username), Some(password)) => Some(Basic::Pair { username, password: Secret::Inline(password) }),
        _ => None,
    };
    a.auth.basic = nonblank(raw.username_password_file).map(Basic::File).or(pair).filter(|_| kind != Kind::GitLab && kind != Kind::S3);
    if kind == Kind::S3 {
        a.s3 = S3Settings {
            region: nonblank(raw.region),
            api_endpoint: nonblank(raw.api_endpoint),
            api_region: nonblank(raw.api_region),
            access_key: match (nonblank(raw.aws_access_key_id), nonblank(raw.aws_secret_access_key)) {
                (Some(id), Some(secret)) => Some((id, Secret::Inline(secret))),
                _ => None,
            },
        };
    }
    if kind == Kind::GitHub {
        a.use_content_api = raw.use_content_api.unwrap_or(false);
        a.github_api_version = nonblank(raw.github_api_version).unwrap_or_else(|| "v3".into());
    }
    a.permissions = raw.access.permissions();
    let layered = url_restrictions::layered(section_restrictions, raw.url_restrictions.as_ref());
    // The section's own problems are reported once, under `artifacts.urlRestrictions`.
    let own = |key: &str| {
        let key = key.strip_prefix("urlRestrictions.").unwrap_or(key);
        raw.url_restrictions.as_ref().and_then(Yaml::as_mapping).is_some_and(|m| m.contains_key(key))
    };
    let problems = match UrlRestrictions::parse(layered.as_ref()) {
        Ok(restrictions) if a.uses_auth() => {
            a.restrictions = restrictions.with_default_domains(default_credential_domains(kind));
            Vec::new()
        }
        Ok(restrictions) => {
            a.restrictions = restrictions;
            Vec::new()
        }
        Err(problems) => problems.into_iter().filter(|(key, _)| own(key)).collect(),
    };
    (a, problems)
}

/// The artifact accounts of an `artifacts:` section (None: no section), Clouddriver's way: the
/// embedded account always; a provider's accounts only when it is `enabled`; HTTP's no-auth
/// account when HTTP is enabled and none of its accounts authenticates. Every problem at once.
pub fn accounts(section: Option<&Yaml>) -> Result<Vec<ArtifactAccount>, Vec<ConfigProblem>> {
    let (accounts, problems) = read_accounts(section);
    if problems.is_empty() { Ok(accounts) } else { Err(problems) }
}

/// [`accounts`], with the accounts that could be read even when others could not.
pub fn read_accounts(section: Option<&Yaml>) -> (Vec<ArtifactAccount>, Vec<ConfigProblem>) {
    let mut out = vec![ArtifactAccount::new(EMBEDDED_ACCOUNT, Kind::Embedded)];
    let mut problems = Vec::new();
    let mut problem = |key: String, message: String| problems.push(ConfigProblem { key, message });
    let Some(section) = section.filter(|s| !s.is_null()) else { return (out, problems) };
    let Some(map) = section.as_mapping() else {
        problem("artifacts".into(), "`artifacts` must be a mapping of providers (s3, http, github, gitlab, bitbucket)".into());
        return (out, problems);
    };
    for (key, _) in map {
        let key = key.as_str().unwrap_or_default();
        // Clouddriver's other providers (gcs, helm, …) may stay in a shared clouddriver.yml: an
        // artifact of their types is refused by type when a deploy names one.
        let known = PROVIDERS.iter().any(|k| k.config_key() == key)
            || ["enabled", "embedded", "urlRestrictions"].contains(&key)
            || OTHER_PROVIDERS.contains(&key);
        if !known {
            problem(
                format!("artifacts.{key}"),
                format!("unknown artifact provider `{key}`; ecs-deployer reads s3, http, github, gitlab and bitbucket"),
            );
        }
    }
    let section_restrictions = map.get("urlRestrictions");
    if let Err(section_problems) = UrlRestrictions::parse(section_restrictions) {
        for (key, message) in section_problems {
            problem(format!("artifacts.{key}"), message);
        }
    }
    for kind in PROVIDERS {
        let Some(value) = map.get(kind.config_key()) else { continue };
        let base = format!("artifacts.{}", kind.config_key());
        let provider: RawProvider = match serde_yaml_ng::from_value(value.clone()) {
            Ok(p) => p,
            Err(e) => {
                problem(base, format!("{e}"));
                continue;
            }
        };
        if provider.enabled != Some(true) {
            continue;
        }
        let mut names: Vec<String> = Vec::new();
        let mut of_kind = Vec::new();
        for (i, raw) in provider.accounts.into_iter().enumerate() {
            let key = format!("{base}.accounts[{i}]");
            let raw: RawAccount = match serde_yaml_ng::from_value(raw) {
                Ok(r) => r,
                Err(e) => {
                    problem(key, format!("{e}"));
                    continue;
                }
            };
            let (account, account_problems) = account_of(raw, kind, section_restrictions);
            for (sub, message) in account_problems {
                problem(format!("{key}.{sub}"), message);
            }
            if account.name.trim().is_empty() {
                problem(format!("{key}.name"), "an artifact account needs a name".into());
            } else if names.contains(&account.name) {
                problem(format!("{key}.name"), format!("artifact account name `{}` is used twice", account.name));
            }
            names.push(account.name.clone());
            of_kind.push(account);
        }
        if kind == Kind::Http && !of_kind.iter().any(ArtifactAccount::uses_auth) {
            let mut no_auth = ArtifactAccount::new(NO_AUTH_HTTP_ACCOUNT, Kind::Http);
            no_auth.restrictions = UrlRestrictions::parse(section_restrictions).unwrap_or_default();
            of_kind.push(no_auth);
        }
        out.extend(of_kind);
    }
    (out, problems)
}

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

/// A URL as messages show it: without `user:password@` and without its query (either may
/// carry a credential).
pub fn shown_url(url: &str) -> String {
    let url = url.split('?').next().unwrap_or(url);
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, String::new()));
            let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

/// A URL's scheme and host (lowercased; an IPv6 literal without brackets), as far as they can
/// be read before the shell parses the URL it connects to.
pub fn scheme_and_host(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map(|(h, _)| h).unwrap_or(host),
    };
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// Whether `account` may download from `url`: its URL restrictions, and for an account with
/// credentials, that the host is one its credentials are for. The message names the account
/// and the host.
pub fn check_reach(account: &ArtifactAccount, url: &str) -> Result<(), String> {
    let Some((scheme, host)) = scheme_and_host(url) else { return Err(format!("{} is not an absolute URL", shown_url(url))) };
    let name = &account.name;
    if account.uses_auth() && account.restrictions.allowed_domains.is_empty() {
        return Err(format!(
            "artifact account `{name}` sends credentials but lists no urlRestrictions.allowedDomains; \
             list the hosts its credentials are for (refused: {host})"
        ));
    }
    account.restrictions.check_host(&scheme, &host).map_err(|why| format!("artifact account `{name}` may not reach {host}: {why}"))
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
    let code = "createServerGroupDescription.resolvedTaskDefinitionArtifact.invalid";
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
    let code = "createServerGroupDescription.resolvedTaskDefinitionArtifact.invalid";
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

/// The content of an `embedded/base64` artifact.
pub fn embedded_bytes(reference: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(reference.trim())
        .map_err(|e| format!("the embedded/base64 artifact's reference is not base64: {e}"))
}

/// The task definition in a downloaded body: JSON, or YAML (the first document, as Orca's
/// SnakeYAML `loadAll` takes it).
pub fn parse_document(bytes: &[u8], label: &str, field: &str) -> Result<serde_json::Value, FieldError> {
    let code = "createServerGroupDescription.resolvedTaskDefinitionArtifact.invalid";
    let text = std::str::from_utf8(bytes).map_err(|_| FieldError::new(field, code, format!("the {label} is not UTF-8 text")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        return Ok(v);
    }
    let first = crate::core::input::first_yaml_document(text)
        .map_err(|e| FieldError::new(field, code, format!("the {label} is neither JSON nor YAML: {e}")))?;
    serde_json::to_value(first).map_err(|e| FieldError::new(field, code, format!("the {label} cannot be read as a task definition: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> Yaml {
        serde_yaml_ng::from_str::<Yaml>(text).unwrap()
    }

    fn artifact(kind: &str, reference: &str, account: Option<&str>) -> ArtifactRef {
        ArtifactRef {
            kind: Some(kind.into()),
            reference: Some(reference.into()),
            artifact_account: account.map(str::to_string),
            ..Default::default()
        }
    }

    const CONFIG: &str = "
s3: {enabled: true, accounts: [{name: bucket, region: us-west-2}, {name: minio, apiEndpoint: 'http://minio:9000', apiRegion: us-east-1, awsAccessKeyId: AK, awsSecretAccessKey: SK}]}
http: {enabled: true, accounts: [{name: web}]}
github: {enabled: true, accounts: [{name: gh, token: t0ken, useContentAPI: true}, {name: ghe, tokenFile: /run/gh, token: ignored, urlRestrictions: {allowedDomains: ['ghe\\.example\\.com']}}]}
gitlab: {enabled: true, accounts: [{name: gl, token: glt}]}
bitbucket: {enabled: true, accounts: [{name: bb, username: u, password: p}, {name: bbt, token: bt}]}
";

    #[test]
    fn accounts_are_bound_as_clouddriver_binds_them() {
        let accounts = accounts(Some(&section(CONFIG))).unwrap();
        let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["embedded-artifact", "bucket", "minio", "web", "no-auth-http-account", "gh", "ghe", "gl", "bb", "bbt"]);
        let ghe = accounts.iter().find(|a| a.name == "ghe").unwrap();
        assert_eq!(ghe.auth.token, Some(Secret::File("/run/gh".into())), "tokenFile wins over token");
        let minio = accounts.iter().find(|a| a.name == "minio").unwrap();
        assert_eq!(minio.s3.api_endpoint.as_deref(), Some("http://minio:9000"));
        assert!(minio.s3.access_key.is_some());
        assert!(!format!("{minio:?}").contains("SK"), "secrets are not in Debug output");
        let disabled = accounts_of("github: {accounts: [{name: gh}]}\n");
        assert_eq!(disabled, ["embedded-artifact"], "a provider without enabled: true has no accounts");
    }

    fn accounts_of(text: &str) -> Vec<String> {
        accounts(Some(&section(text))).unwrap().into_iter().map(|a| a.name).collect()
    }

    #[test]
    fn configuration_problems_are_named_by_key() {
        let problems = accounts(Some(&section(
            "gcs: {enabled: true}\nweird: {}\ngithub: {enabled: true, accounts: [{name: a}, {name: a}, {token: x}]}\n",
        )))
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["artifacts.weird", "artifacts.github.accounts[1].name", "artifacts.github.accounts[2].name"],
            "gcs is Clouddriver's"
        );
        let (readable, _) = read_accounts(Some(&section("weird: {}\ngitlab: {enabled: true, accounts: [{name: gl}]}\n")));
        assert_eq!(readable.len(), 2, "the accounts that read are kept for the checks that report on each");
    }

    #[test]
    fn the_account_is_the_named_one_the_fallback_or_the_only_one() {
        let accounts = accounts(Some(&section(CONFIG))).unwrap();
        let pick = |a: &ArtifactRef, fallback: Option<&str>| choose_account(&accounts, a, fallback, "f").map(|a| a.name.clone());
        assert_eq!(pick(&artifact("gitlab/file", "https://x", None), None).unwrap(), "gl", "the only gitlab account");
        assert_eq!(pick(&artifact("s3/object", "s3://b/k", Some("minio")), None).unwrap(), "minio");
        assert_eq!(pick(&artifact("s3/object", "s3://b/k", None), Some("bucket")).unwrap(), "bucket", "taskDefinitionArtifactAccount");
        assert_eq!(pick(&artifact("s3/object", "s3://b/k", Some("minio")), Some("bucket")).unwrap(), "minio", "the artifact's own wins");
        let err = pick(&artifact("s3/object", "s3://b/k", None), None).unwrap_err();
        assert!(err.message.contains("bucket, minio"), "{}", err.message);
        let err = pick(&artifact("github/file", "https://x", Some("gl")), None).unwrap_err();
        assert!(err.message.contains("`gl` supporting artifact type `github/file` cannot be found"), "{}", err.message);
        let err = pick(&artifact("gcs/object", "gs://b/k", None), None).unwrap_err();
        assert_eq!(err.field, "f.type");
        assert_eq!(pick(&artifact("embedded/base64", "e30=", Some("whatever")), None).unwrap(), "embedded-artifact");
    }

    #[test]
    fn each_provider_fetches_as_clouddriver_does() {
        let accounts = accounts(Some(&section(CONFIG))).unwrap();
        let fetch = |name: &str, a: ArtifactRef| fetch_of(accounts.iter().find(|x| x.name == name).unwrap(), &a, "f");
        let s3 = fetch("bucket", ArtifactRef { version: Some("v1".into()), ..artifact("s3/object", "s3://b/path/td.json", None) });
        assert_eq!(s3.unwrap(), Fetch::S3 { bucket: "b".into(), key: "path/td.json".into(), version_id: Some("v1".into()) });
        assert!(
            fetch("bucket", artifact("s3/object", "s3://bucket-only", None)).unwrap_err().message.contains("s3://<bucket>/<file-path>")
        );
        let Fetch::Http { url, headers, then_download_url } =
            fetch("gh", artifact("github/file", "https://api.github.com/repos/o/r/contents/td.json", None)).unwrap()
        else {
            panic!()
        };
        assert_eq!(url, "https://api.github.com/repos/o/r/contents/td.json?ref=master");
        assert!(!then_download_url);
        assert_eq!(headers[0], ("Authorization", Header::Token { prefix: "token ", token: Secret::Inline("t0ken".into()) }));
        assert_eq!(headers[1], ("Accept", Header::Plain("application/vnd.github.v3.raw".into())));
        let Fetch::Http { url, then_download_url, .. } = fetch(
            "ghe",
            ArtifactRef {
                version: Some("release/1".into()),
                ..artifact("github/file", "https://ghe.example.com/api/v3/repos/o/r/contents/td.json", None)
            },
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(url, "https://ghe.example.com/api/v3/repos/o/r/contents/td.json?ref=release%2F1");
        assert!(then_download_url, "without useContentAPI the metadata's download_url is fetched");
        let Fetch::Http { headers, .. } =
            fetch("gl", artifact("gitlab/file", "https://gitlab.com/api/v4/projects/1/repository/files/td.json/raw", None)).unwrap()
        else {
            panic!()
        };
        assert_eq!(headers, [("Private-Token", Header::Token { prefix: "", token: Secret::Inline("glt".into()) })]);
        let Fetch::Http { headers, .. } = fetch("bbt", artifact("bitbucket/file", "https://bitbucket.org/x", None)).unwrap() else {
            panic!()
        };
        assert_eq!(headers.len(), 2, "a token: Bearer and Accept json");
        let Fetch::Http { headers, .. } = fetch("bb", artifact("bitbucket/file", "https://bitbucket.org/x", None)).unwrap() else {
            panic!()
        };
        assert!(matches!(&headers[0], ("Authorization", Header::Basic(Basic::Pair { .. }))));
        assert!(fetch("web", artifact("http/file", "ftp://x", None)).unwrap_err().message.contains("Malformed content URL"));
    }

    #[test]
    fn urls_are_shown_without_credentials_and_reach_only_what_the_account_may() {
        assert_eq!(shown_url("https://user:pa55@host:8443/path/td.json?token=x"), "https://host:8443/path/td.json");
        assert_eq!(scheme_and_host("HTTP://u:p@[::FFFF:a9fe:a9fe]:80/x"), Some(("http".into(), "::ffff:a9fe:a9fe".into())));
        assert_eq!(scheme_and_host("https://Example.com:8443/x?y"), Some(("https".into(), "example.com".into())));
        let accounts = accounts(Some(&section(CONFIG))).unwrap();
        let account = |name: &str| accounts.iter().find(|a| a.name == name).unwrap();
        let refused = |name: &str, url: &str| check_reach(account(name), url).unwrap_err();
        for url in ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/x", "http://127.0.0.1:8080/td.json", "http://10.0.0.1/x"]
        {
            assert!(refused("web", url).contains("`web` may not reach"), "{url}");
        }
        assert!(
            check_reach(account("web"), "https://files.example.com/td.json").is_ok(),
            "an account without credentials: any public host"
        );
        assert!(refused("gh", "https://evil.example.com/steal").contains("allowed domains"), "a token goes only to GitHub");
        assert!(check_reach(account("gh"), "https://raw.githubusercontent.com/o/r/main/td.json").is_ok());
        assert!(refused("ghe", "https://api.github.com/x").contains("allowed domains"), "GitHub Enterprise: only its own hosts");
        let intranet = accounts_of_config("http: {enabled: true, accounts: [{name: intranet, username: u, password: p}]}\n");
        assert!(
            check_reach(&intranet[1], "https://files.example.com/td.json").unwrap_err().contains("lists no urlRestrictions.allowedDomains")
        );
        let a = artifact("http/file", "http://169.254.169.254/latest/meta-data/iam/security-credentials/role", None);
        assert!(fetch_of(account("web"), &a, "f").unwrap_err().message.contains("link-local"));
    }

    fn accounts_of_config(text: &str) -> Vec<ArtifactAccount> {
        accounts(Some(&section(text))).unwrap()
    }

    #[test]
    fn artifact_accounts_take_permissions_and_url_restrictions() {
        let configured = accounts_of_config(
            "urlRestrictions: {rejectLocalhost: false, rejectVerbatimIps: false}\n\
             http: {enabled: true, accounts: [{name: intranet, username: u, password: p, permissions: {READ: [Payments]}, \
             urlRestrictions: {allowedDomains: ['127\\.0\\.0\\.1']}}]}\n",
        );
        let intranet = &configured[1];
        assert!(intranet.permissions.is_restricted());
        assert_eq!(intranet.permissions.roles(crate::core::access::Authorization::Read), ["payments"]);
        assert!(check_reach(intranet, "http://127.0.0.1:9000/td.json").is_ok(), "the section's keys under the account's own");
        assert!(check_reach(intranet, "http://localhost:9000/td.json").is_err(), "credentials only to the listed host");
        let problems = accounts(Some(&section(
            "urlRestrictions: {rejectLinkLocal: false}\nhttp: {enabled: true, accounts: [{name: a}, {name: b, urlRestrictions: {rejectedIps: [x]}}]}\n",
        )))
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["artifacts.urlRestrictions.rejectLinkLocal", "artifacts.http.accounts[1].urlRestrictions.rejectedIps"]);
    }

    #[test]
    fn documents_are_json_or_the_first_yaml_document() {
        assert_eq!(parse_document(b"{\"family\": \"a\"}", "x", "f").unwrap()["family"], "a");
        let yaml = b"family: web\ncontainerDefinitions:\n  - name: web\n    essential: true\n---\nfamily: second\n";
        assert_eq!(parse_document(yaml, "x", "f").unwrap()["family"], "web");
        assert!(parse_document(b"\xff\xfe", "x", "f").unwrap_err().message.contains("UTF-8"));
        assert!(parse_document(b"{unclosed: [", "x", "f").is_err());
    }
}
