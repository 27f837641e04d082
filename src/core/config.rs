//! Accounts from Spinnaker's `clouddriver.yml` format: `aws.accounts` (id, regions, role) and
//! `ecs.accounts` (an ECS account rides on an AWS account). Several files are merged key by key,
//! later files winning, the way Spring merges `clouddriver.yml` and `clouddriver-local.yml`.
//! Resolving an account name gives a typed [`Account`]. Pure: reads files, never the network.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::core::access::{Authorization, Permissions};
use crate::core::error::{Error, Result};

/// How server group names are turned into monikers and back (`namingStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NamingStrategy {
    /// Frigga: the moniker is parsed from the service name.
    Default,
    /// The moniker is also written to, and read from, `moniker.spinnaker.io/*` service tags.
    Tags,
}

/// Which IAM roles ECS and Application Auto Scaling act with (`iamRoleMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IamRoleMode {
    /// Spinnaker 1.19+: the ECS and Application Auto Scaling service-linked roles.
    ServiceLinked,
    /// Spinnaker ≤ 1.18: the account role is passed as the service role and scalable-target role.
    Legacy,
}

/// One region of an AWS account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegionConfig {
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub availability_zones: Vec<String>,
}

/// A resolved Spinnaker ECS account with everything of its AWS account a deploy needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// The ECS account name (what descriptions call `credentials` / `account`).
    pub name: String,
    /// The AWS provider account it rides on.
    pub aws_account: String,
    pub account_id: String,
    pub regions: Vec<RegionConfig>,
    /// `role/Name` or a full role ARN; None when the default credentials are used as they are.
    pub assume_role: Option<String>,
    pub session_name: String,
    pub naming_strategy: NamingStrategy,
    pub iam_role_mode: IamRoleMode,
    /// Who may read and write it: the ECS account's own `permissions` (or
    /// `requiredGroupMembership`), else its AWS account's, as Clouddriver's `EcsAccountBuilder`
    /// copies them.
    #[serde(skip_serializing_if = "permissions_are_open")]
    pub permissions: Permissions,
}

fn permissions_are_open(permissions: &Permissions) -> bool {
    !permissions.is_restricted()
}

/// The AWS partition a region belongs to.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

impl Account {
    /// The account role's ARN in `region`'s partition (Decisions #20: Clouddriver hard-codes `aws`).
    /// A configured value that already is an ARN is used unchanged.
    pub fn role_arn(&self, region: &str) -> Option<String> {
        let role = self.assume_role.as_deref()?;
        if role.starts_with("arn:") {
            return Some(role.to_string());
        }
        Some(format!("arn:{}:iam::{}:{}", partition(region), self.account_id, role))
    }

    pub fn has_region(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r.name == region)
    }

    pub fn region_names(&self) -> Vec<&str> {
        self.regions.iter().map(|r| r.name.as_str()).collect()
    }
}

/// The merged configuration files.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub files: Vec<PathBuf>,
    raw: RawConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    aws: RawAws,
    #[serde(default)]
    ecs: RawEcs,
    /// Clouddriver's artifact accounts, read by [`crate::core::artifact::accounts`].
    #[serde(default)]
    artifacts: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAws {
    enabled: Option<bool>,
    default_assume_role: Option<String>,
    #[serde(default)]
    accounts: Vec<RawAwsAccount>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAwsAccount {
    name: String,
    #[serde(deserialize_with = "scalar_string")]
    account_id: String,
    #[serde(default)]
    regions: Vec<RawRegion>,
    assume_role: Option<String>,
    session_name: Option<String>,
    #[serde(flatten)]
    access: RawAccess,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRegion {
    name: String,
    #[serde(default)]
    availability_zones: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEcs {
    enabled: Option<bool>,
    default_naming_strategy: Option<String>,
    #[serde(default)]
    accounts: Vec<RawEcsAccount>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEcsAccount {
    name: String,
    aws_account: Option<String>,
    naming_strategy: Option<String>,
    iam_role_mode: Option<String>,
    #[serde(flatten)]
    access: RawAccess,
}

/// Who may use an account: Fiat's `permissions` and the legacy `requiredGroupMembership`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawAccess {
    #[serde(default, deserialize_with = "permissions_map")]
    permissions: Option<BTreeMap<Authorization, Vec<String>>>,
    #[serde(default, deserialize_with = "role_list")]
    required_group_membership: Option<Vec<String>>,
}

impl RawAccess {
    pub(crate) fn permissions(&self) -> Permissions {
        Permissions::new(self.permissions.clone().unwrap_or_default(), self.required_group_membership.as_deref().unwrap_or_default())
    }
}

/// A list of roles: a YAML list, or one comma-separated string (as Spring binds a `Set<String>`).
fn roles_of(value: Value) -> std::result::Result<Vec<String>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(s.split(',').map(str::to_string).collect()),
        Value::Sequence(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err("a role is a string".to_string()),
            })
            .collect(),
        _ => Err("expected a list of roles".to_string()),
    }
}

