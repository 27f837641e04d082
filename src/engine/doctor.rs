//! `doctor`: read-only preflight checks of everything a deploy into an account needs — the
//! credentials and role, the ECS cluster and its capacity, the service-linked (or legacy) roles,
//! the execution role Fargate falls back to and, given a description, everything the deploy
//! would resolve. Each check says ok, warning or failed, and how to fix it.

use serde::Serialize;

use crate::aws::Session;
use crate::core::config::{Account, Config, IamRoleMode};
use crate::core::description::CreateServerGroup;
use crate::core::error::{Error, Result};
use crate::core::model::Launch;
use crate::engine::deploy::{self, DeployOptions};
use crate::engine::lifecycle::Quiet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Failed,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(name: &str, status: Status, detail: impl Into<String>, fix: Option<String>) -> Check {
    Check { check: name.into(), status, detail: detail.into(), fix }
}

fn trust_policy(service: &str) -> String {
    format!(r#"{{"Effect": "Allow", "Principal": {{"Service": "{service}"}}, "Action": "sts:AssumeRole"}}"#)
}

/// The role name of a role ARN (`arn:aws:iam::1:role/path/Name` → `Name`).
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Checks that `role_arn` exists and trusts every service in `services`.
async fn role_trusts(session: &Session, name: &str, role_arn: &str, services: &[&str], missing: Status) -> Check {
    match session.get_role(role_name(role_arn)).await {
        Err(e) => check(name, Status::Failed, format!("cannot read role {role_arn}: {e}"), None),
        Ok(None) => check(
            name,
            missing,
            format!("role {role_arn} does not exist"),
            Some(format!("create the role {} with a trust policy allowing {}", role_name(role_arn), services.join(", "))),
        ),
        Ok(Some(role)) => {
            let untrusted: Vec<&&str> = services.iter().filter(|s| !role.trusts_service(s)).collect();
            if untrusted.is_empty() {
                check(name, Status::Ok, format!("{role_arn} trusts {}", services.join(", ")), None)
            } else {
                check(
                    name,
                    missing,
                    format!("{role_arn} does not trust {}", untrusted.iter().map(|s| **s).collect::<Vec<_>>().join(", ")),
                    Some(format!("add to its trust policy: {}", untrusted.iter().map(|s| trust_policy(s)).collect::<Vec<_>>().join(", "))),
                )
            }
        }
    }
}

/// Runs every check. Configuration errors (unknown account) are errors, not checks.
pub async fn doctor(
    config: &Config,
    account: &Account,
    region: &str,
    ecs_cluster: Option<&str>,
    description: Option<(CreateServerGroup, DeployOptions)>,
) -> Result<Vec<Check>> {
    let role_arn = account.role_arn(region);
    let session = match Session::connect(account, region).await {
        Ok(s) => s,
        Err(e) => return Ok(vec![judge_credentials(Err(&e), role_arn.as_deref())]),
    };
    let mut checks = vec![judge_credentials(Ok(()), role_arn.as_deref()), judge_account_id(account, session.caller_account().await)];
    let d = description.as_ref().map(|(d, _)| d);
    let cluster_name = ecs_cluster.map(str::to_string).or_else(|| d.and_then(|d| d.ecs_cluster_name.clone()));
    let cluster = match &cluster_name {
        Some(name) => Some(session.describe_ecs_cluster(name).await),
        None => None,
    };
    checks.extend(judge_cluster(account, region, cluster_name.as_deref(), cluster, d));
    checks.extend(role_mode_checks(&session, account, role_arn.as_deref()).await);
    if let Some(r) = &role_arn
        && execution_role_falls_back(description.as_ref())
    {
        let status = if description.is_some() { Status::Failed } else { Status::Warning };
        checks.push(role_trusts(&session, "Fargate execution role", r, &["ecs-tasks.amazonaws.com"], status).await);
    }
    checks.extend(artifact_checks(config));
    checks.extend(config.warnings().into_iter().map(|w| check(&format!("configuration: {}", w.key), Status::Warning, w.message, None)));
    if let Some((d, options)) = description {
        checks.extend(description_checks(config, &session, d, options).await);
    }
    Ok(checks)
}

/// The artifact accounts: the `artifacts:` section reads, and their credential files can be
/// read. (A bucket or repository is read when a description names an artifact in it.)
fn artifact_checks(config: &Config) -> Vec<Check> {
    match config.artifact_accounts() {
        Err(problems) => problems
            .into_iter()
            .map(|p| check(&format!("artifact accounts: {}", p.key), Status::Failed, p.message, Some("fix clouddriver.yml".into())))
            .collect(),
        Ok(accounts) => {
            let unreadable = crate::engine::artifacts::unreadable_credentials(config);
            let mut checks: Vec<Check> = unreadable
                .into_iter()
                .map(|(key, message)| {
                    check(
                        &format!("artifact accounts: {key}"),
                        Status::Failed,
                        message,
                        Some("make the file readable by ecs-deployer".into()),
                    )
                })
                .collect();
            if checks.is_empty() && accounts.len() > 1 {
                let names: Vec<&str> = accounts.iter().skip(1).map(|a| a.name.as_str()).collect();
                checks.push(check("artifact accounts", Status::Ok, format!("credentials readable: {}", names.join(", ")), None));
            }
            checks
        }
    }
}

/// Whether the credentials work, and whose they are.
fn judge_credentials(connected: std::result::Result<(), &crate::core::error::AwsError>, role_arn: Option<&str>) -> Check {
    match (connected, role_arn) {
        (Ok(()), Some(r)) => check("credentials", Status::Ok, format!("assumed {r}"), None),
        (Ok(()), None) => check("credentials", Status::Ok, "the default credentials are used (no assumeRole configured)", None),
        (Err(e), Some(r)) => check(
            "credentials",
            Status::Failed,
            e.to_string(),
            Some(format!("let the caller assume {r} (sts:AssumeRole) and make {r} trust the caller")),
        ),
        (Err(e), None) => check(
            "credentials",
            Status::Failed,
            e.to_string(),
            Some("configure AWS credentials (environment, profile or instance role)".into()),
        ),
    }
}

/// The credentials act in the configured account.
fn judge_account_id(account: &Account, caller: std::result::Result<String, crate::core::error::AwsError>) -> Check {
    match caller {
        Ok(id) if id == account.account_id => check("account id", Status::Ok, format!("the credentials act in {id}"), None),
        Ok(id) => check(
            "account id",
            Status::Failed,
            format!(
                "the credentials act in account {id}, but `{}` is configured with accountId {}",
                account.aws_account, account.account_id
            ),
            Some("fix accountId in clouddriver.yml, or the role the account assumes".into()),
        ),
        Err(e) => check("account id", Status::Failed, e.to_string(), None),
    }
}

type ClusterRead = std::result::Result<Option<crate::core::model::ClusterInfo>, crate::core::error::AwsError>;

/// The ECS cluster exists and is ACTIVE, and has room for the description's tasks.
fn judge_cluster(
    account: &Account,
    region: &str,
    name: Option<&str>,
    read: Option<ClusterRead>,
    d: Option<&CreateServerGroup>,
) -> Vec<Check> {
    let (Some(name), Some(read)) = (name, read) else {
        return vec![check(
            "ECS cluster",
            Status::Warning,
            "no ECS cluster named",
            Some("pass --ecs-cluster NAME (or --description)".into()),
        )];
    };
    match read {
        Err(e) => vec![check("ECS cluster", Status::Failed, e.to_string(), None)],
        Ok(None) => vec![check(
            "ECS cluster",
            Status::Failed,
            format!("ECS cluster `{name}` does not exist in {}/{region}", account.account_id),
            Some(format!("aws ecs create-cluster --cluster-name {name} --region {region}")),
        )],
        Ok(Some(c)) if c.status != "ACTIVE" => {
            vec![check("ECS cluster", Status::Failed, format!("ECS cluster `{name}` is {}", c.status), None)]
        }
        Ok(Some(c)) => vec![check("ECS cluster", Status::Ok, format!("`{name}` is ACTIVE"), None), judge_capacity(name, &c, d)],
    }
}

/// Fargate: the capacity providers the description names are the cluster's; EC2: some
/// container instance can place a task of the description's size.
fn judge_capacity(name: &str, c: &crate::core::model::ClusterInfo, d: Option<&CreateServerGroup>) -> Check {
    if d.is_some_and(|d| Launch::of(d).is_fargate()) {
        let wanted: Vec<String> =
            d.into_iter().flat_map(|d| d.capacity_provider_strategy.iter().flatten()).filter_map(|i| i.capacity_provider.clone()).collect();
        let missing: Vec<&String> = wanted.iter().filter(|p| !c.capacity_providers.contains(p)).collect();
        if missing.is_empty() {
            return check(
                "capacity",
                Status::Ok,
                format!("Fargate; cluster capacity providers: {}", c.capacity_providers.join(", ")),
                None,
            );
        }
        return check(
            "capacity",
            Status::Failed,
            format!("capacity providers {:?} are not associated with `{name}`", missing),
            Some(format!(
                "aws ecs put-cluster-capacity-providers --cluster {name} --capacity-providers FARGATE FARGATE_SPOT --default-capacity-provider-strategy capacityProvider=FARGATE,weight=1"
            )),
        );
    }
    if c.container_instances.is_empty() {
        return check(
            "capacity",
            if d.is_some() { Status::Failed } else { Status::Warning },
            format!("`{name}` has no registered container instances: EC2 tasks cannot be placed"),
            Some("register EC2 instances (an Auto Scaling group with the ECS-optimized AMI and ECS_CLUSTER set) or deploy with launchType FARGATE".into()),
        );
    }
    let (cpu, mem) = (d.and_then(|d| d.compute_units).unwrap_or(0), d.and_then(|d| d.reserved_memory).unwrap_or(0));
    let fits = c.container_instances.iter().filter(|(_, rc, _, rm)| *rc >= cpu && *rm >= mem).count();
    let free: Vec<String> = c.container_instances.iter().map(|(_, rc, _, rm)| format!("{rc} CPU/{rm} MiB")).collect();
    check(
        "capacity",
        if fits > 0 { Status::Ok } else { Status::Failed },
        format!(
            "{} container instances, free: {}; {fits} can place a task of {cpu} CPU/{mem} MiB",
            c.container_instances.len(),
            free.join(", ")
        ),
        (fits == 0).then(|| "add container instances or lower computeUnits/reservedMemory".into()),
    )
}

/// The service-linked roles exist, or (legacy mode) the account role trusts ECS and Application
/// Auto Scaling.
async fn role_mode_checks(session: &Session, account: &Account, role_arn: Option<&str>) -> Vec<Check> {
    let mut checks = Vec::new();
    match (account.iam_role_mode, role_arn) {
        (IamRoleMode::ServiceLinked, _) => {
            for (role, service) in [
                ("AWSServiceRoleForECS", "ecs.amazonaws.com"),
                ("AWSServiceRoleForApplicationAutoScaling_ECSService", "ecs.application-autoscaling.amazonaws.com"),
            ] {
                checks.push(match session.get_role(role).await {
                    Ok(Some(_)) => check("service-linked role", Status::Ok, format!("{role} exists"), None),
                    Ok(None) => check(
                        "service-linked role",
                        Status::Failed,
                        format!("{role} does not exist"),
                        Some(format!("aws iam create-service-linked-role --aws-service-name {service}")),
                    ),
                    Err(e) => check("service-linked role", Status::Failed, e.to_string(), None),
                });
            }
        }
        (IamRoleMode::Legacy, Some(r)) => {
            let services = ["ecs.amazonaws.com", "application-autoscaling.amazonaws.com"];
            checks.push(role_trusts(session, "legacy service role", r, &services, Status::Failed).await);
        }
        (IamRoleMode::Legacy, None) => checks.push(check(
            "legacy service role",
            Status::Failed,
            "iamRoleMode legacy needs an assumeRole for the account",
            Some("set assumeRole (or aws.defaultAssumeRole)".into()),
        )),
    }
    checks
}

/// Whether a deploy would fall back to the account role as execution role (Fargate without an
/// artifact's own), or, without a description, whether one might.
fn execution_role_falls_back(description: Option<&(CreateServerGroup, DeployOptions)>) -> bool {
    let Some((d, options)) = description else { return true };
    let roles = options.artifact.as_ref().map(crate::core::taskdef::artifact_roles).unwrap_or_default();
    let artifact_role = roles.iter().find(|(key, _)| *key == "executionRoleArn");
    Launch::of(d).is_fargate() && (!d.artifact_mode() || artifact_role.is_none())
}

/// The artifact's roles exist and trust ECS tasks, and the description plans cleanly.
async fn description_checks(config: &Config, session: &Session, d: CreateServerGroup, options: DeployOptions) -> Vec<Check> {
    let mut checks = Vec::new();
    for (key, arn) in options.artifact.as_ref().map(crate::core::taskdef::artifact_roles).unwrap_or_default() {
        checks.push(role_trusts(session, &format!("artifact {key}"), &arn, &["ecs-tasks.amazonaws.com"], Status::Failed).await);
    }
    let options = DeployOptions { plan_only: true, ..options };
    match deploy::deploy(config, d, &options, &mut Quiet).await {
        Ok(outcome) => checks.push(check(
            "description",
            Status::Ok,
            format!("plans cleanly: would create {} in {}", outcome.server_group_name, outcome.ecs_cluster_name),
            None,
        )),
        Err(Error::Invalid(errors)) => {
            for e in errors {
                checks.push(check(&format!("description: {}", e.field), Status::Failed, format!("{} [{}]", e.message, e.code), None));
            }
        }
        Err(e) => checks.push(check("description", Status::Failed, e.to_string(), None)),
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::ClusterInfo;
    use serde_json::json;

    fn account() -> Account {
        let yaml = "aws:\n  accounts:\n    - {name: aws, accountId: '123456789012', regions: [{name: us-west-2}]}\necs:\n  accounts:\n    - {name: ecs, awsAccount: aws}\n";
        Config::from_yaml(yaml).unwrap().account("ecs").unwrap()
    }

    fn description(patch: serde_json::Value) -> CreateServerGroup {
        let mut d = json!({"credentials": "ecs", "computeUnits": 256, "reservedMemory": 512, "launchType": "EC2"});
        d.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        crate::core::description::create_server_group_from_json(d).unwrap()
    }

    #[test]
    fn the_cluster_judgement_says_what_is_missing_and_how_to_fix_it() {
        let active = |instances: Vec<(i64, i64, i64, i64)>, providers: &[&str]| {
            Some(Ok(Some(ClusterInfo {
                status: "ACTIVE".into(),
                capacity_providers: providers.iter().map(|p| p.to_string()).collect(),
                container_instances: instances,
            })))
        };
        let ec2 = description(json!({}));
        let fargate =
            description(json!({"launchType": null, "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]}));
        type Case<'a> = (Option<&'a str>, Option<ClusterRead>, Option<&'a CreateServerGroup>, Vec<Status>, &'a str);
        let table: Vec<Case> = vec![
            (None, None, None, vec![Status::Warning], "--ecs-cluster"),
            (Some("c"), Some(Ok(None)), None, vec![Status::Failed], "aws ecs create-cluster --cluster-name c"),
            (Some("c"), active(vec![], &[]), None, vec![Status::Ok, Status::Warning], "register EC2 instances"),
            (Some("c"), active(vec![], &[]), Some(&ec2), vec![Status::Ok, Status::Failed], "register EC2 instances"),
            (Some("c"), active(vec![(1024, 128, 2048, 256)], &[]), Some(&ec2), vec![Status::Ok, Status::Failed], "lower computeUnits"),
            (Some("c"), active(vec![(1024, 512, 2048, 1024)], &[]), Some(&ec2), vec![Status::Ok, Status::Ok], "1 can place"),
            (Some("c"), active(vec![], &["FARGATE"]), Some(&fargate), vec![Status::Ok, Status::Failed], "put-cluster-capacity-providers"),
            (Some("c"), active(vec![], &["FARGATE", "FARGATE_SPOT"]), Some(&fargate), vec![Status::Ok, Status::Ok], "Fargate"),
        ];
        for (i, (name, read, d, statuses, text)) in table.into_iter().enumerate() {
            let checks = judge_cluster(&account(), "us-west-2", name, read, d);
            assert_eq!(checks.iter().map(|c| c.status).collect::<Vec<_>>(), statuses, "case {i}: {checks:?}");
            let all = checks.iter().map(|c| format!("{} {}", c.detail, c.fix.clone().unwrap_or_default())).collect::<String>();
            assert!(all.contains(text), "case {i}: {all}");
        }
    }

    #[test]
    fn the_account_id_must_be_the_configured_one() {
        assert_eq!(judge_account_id(&account(), Ok("123456789012".into())).status, Status::Ok);
        let other = judge_account_id(&account(), Ok("210987654321".into()));
        assert_eq!(other.status, Status::Failed);
        assert!(other.detail.contains("210987654321") && other.fix.is_some());
    }
}
