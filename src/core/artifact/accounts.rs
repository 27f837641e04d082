//! The `artifacts:` section of clouddriver.yml read into [`ArtifactAccount`]s: each provider's
//! `enabled` and `accounts[]` as `clouddriver-artifacts` binds them, their credentials (files
//! named, not read), permissions and URL restrictions; every problem reported at once.

use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value as Yaml;

use super::{EMBEDDED_ACCOUNT, Kind, NO_AUTH_HTTP_ACCOUNT};
use crate::core::access::Permissions;
use crate::core::config::RawAccess;
use crate::core::url_restrictions::{self, UrlRestrictions};

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
/// The `artifacts.urlRestrictions` section on its own (kork's defaults where it says nothing):
/// where ecs-deployer itself may connect outside an artifact account (a traffic shift's probe).
pub fn section_restrictions(artifacts: Option<&Yaml>) -> UrlRestrictions {
    UrlRestrictions::parse(artifacts.and_then(Yaml::as_mapping).and_then(|m| m.get("urlRestrictions"))).unwrap_or_default()
}

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