fn role_list<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Vec<String>>, D::Error> {
    roles_of(Value::deserialize(d)?).map(Some).map_err(serde::de::Error::custom)
}

/// `permissions: {READ: [...], WRITE: [...]}`; keys are Fiat's authorizations, in any case.
fn permissions_map<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<BTreeMap<Authorization, Vec<String>>>, D::Error> {
    let Value::Mapping(map) = Value::deserialize(d)? else {
        return Err(serde::de::Error::custom("expected a mapping such as {READ: [role], WRITE: [role]}"));
    };
    let mut out = BTreeMap::new();
    for (key, value) in map {
        let key = key.as_str().unwrap_or_default().to_string();
        let Some(authorization) = Authorization::parse(&key) else {
            return Err(serde::de::Error::custom(format!("unknown authorization `{key}`; use READ, WRITE, EXECUTE or CREATE")));
        };
        let roles = roles_of(value).map_err(|e| serde::de::Error::custom(format!("{key}: {e}")))?;
        out.entry(authorization).or_insert_with(Vec::new).extend(roles);
    }
    Ok(Some(out))
}

/// Account ids are often written unquoted (`accountId: 123456789012`): accept numbers too.
fn scalar_string<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("expected a string, found {other:?}"))),
    }
}

/// Deep-merges `over` into `base`: mappings key by key, anything else replaced.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(base), Value::Mapping(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

impl Config {
    /// Reads and merges `files` in order.
    pub fn load(files: &[PathBuf]) -> Result<Self> {
        let mut merged = Value::Mapping(Default::default());
        for path in files {
            let text = read_config_file(path)?;
            let value = crate::core::input::parse_yaml(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
            if !matches!(value, Value::Mapping(_) | Value::Null) {
                return Err(Error::Config(format!("{}: expected a mapping with `aws:` and `ecs:` keys", path.display())));
            }
            if !value.is_null() {
                merge(&mut merged, value);
            }
        }
        Self::from_value(merged, files.to_vec())
    }

    /// Parses one YAML document (used by tests and by `load`).
    pub fn from_yaml(text: &str) -> Result<Self> {
        let value = crate::core::input::parse_yaml(text).map_err(Error::Config)?;
        Self::from_value(value, Vec::new())
    }

    fn from_value(value: Value, files: Vec<PathBuf>) -> Result<Self> {
        let where_ = if files.is_empty() {
            "configuration".to_string()
        } else {
            files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" + ")
        };
        let raw: RawConfig = if value.is_null() {
            RawConfig::default()
        } else {
            serde_path_to_error::deserialize(value).map_err(|e| Error::Config(format!("{where_}: `{}`: {}", e.path(), e.inner())))?
        };
        Ok(Config { files, raw })
    }

    /// The artifact accounts (`artifacts:`), or every problem of that section.
    pub fn artifact_accounts(&self) -> std::result::Result<Vec<crate::core::artifact::ArtifactAccount>, Vec<Problem>> {
        crate::core::artifact::accounts(self.raw.artifacts.as_ref())
            .map_err(|problems| problems.into_iter().map(|p| Problem { key: p.key, message: p.message }).collect())
    }

    /// The artifact accounts that can be read, even when others cannot (for checks that report on each).
    /// Where ecs-deployer may connect on its own (the `artifacts.urlRestrictions` section).
    pub fn url_restrictions(&self) -> crate::core::url_restrictions::UrlRestrictions {
        crate::core::artifact::section_restrictions(self.raw.artifacts.as_ref())
    }

