//! `doctor`: read-only preflight checks of everything a deploy into an account needs — the
//! credentials and role, the ECS cluster and its capacity, the service-linked (or legacy) roles,
//! the execution role Fargate falls back to and, given a description, everything the deploy
//! would resolve. Each check says ok, warning or failed, and how to fix it.

use serde::Serialize;

use crate::aws::Session;
use crate::core::config::{Account, Config, IamRoleMode};
use crate::core::description::CreateServerGroup;
use crate::core::error::{Error, Result};
use crate::core::taskdef;
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
    let mut checks = Vec::new();
    let role_arn = account.role_arn(region);
    let session = match Session::connect(account, region).await {
        Ok(s) => {
            checks.push(check(
                "credentials",
                Status::Ok,
                match &role_arn {
                    Some(r) => format!("assumed {r}"),
                    None => "the default credentials are used (no assumeRole configured)".into(),
                },
                None,
            ));
            s
        }
        Err(e) => {
            checks.push(check(
                "credentials",
                Status::Failed,
                e.to_string(),
                Some(match &role_arn {
                    Some(r) => format!("let the caller assume {r} (sts:AssumeRole) and make {r} trust the caller"),
                    None => "configure AWS credentials (environment, profile or instance role)".into(),
                }),
            ));
            return Ok(checks);
        }
    };
    match session.caller_account().await {
        Ok(id) if id == account.account_id => checks.push(check("account id", Status::Ok, format!("the credentials act in {id}"), None)),
        Ok(id) => checks.push(check(
            "account id",
            Status::Failed,
            format!(
                "the credentials act in account {id}, but `{}` is configured with accountId {}",
                account.aws_account, account.account_id
            ),
            Some("fix accountId in clouddriver.yml, or the role the account assumes".into()),
        )),
        Err(e) => checks.push(check("account id", Status::Failed, e.to_string(), None)),
    }

    let d = description.as_ref().map(|(d, _)| d);
    let fargate = d.is_some_and(taskdef::is_fargate);
    let cluster_name = ecs_cluster.map(str::to_string).or_else(|| d.and_then(|d| d.ecs_cluster_name.clone()));
    match &cluster_name {
        None => checks.push(check(
            "ECS cluster",
            Status::Warning,
            "no ECS cluster named",
            Some("pass --ecs-cluster NAME (or --description)".into()),
        )),
        Some(name) => match session.describe_ecs_cluster(name).await {
            Err(e) => checks.push(check("ECS cluster", Status::Failed, e.to_string(), None)),
            Ok(None) => checks.push(check(
                "ECS cluster",
                Status::Failed,
                format!("ECS cluster `{name}` does not exist in {}/{region}", account.account_id),
                Some(format!("aws ecs create-cluster --cluster-name {name} --region {region}")),
            )),
            Ok(Some(c)) if c.status != "ACTIVE" => {
                checks.push(check("ECS cluster", Status::Failed, format!("ECS cluster `{name}` is {}", c.status), None))
            }
            Ok(Some(c)) => {
                checks.push(check("ECS cluster", Status::Ok, format!("`{name}` is ACTIVE"), None));
                if fargate {
                    let wanted: Vec<String> = d
                        .into_iter()
                        .flat_map(|d| d.capacity_provider_strategy.iter().flatten())
                        .filter_map(|i| i.capacity_provider.clone())
                        .collect();
                    let missing: Vec<&String> = wanted.iter().filter(|p| !c.capacity_providers.contains(p)).collect();
                    if missing.is_empty() {
                        checks.push(check(
                            "capacity",
                            Status::Ok,
                            format!("Fargate; cluster capacity providers: {}", c.capacity_providers.join(", ")),
                            None,
                        ));
                    } else {
                        checks.push(check(
                            "capacity",
                            Status::Failed,
                            format!("capacity providers {:?} are not associated with `{name}`", missing),
                            Some(format!("aws ecs put-cluster-capacity-providers --cluster {name} --capacity-providers FARGATE FARGATE_SPOT --default-capacity-provider-strategy capacityProvider=FARGATE,weight=1")),
                        ));
                    }
                } else if c.container_instances.is_empty() {
                    checks.push(check(
                        "capacity",
                        if d.is_some() { Status::Failed } else { Status::Warning },
                        format!("`{name}` has no registered container instances: EC2 tasks cannot be placed"),
                        Some("register EC2 instances (an Auto Scaling group with the ECS-optimized AMI and ECS_CLUSTER set) or deploy with launchType FARGATE".into()),
                    ));
                } else {
                    let (cpu, mem) = (d.and_then(|d| d.compute_units).unwrap_or(0), d.and_then(|d| d.reserved_memory).unwrap_or(0));
                    let fits = c.container_instances.iter().filter(|(_, rc, _, rm)| *rc >= cpu && *rm >= mem).count();
                    let free: Vec<String> = c.container_instances.iter().map(|(_, rc, _, rm)| format!("{rc} CPU/{rm} MiB")).collect();
                    checks.push(check(
                        "capacity",
                        if fits > 0 { Status::Ok } else { Status::Failed },
                        format!(
                            "{} container instances, free: {}; {fits} can place a task of {cpu} CPU/{mem} MiB",
                            c.container_instances.len(),
                            free.join(", ")
                        ),
                        (fits == 0).then(|| "add container instances or lower computeUnits/reservedMemory".into()),
                    ));
                }
            }
        },
    }

    match account.iam_role_mode {
        IamRoleMode::ServiceLinked => {
            for (role, service) in [
                ("AWSServiceRoleForECS", "ecs.amazonaws.com"),
                ("AWSServiceRoleForApplicationAutoScaling_ECSService", "ecs.application-autoscaling.amazonaws.com"),
            ] {
                match session.get_role(role).await {
                    Ok(Some(_)) => checks.push(check("service-linked role", Status::Ok, format!("{role} exists"), None)),
                    Ok(None) => checks.push(check(
                        "service-linked role",
                        Status::Failed,
                        format!("{role} does not exist"),
                        Some(format!("aws iam create-service-linked-role --aws-service-name {service}")),
                    )),
                    Err(e) => checks.push(check("service-linked role", Status::Failed, e.to_string(), None)),
                }
            }
        }
        IamRoleMode::Legacy => match &role_arn {
            Some(r) => checks.push(
                role_trusts(
                    &session,
                    "legacy service role",
                    r,
                    &["ecs.amazonaws.com", "application-autoscaling.amazonaws.com"],
                    Status::Failed,
                )
                .await,
            ),
            None => checks.push(check(
                "legacy service role",
                Status::Failed,
                "iamRoleMode legacy needs an assumeRole for the account",
                Some("set assumeRole (or aws.defaultAssumeRole)".into()),
            )),
        },
    }

    if let Some(r) = &role_arn {
        let falls_back = match &description {
            Some((d, options)) => {
                fargate && {
                    let artifact_role = options.artifact.as_ref().and_then(|a| {
                        a.get("executionRoleArn").or_else(|| a.get("taskDefinition").and_then(|t| t.get("executionRoleArn")))
                    });
                    !d.artifact_mode() || artifact_role.is_none()
                }
            }
            None => true,
        };
        if falls_back {
            let status = if description.is_some() { Status::Failed } else { Status::Warning };
            checks.push(role_trusts(&session, "Fargate execution role", r, &["ecs-tasks.amazonaws.com"], status).await);
        }
    }

    if let Some((d, options)) = description {
        // Artifact roles must exist; task roles must trust ECS tasks.
        let td = options.artifact.clone().map(|a| a.get("taskDefinition").cloned().unwrap_or(a));
        for (key, services) in [("executionRoleArn", vec!["ecs-tasks.amazonaws.com"]), ("taskRoleArn", vec!["ecs-tasks.amazonaws.com"])] {
            if let Some(arn) = td.as_ref().and_then(|t| t.get(key)).and_then(|v| v.as_str()) {
                checks.push(role_trusts(&session, &format!("artifact {key}"), arn, &services, Status::Failed).await);
            }
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
    }
    Ok(checks)
}