    pub fn readable_artifact_accounts(&self) -> Vec<crate::core::artifact::ArtifactAccount> {
        crate::core::artifact::read_accounts(self.raw.artifacts.as_ref()).0
    }

    /// Names of all ECS accounts.
    pub fn ecs_account_names(&self) -> Vec<&str> {
        self.raw.ecs.accounts.iter().map(|a| a.name.as_str()).collect()
    }

    /// Resolves the ECS account `name` into an [`Account`].
    pub fn account(&self, name: &str) -> Result<Account> {
        let known = || {
            let names = self.ecs_account_names();
            if names.is_empty() && self.files.is_empty() {
                "no configuration file was found (looked for $ECS_DEPLOYER_CONFIG, ./clouddriver.yml, ./clouddriver-local.yml)".to_string()
            } else if names.is_empty() {
                let files: Vec<String> = self.files.iter().map(|f| f.display().to_string()).collect();
                format!("{} define no `ecs.accounts`", files.join(", "))
            } else {
                format!("known ECS accounts: {}", names.join(", "))
            }
        };
        let Some(ecs) = self.raw.ecs.accounts.iter().find(|a| a.name == name) else {
            if self.raw.aws.accounts.iter().any(|a| a.name == name) {
                return Err(Error::Config(format!(
                    "`{name}` is an AWS account, not an ECS account; add `ecs.accounts: [{{name: {name}-ecs, awsAccount: {name}}}]` and deploy with that name ({})",
                    known()
                )));
            }
            return Err(Error::Config(format!("credentials not found: no ECS account named `{name}` ({})", known())));
        };
        if self.raw.ecs.enabled == Some(false) {
            return Err(Error::Config("the ECS provider is disabled (`ecs.enabled: false`)".into()));
        }
        let Some(aws_name) = ecs.aws_account.as_deref() else {
            return Err(Error::Config(format!("ECS account `{name}` has no `awsAccount`; set it to the name of an `aws.accounts` entry")));
        };
        let Some(aws) = self.raw.aws.accounts.iter().find(|a| a.name == aws_name) else {
            let names: Vec<&str> = self.raw.aws.accounts.iter().map(|a| a.name.as_str()).collect();
            return Err(Error::Config(format!(
                "ECS account `{name}` maps to AWS account `{aws_name}`, which is not in `aws.accounts` (known: {})",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )));
        };
        if self.raw.aws.enabled == Some(false) {
            return Err(Error::Config("the AWS provider is disabled (`aws.enabled: false`), and ECS accounts ride on it".into()));
        }
        if let Some(problem) = account_id_problem(&aws.account_id) {
            return Err(Error::Config(format!("AWS account `{aws_name}`: {problem}")));
        }
        let naming = ecs.naming_strategy.as_deref().or(self.raw.ecs.default_naming_strategy.as_deref());
        let naming_strategy = naming_strategy(naming).map_err(|e| Error::Config(format!("ECS account `{name}`: {e}")))?;
        let iam_role_mode = iam_role_mode(ecs.iam_role_mode.as_deref()).map_err(|e| Error::Config(format!("ECS account `{name}`: {e}")))?;
        let assume_role = aws.assume_role.clone().or_else(|| self.raw.aws.default_assume_role.clone()).filter(|r| !r.is_empty());
        Ok(Account {
            name: name.to_string(),
            aws_account: aws_name.to_string(),
            account_id: aws.account_id.clone(),
            regions: aws
                .regions
                .iter()
                .map(|r| RegionConfig { name: r.name.clone(), availability_zones: r.availability_zones.clone() })
                .collect(),
            assume_role,
            session_name: aws.session_name.clone().unwrap_or_else(|| "Spinnaker".to_string()),
            naming_strategy,
            iam_role_mode,
            permissions: effective_permissions(&ecs.access, &aws.access),
        })
    }

    /// What `accounts validate` and `doctor` warn about without refusing the configuration: an
    /// ECS account less restricted than its AWS account, and two ECS accounts on one AWS account
    /// and region with different permissions (each can read and change the other's server
    /// groups: they list the same services).
    pub fn warnings(&self) -> Vec<Problem> {
        let mut warnings = Vec::new();
        let accounts: Vec<(usize, Account)> =
            self.raw.ecs.accounts.iter().enumerate().filter_map(|(i, a)| self.account(&a.name).ok().map(|acc| (i, acc))).collect();
        for (i, account) in &accounts {
            let Some(aws) = self.raw.aws.accounts.iter().find(|a| a.name == account.aws_account) else { continue };
            let (own, inherited) = (&account.permissions, aws.access.permissions());
            let wider = [Authorization::Read, Authorization::Write]
                .into_iter()
                .find(|auth| inherited.is_restricted() && own.roles(*auth).iter().any(|r| !inherited.roles(*auth).contains(r)));
            if let Some(auth) = wider {
                let message = format!(
                    "ECS account `{}` gives {} to roles its AWS account `{}` does not ({}); the ECS account's own permissions win",
                    account.name,
                    auth.name(),
                    account.aws_account,
                    own.roles(auth).join(", ")
                );
                warnings.push(Problem { key: format!("ecs.accounts[{i}].permissions"), message });
            }
        }
        for (n, (i, a)) in accounts.iter().enumerate() {
            for (j, b) in &accounts[n + 1..] {
                let shared = a.regions.iter().find(|r| b.has_region(&r.name));
                if let Some(region) = shared.filter(|_| a.aws_account == b.aws_account && a.permissions != b.permissions) {
                    let message = format!(
                        "ECS accounts `{}` and `{}` ride on AWS account `{}` in {} with different permissions: whoever may use either \
                         can read and change the other's server groups (they are the same services); give them the same permissions",
                        a.name, b.name, a.aws_account, region.name
                    );
                    warnings.push(Problem { key: format!("ecs.accounts[{j}].permissions (and ecs.accounts[{i}])"), message });
                }
            }
        }
        for artifact in self.readable_artifact_accounts() {
            if artifact.uses_auth() && artifact.restrictions.allowed_domains.is_empty() {
                let message = format!(
                    "artifact account `{}` sends credentials but lists no urlRestrictions.allowedDomains: every download with it \
                     is refused until the hosts its credentials are for are listed",
                    artifact.name
                );
                warnings.push(Problem {
                    key: format!("artifacts.{}.accounts[{}].urlRestrictions", artifact.kind.config_key(), artifact.name),
                    message,
                });
            }
        }
        warnings
    }
}

/// An ECS account's permissions: its own when they name a role, else its AWS account's (as
/// Clouddriver's `EcsAccountBuilder` copies them) — `permissions: {}` or
/// `requiredGroupMembership: []`, which Halyard writes, restrict nothing and so inherit.
fn effective_permissions(ecs: &RawAccess, aws: &RawAccess) -> Permissions {
    let own = ecs.permissions();
    if own.is_restricted() { own } else { aws.permissions() }
}

/// `namingStrategy` (default `default`).
fn naming_strategy(value: Option<&str>) -> std::result::Result<NamingStrategy, String> {
    match value.unwrap_or("default") {
        "default" => Ok(NamingStrategy::Default),
        "tags" => Ok(NamingStrategy::Tags),
        other => Err(format!("could not find naming strategy `{other}`; use `default` or `tags`")),
    }
}

/// `iamRoleMode` (default `service-linked`).
fn iam_role_mode(value: Option<&str>) -> std::result::Result<IamRoleMode, String> {
    match value.unwrap_or("service-linked") {
        "service-linked" | "serviceLinked" => Ok(IamRoleMode::ServiceLinked),
        "legacy" => Ok(IamRoleMode::Legacy),
        other => Err(format!("unknown iamRoleMode `{other}`; use `service-linked` or `legacy`")),
    }
}

/// What is wrong with an AWS account id, if anything: it is 12 digits.
fn account_id_problem(id: &str) -> Option<String> {
    (id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("accountId `{id}` is not 12 digits (an AWS account id is 12 digits: quote it to keep leading zeros)"))
}

/// True for `role/NAME` and for a role ARN of a 12-digit account.
pub fn role_is_well_formed(role: &str) -> bool {
    if let Some(rest) = role.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        return parts.len() == 5
            && parts[1] == "iam"
            && parts[3].len() == 12
            && parts[3].bytes().all(|b| b.is_ascii_digit())
            && parts[4].starts_with("role/")
            && parts[4].len() > 5;
    }
    role.starts_with("role/") && role.len() > 5
}

/// One problem of a configuration, with its key (`aws.accounts[1].accountId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// Problems on one line: `key: message; key: message`.
pub fn describe(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("{}: {}", p.key, p.message)).collect::<Vec<_>>().join("; ")
}

impl Config {
    /// Every problem of the configuration at once: what `accounts validate` and the editor report,
    /// by the same rules [`Config::account`] resolves with.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut p = |key: String, message: String| problems.push(Problem { key, message });
        let (aws, ecs) = (&self.raw.aws, &self.raw.ecs);
        let mut aws_names: Vec<&str> = Vec::new();
        for (i, a) in aws.accounts.iter().enumerate() {
            let key = format!("aws.accounts[{i}]");
            if a.name.trim().is_empty() {
                p(format!("{key}.name"), "an AWS account needs a name".into());
            } else if aws_names.contains(&a.name.as_str()) {
                p(format!("{key}.name"), format!("AWS account name `{}` is used twice", a.name));
            }
            aws_names.push(&a.name);
            if let Some(problem) = account_id_problem(&a.account_id) {
                p(format!("{key}.accountId"), format!("{problem} (account `{}`)", a.name));
            }
            if let Some(role) = a.assume_role.as_deref().filter(|r| !role_is_well_formed(r)) {
                p(format!("{key}.assumeRole"), format!("assumeRole `{role}` is neither `role/NAME` nor a role ARN"));
            }
            if a.regions.is_empty() {
                p(format!("{key}.regions"), format!("AWS account `{}` lists no regions", a.name));
            }
        }
        if let Some(role) = aws.default_assume_role.as_deref().filter(|r| !role_is_well_formed(r)) {
            p("aws.defaultAssumeRole".into(), format!("defaultAssumeRole `{role}` is neither `role/NAME` nor a role ARN"));
        }
        let mut ecs_names: Vec<&str> = Vec::new();
        for (i, a) in ecs.accounts.iter().enumerate() {
            let key = format!("ecs.accounts[{i}]");
            if a.name.trim().is_empty() {
                p(format!("{key}.name"), "an ECS account needs a name".into());
            } else if ecs_names.contains(&a.name.as_str()) {
                p(format!("{key}.name"), format!("ECS account name `{}` is used twice", a.name));
            } else if aws_names.contains(&a.name.as_str()) {
                let message = format!(
                    "ECS account `{}` has the name of an AWS account; Clouddriver registers both under one name, so choose another",
                    a.name
                );
                p(format!("{key}.name"), message);
            }
            ecs_names.push(&a.name);
            match a.aws_account.as_deref() {
                None => p(format!("{key}.awsAccount"), format!("ECS account `{}` has no awsAccount", a.name)),
                Some(aws_name) if !aws_names.contains(&aws_name) => p(
                    format!("{key}.awsAccount"),
                    format!("ECS account `{}` maps to AWS account `{aws_name}`, which is not in aws.accounts", a.name),
                ),
                _ => {}
            }
            if let Err(e) = naming_strategy(a.naming_strategy.as_deref()) {
                p(format!("{key}.namingStrategy"), e);
            }
            if let Err(e) = iam_role_mode(a.iam_role_mode.as_deref()) {
                p(format!("{key}.iamRoleMode"), e);
            }
        }
        if ecs.enabled == Some(true) && aws.enabled != Some(true) {
            let message =
                "the ECS provider is enabled but the AWS provider is not; ECS accounts ride on AWS accounts: set aws.enabled: true";
            p("aws.enabled".into(), message.into());
        }
        if let Err(e) = naming_strategy(ecs.default_naming_strategy.as_deref()) {
            p("ecs.defaultNamingStrategy".into(), e);
        }
        if let Err(artifact_problems) = self.artifact_accounts() {
            problems.extend(artifact_problems);
        }
        problems
    }
}

/// Reads a configuration file (at most 4 MiB, whatever kind of file it is) with an error that names it.
fn read_config_file(path: &Path) -> Result<String> {
    crate::core::input::read_path(path, 4 * 1024 * 1024).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
aws:
  enabled: true
  defaultAssumeRole: role/SpinnakerManaged
  accounts:
    - name: aws-prod
      accountId: 123456789012
      regions: [{name: us-west-2}, {name: cn-north-1}]
    - name: aws-other
      accountId: "000000000042"
      assumeRole: arn:aws-cn:iam::000000000042:role/Deployer
      sessionName: ecs-deployer
      regions: [{name: us-east-1, availabilityZones: [us-east-1a]}]
ecs:
  enabled: true
  defaultNamingStrategy: default
  accounts:
    - name: ecs-prod
      awsAccount: aws-prod
    - name: ecs-other
      awsAccount: aws-other
      namingStrategy: tags
      iamRoleMode: legacy
    - name: ecs-broken
      awsAccount: nope
"#;

    #[test]
    fn resolves_an_ecs_account_through_its_aws_account() {
        let config = Config::from_yaml(BASE).unwrap();
        let account = config.account("ecs-prod").unwrap();
        assert_eq!(account.account_id, "123456789012");
        assert_eq!(account.aws_account, "aws-prod");
        assert_eq!(account.assume_role.as_deref(), Some("role/SpinnakerManaged"));
        assert_eq!(account.session_name, "Spinnaker");
        assert_eq!(account.naming_strategy, NamingStrategy::Default);
        assert_eq!(account.iam_role_mode, IamRoleMode::ServiceLinked);
        assert_eq!(account.role_arn("us-west-2").unwrap(), "arn:aws:iam::123456789012:role/SpinnakerManaged");
        assert_eq!(account.role_arn("cn-north-1").unwrap(), "arn:aws-cn:iam::123456789012:role/SpinnakerManaged");
        assert!(account.has_region("us-west-2") && !account.has_region("eu-west-1"));
    }

    #[test]
    fn per_account_settings_and_arn_roles() {
        let config = Config::from_yaml(BASE).unwrap();
        let account = config.account("ecs-other").unwrap();
        assert_eq!(account.account_id, "000000000042");
        assert_eq!(account.naming_strategy, NamingStrategy::Tags);
        assert_eq!(account.iam_role_mode, IamRoleMode::Legacy);
        assert_eq!(account.session_name, "ecs-deployer");
        assert_eq!(account.role_arn("us-east-1").unwrap(), "arn:aws-cn:iam::000000000042:role/Deployer");
        assert_eq!(account.regions[0].availability_zones, vec!["us-east-1a"]);
    }

    #[test]
    fn unknown_and_unmapped_accounts_are_config_errors() {
        let config = Config::from_yaml(BASE).unwrap();
        let err = config.account("nope").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("ecs-prod, ecs-other"), "{err}");
        let err = config.account("ecs-broken").unwrap_err().to_string();
        assert!(err.contains("`nope`") && err.contains("aws-prod, aws-other"), "{err}");
        let err = config.account("aws-prod").unwrap_err().to_string();
        assert!(err.contains("is an AWS account"), "{err}");
    }

    #[test]
    fn permissions_are_fiats_and_ecs_accounts_inherit_them() {
        let config = Config::from_yaml(
            "aws:\n  accounts:\n    - {name: a, accountId: '123456789012', permissions: {read: [Readers], WRITE: 'deployers, admins'}}\n    - {name: b, accountId: '123456789013', requiredGroupMembership: [legacy]}\necs:\n  accounts:\n    - {name: ea, awsAccount: a}\n    - {name: eb, awsAccount: b}\n    - {name: own, awsAccount: a, permissions: {WRITE: [team]}}\n",
        )
        .unwrap();
        let ea = config.account("ea").unwrap().permissions;
        assert_eq!(ea.roles(Authorization::Read), vec!["readers"]);
        assert_eq!(ea.roles(Authorization::Write), vec!["admins", "deployers"]);
        let eb = config.account("eb").unwrap().permissions;
        assert_eq!((eb.roles(Authorization::Read), eb.roles(Authorization::Write)), (vec!["legacy"], vec!["legacy"]));
        let own = config.account("own").unwrap().permissions;
        assert_eq!((own.roles(Authorization::Read), own.roles(Authorization::Write)), (vec![], vec!["team"]));
        let bad = Config::from_yaml("aws:\n  accounts:\n    - {name: a, accountId: '1', permissions: {DEPLOY: [x]}}\n").unwrap_err();
        assert!(bad.to_string().contains("unknown authorization `DEPLOY`"), "{bad}");
    }

    #[test]
    fn ecs_accounts_that_name_no_role_inherit_and_wider_or_diverging_ones_are_warned_about() {
        let aws = "aws:\n  accounts:\n    - {name: a, accountId: '123456789012', regions: [{name: us-west-2}], permissions: {READ: [ops], WRITE: [ops]}}\n";
        // (the ECS account's keys, whether it inherits the AWS account's restriction)
        let table = [
            ("permissions: {}", true),
            ("requiredGroupMembership: []", true),
            ("permissions: {READ: [], WRITE: ['  ']}", true),
            ("permissions: {}, requiredGroupMembership: []", true),
            ("", true),
            ("permissions: {WRITE: [team]}", false),
            ("requiredGroupMembership: [team]", false),
        ];
        for (keys, inherits) in table {
            let text = format!("{aws}ecs:\n  accounts:\n    - {{name: e, awsAccount: a, {keys}}}\n");
            let permissions = Config::from_yaml(&text).unwrap().account("e").unwrap().permissions;
            assert_eq!(permissions.roles(Authorization::Write) == ["ops"], inherits, "{keys}");
            assert!(permissions.is_restricted(), "{keys}: never open when the AWS account is restricted");
        }
        let text = format!(
            "{aws}ecs:\n  accounts:\n    - {{name: e1, awsAccount: a}}\n    - {{name: e2, awsAccount: a, permissions: {{WRITE: [ops, interns]}}}}\n"
        );
        let warnings = Config::from_yaml(&text).unwrap().warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].message.contains("gives WRITE to roles its AWS account `a` does not"), "{}", warnings[0].message);
        assert!(warnings[1].message.contains("`e1` and `e2` ride on AWS account `a` in us-west-2"), "{}", warnings[1].message);
        let same =
            format!("{aws}ecs:\n  accounts:\n    - {{name: e1, awsAccount: a}}\n    - {{name: e2, awsAccount: a, permissions: {{}}}}\n");
        assert!(Config::from_yaml(&same).unwrap().warnings().is_empty());
    }

    #[test]
    fn unknown_authorizations_are_refused() {
        let bad = Config::from_yaml("aws:\n  accounts:\n    - {name: a, accountId: '1', permissions: {DEPLOY: [x]}}\n").unwrap_err();
        assert!(bad.to_string().contains("unknown authorization `DEPLOY`"), "{bad}");
    }

    #[test]
    fn later_files_override_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("clouddriver.yml");
        let b = dir.path().join("clouddriver-local.yml");
        std::fs::write(&a, BASE).unwrap();
        std::fs::write(&b, "aws:\n  defaultAssumeRole: role/Local\necs:\n  defaultNamingStrategy: tags\n").unwrap();
        let config = Config::load(&[a, b]).unwrap();
        let account = config.account("ecs-prod").unwrap();
        assert_eq!(account.assume_role.as_deref(), Some("role/Local"));
        assert_eq!(account.naming_strategy, NamingStrategy::Tags);
        // Keys the override does not name survive.
        assert_eq!(config.ecs_account_names().len(), 3);
    }

    #[test]
    fn bad_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("bad.yml");
        std::fs::write(&a, "aws: [unclosed").unwrap();
        let err = Config::load(std::slice::from_ref(&a)).unwrap_err().to_string();
        assert!(err.contains("bad.yml") && err.contains("invalid YAML"), "{err}");
        let err = Config::load(&[dir.path().to_path_buf()]).unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
        let err =
            Config::from_yaml("aws:\n  accounts:\n    - name: x\n      accountId: 12\necs:\n  accounts: [{name: e, awsAccount: x}]\n")
                .unwrap()
                .account("e")
                .unwrap_err()
                .to_string();
        assert!(err.contains("12 digits"), "{err}");
        let err = Config::from_yaml("ecs:\n  accounts: [{name: e, awsAccount: x, namingStrategy: weird}]\naws:\n  accounts: [{name: x, accountId: '123456789012'}]\n")
            .unwrap()
            .account("e")
            .unwrap_err()
            .to_string();
        assert!(err.contains("could not find naming strategy `weird`"), "{err}");
    }
}
