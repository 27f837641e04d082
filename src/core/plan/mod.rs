//! The deploy decided as a value. `plan()` takes the validated request and a read-only snapshot
//! of AWS ([`Observed`]) and returns the [`DeployPlan`]: the server group name, and the exact
//! RegisterTaskDefinition, CreateService and RegisterScalableTarget requests. `--plan` prints
//! this value; `apply` sends it and decides nothing. Pure and synchronous.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::core::config::{IamRoleMode, NamingStrategy};
use crate::core::error::FieldError;
use crate::core::model::{ResourceId, Role, ScalableTarget, SecurityGroup, ServiceState, Subnet};
use crate::core::moniker::{self, Moniker, version_label};
use crate::core::naming::{TAG_APPLICATION, TAG_DETAIL, TAG_SEQUENCE, TAG_STACK, incomplete_since, taken_versions};
use crate::core::request::{Capacity, DeployRequest, LoadBalancerEntry, ServiceSpec, SourceRef, TaskDefinitionSource};
use crate::core::scaling::{self, Destination, ScalingCopyPlan, SourceScaling};
use crate::core::taskdef::{self, Names, Roles};

pub mod alarms;
pub mod merge;
mod requests;
mod service;

pub use merge::{Origin, SourceService};
pub use requests::{ScalableTargetRequest, ServiceRequest, TASK_DEFINITION_ARN};

/// What the deployer read from AWS before planning.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Names of the services ListServices returned for the ECS cluster (ACTIVE and DRAINING).
    pub listed_services: Vec<String>,
    /// For the tags namer: the listed services that may belong to the cluster, with their tags.
    pub tagged_services: Vec<(String, Vec<(String, String)>)>,
    pub source_service: Option<ServiceState>,
    /// The source's service read whole, for the merge (faithful-copy.md §1).
    pub source_whole: Option<SourceService>,
    /// The metric alarms the source's enabled deployment alarms name (read when copied).
    pub source_deployment_alarms: Vec<crate::core::model::Alarm>,
    pub source_target: Option<ScalableTarget>,
    /// The role `iamRole` names: None when not looked up, Some(None) when it does not exist.
    pub task_role: Option<Option<Role>>,
    pub tagging_enabled: bool,
    pub target_groups: Vec<(String, Vec<String>)>,
    pub subnets: Vec<Subnet>,
    pub security_groups: Vec<SecurityGroup>,
    /// When this deploy started, in seconds since the epoch, and a random id of this attempt:
    /// the crash marker's value.
    pub started_at: i64,
    pub deploy_id: String,
}

/// The deploy, decided. Each value is held once: the request bodies are rendered from it
/// ([`requests`]), and so is `--plan`'s JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployPlan {
    pub account: String,
    pub account_id: String,
    pub region: String,
    pub ecs_cluster_name: String,
    pub server_group_name: String,
    pub version: u32,
    pub family: String,
    pub moniker: Moniker,
    pub source: Option<SourceRef>,
    pub source_scalable_target: Option<ScalableTarget>,
    pub desired_count: i64,
    /// The requests, in the order apply sends them.
    pub register_task_definition: Value,
    pub create_service: ServiceRequest,
    pub scalable_target: ScalableTargetRequest,
    /// The source's per-version deployment alarms, for the new version: put before CreateService.
    pub deployment_alarms: Vec<crate::core::model::Alarm>,
    /// The copy of the source's scaling, when it is known (`--plan` fills it in; a deploy
    /// receives it as a value of its own once the source's scaling is read).
    pub scaling_copy: Option<ScalingCopyPlan>,
    /// Why nothing is copied, when nothing is.
    pub scaling_copy_note: Option<String>,
    pub warnings: Vec<String>,
}

fn err(field: &str, reason: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, format!("createServerGroupDescription.{field}.{reason}"), message)
}

/// Decides the deploy. Errors are input problems found against AWS's state (a security group
/// that does not exist, a role that does not trust ECS tasks, …): nothing has been written.
/// Each part is a builder of its own; every problem of every part is reported at once.
pub fn plan(req: &DeployRequest, obs: &Observed) -> Result<DeployPlan, Vec<FieldError>> {
    let naming = naming(req, obs).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    let account_role = req.account.role_arn(&req.region);
    let task_role_arn = keep(&mut errors, task_role(req, obs).map_err(|e| vec![e]), None);
    let roles = Roles { execution_role_fallback: account_role.clone(), task_role_arn };
    let register_task_definition = keep(&mut errors, task_definition(req, &naming, &roles), Value::Null);
    let load_balancers = keep(&mut errors, load_balancers(req, obs, &naming.container), Vec::new());
    let network_configuration = keep(&mut errors, network(req, obs), None);
    let (capacity, warnings) = capacity(req, obs);
    errors.extend(source_problems(obs));
    let tags = keep(&mut errors, tags(req, obs, naming.version), Vec::new());
    let mut merged = merge::merge(&req.service, obs.source_whole.as_ref(), obs.tagging_enabled);
    errors.append(&mut merged.refusals);
    let deployment_alarms = keep(&mut errors, per_version_alarms(req, obs, &naming.server_group, &mut merged), Vec::new());
    errors.extend(service::launch_checks(&register_task_definition, &merged));
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut warnings = [warnings, std::mem::take(&mut merged.warnings)].concat();
    let parts = service::ServiceParts {
        naming: &naming,
        load_balancers: &load_balancers,
        network_configuration,
        tags,
        account_role: &account_role,
    };
    let create_service = service::create_service(req, obs, parts, merged);
    warnings.extend(service::source_differences(obs, &create_service.settings));
    let scalable_target = scalable_target(req, &naming.server_group, &capacity, account_role.as_deref());
    Ok(DeployPlan {
        account: req.account.name.clone(),
        account_id: req.account.account_id.clone(),
        region: req.region.clone(),
        ecs_cluster_name: req.ecs_cluster.clone(),
        server_group_name: naming.server_group,
        version: naming.version,
        family: naming.family,
        moniker: req.moniker.clone(),
        source: req.source.clone(),
        source_scalable_target: obs.source_target.clone(),
        desired_count: capacity.desired,
        register_task_definition,
        create_service,
        scalable_target,
        deployment_alarms,
        scaling_copy: None,
        scaling_copy_note: scaling_copy_note(req, obs),
        warnings,
    })
}

/// The source's deployment alarms, when copied from it: per version where they watch it (the
/// merged `alarms` member rewritten to name the copies), shared otherwise.
fn per_version_alarms(
    req: &DeployRequest,
    obs: &Observed,
    server_group: &str,
    merged: &mut merge::Merged,
) -> Result<Vec<crate::core::model::Alarm>, Vec<FieldError>> {
    let copied = merged.origins.iter().any(|(m, o)| m == "deploymentConfiguration.alarms" && *o == Origin::Source);
    let (Some(src), Some((_, member))) = (&req.source, merged.deployment.iter_mut().find(|(m, _)| m == "alarms")) else {
        return Ok(Vec::new());
    };
    if !copied || member.get("enable").and_then(Value::as_bool) != Some(true) {
        return Ok(Vec::new());
    }
    let versions = alarms::Versions {
        source_service: &src.server_group_name,
        source_cluster: &src.ecs_cluster_name,
        new_service: server_group,
        new_cluster: &req.ecs_cluster,
    };
    let planned = alarms::plan(member, &obs.source_deployment_alarms, &versions)?;
    *member = planned.member;
    merged.warnings.extend(planned.warnings);
    Ok(planned.puts)
}

/// A builder's value, or — its errors kept — a stand-in (the plan is not built then).
fn keep<T>(errors: &mut Vec<FieldError>, built: Result<T, Vec<FieldError>>, stand_in: T) -> T {
    built.unwrap_or_else(|e| {
        errors.extend(e);
        stand_in
    })
}

/// The new server group's names.
#[derive(Debug, Clone, PartialEq)]
struct Naming {
    version: u32,
    family: String,
    server_group: String,
    /// The container name of inputs mode (`v003`).
    container: String,
}

/// Clouddriver's candidates (max + 1, …, wrapping after v999, at most five): the first whose name
/// no ACTIVE or DRAINING service holds. INACTIVE services are not listed, so their names are free.
fn naming(req: &DeployRequest, obs: &Observed) -> Result<Naming, FieldError> {
    let taken = match req.account.naming_strategy {
        NamingStrategy::Default => {
            let none: &[(String, String)] = &[];
            taken_versions(&req.moniker, NamingStrategy::Default, obs.listed_services.iter().map(|n| (n.as_str(), none)))
        }
        NamingStrategy::Tags => {
            taken_versions(&req.moniker, NamingStrategy::Tags, obs.tagged_services.iter().map(|(n, t)| (n.as_str(), t.as_slice())))
        }
    };
    let candidates = moniker::candidate_versions(&taken);
    let Some(version) = candidates.iter().copied().find(|v| !obs.listed_services.contains(&req.moniker.server_group(*v))) else {
        let tried: Vec<String> = candidates.iter().map(|v| req.moniker.server_group(*v)).collect();
        let message = format!(
            "All server group names for cluster {} in {} are taken (tried {}); destroy old server groups of `{}` first",
            req.ecs_cluster,
            req.region,
            tried.join(", "),
            req.moniker.cluster()
        );
        return Err(FieldError::new("moniker", "createServerGroupDescription.moniker.invalid", message));
    };
    Ok(Naming {
        version,
        family: req.moniker.cluster(),
        server_group: req.moniker.server_group(version),
        container: version_label(version),
    })
}

/// The task role `iamRole` names: it must exist and trust ECS tasks.
fn task_role(req: &DeployRequest, obs: &Observed) -> Result<Option<String>, FieldError> {
    match (req.iam_role_to_resolve(), &obs.task_role) {
        (Some(_), Some(Some(role))) if role.trusts_service("ecs-tasks.amazonaws.com") => Ok(Some(role.arn.clone())),
        (Some(name), Some(Some(_))) => Err(err(
            "iamRole",
            "invalid",
            format!(
                "The {name} role does not have a trust relationship to ecs-tasks.amazonaws.com; add a statement allowing sts:AssumeRole for the Service principal ecs-tasks.amazonaws.com to its trust policy"
            ),
        )),
        (Some(name), _) => Err(err(
            "iamRole",
            "invalid",
            format!("IAM role `{name}` does not exist in account {}; iamRole takes a role name, not an ARN", req.account.account_id),
        )),
        (None, _) => Ok(None),
    }
}

/// RegisterTaskDefinition: from the description's inputs, or the artifact with names, images
/// and roles applied.
fn task_definition(req: &DeployRequest, naming: &Naming, roles: &Roles) -> Result<Value, Vec<FieldError>> {
    let names = Names { moniker: &req.moniker, family: &naming.family, server_group: &naming.server_group, container: &naming.container };
    match &req.task_definition {
        TaskDefinitionSource::Inputs => Ok(taskdef::from_inputs(&req.container, req.platform(), &names, roles)),
        TaskDefinitionSource::Artifact(artifact) => taskdef::from_artifact(artifact, &req.container.images, req.platform(), &names, roles),
        // The shell downloads the artifact before planning; a plan without it is a bug there.
        TaskDefinitionSource::Download(d) => Err(vec![FieldError::new(
            "resolvedTaskDefinitionArtifact",
            crate::core::artifact::INVALID_CODE,
            format!("the {} was not downloaded before planning; report this", d.artifact.label()),
        )]),
    }
}

/// Decisions #15: in artifact mode the mapped container and port must exist in the artifact.
fn artifact_mapping_problem(
    artifact: &Map<String, Value>,
    i: usize,
    entry: &LoadBalancerEntry,
    container_name: &str,
) -> Option<FieldError> {
    let containers = taskdef::container_names(artifact);
    if !containers.iter().any(|c| c == container_name) {
        return Some(FieldError::new(
            format!("targetGroupMappings[{i}].containerName"),
            "createServerGroupDescription.targetGroupMappings.containerName.invalid",
            format!(
                "container `{container_name}` of target group `{}` is not in the artifact (its containers: {})",
                entry.target_group,
                containers.join(", ")
            ),
        ));
    }
    let port = entry.container_port.filter(|p| !taskdef::container_ports(artifact, container_name).contains(p))?;
    Some(FieldError::new(
        format!("targetGroupMappings[{i}].containerPort"),
        "createServerGroupDescription.targetGroupMappings.containerPort.invalid",
        format!("container `{container_name}` of the artifact maps no containerPort {port}; add it to its portMappings or fix the mapping"),
    ))
}

/// CreateService's `loadBalancers`: each target group by name, found exactly once.
fn load_balancers(req: &DeployRequest, obs: &Observed, container: &str) -> Result<Vec<Value>, Vec<FieldError>> {
    if let Some(given) = &req.service.load_balancers {
        return Ok(given.as_array().cloned().unwrap_or_default());
    }
    let mut load_balancers: Vec<Value> = Vec::new();
    let mut errors = Vec::new();
    for (i, entry) in req.load_balancers.iter().enumerate() {
        let container_name = entry.container_name.clone().unwrap_or_else(|| container.to_string());
        if let Some(artifact) = req.artifact() {
            errors.extend(artifact_mapping_problem(artifact, i, entry, &container_name));
        }
        let arns = obs.target_groups.iter().find(|(n, _)| *n == entry.target_group).map(|(_, a)| a.as_slice()).unwrap_or_default();
        match arns {
            [arn] => {
                let mut lb = Map::new();
                lb.insert("targetGroupArn".into(), json!(arn));
                lb.insert("containerName".into(), json!(container_name));
                if let Some(port) = entry.container_port {
                    lb.insert("containerPort".into(), json!(port));
                }
                let lb = Value::Object(lb);
                if !load_balancers.contains(&lb) {
                    load_balancers.push(lb);
                }
            }
            [] => errors.push(err(
                "targetGroup",
                "invalid",
                format!("There is no target group with the name {} in {}/{}.", entry.target_group, req.account.name, req.region),
            )),
            _ => errors.push(err(
                "targetGroup",
                "invalid",
                format!("There are multiple target groups with the name {}.", entry.target_group),
            )),
        }
    }
    if errors.is_empty() { Ok(load_balancers) } else { Err(errors) }
}

/// The subnets of the description's zones whose purpose it names.
fn chosen_subnets<'a>(d: &ServiceSpec, obs: &'a Observed) -> Vec<&'a Subnet> {
    let (purposes, zones) = (&d.subnet_purposes, &d.zones);
    obs.subnets.iter().filter(|s| zones.contains(&s.availability_zone) && s.purpose().is_some_and(|p| purposes.contains(&p))).collect()
}

/// The security groups named, by id, in the VPCs of the chosen subnets.
fn security_group_ids(d: &ServiceSpec, obs: &Observed, subnets: &[&Subnet]) -> Result<Vec<String>, Vec<FieldError>> {
    let vpcs: BTreeSet<&str> = subnets.iter().map(|s| s.vpc_id.as_str()).collect();
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    for name in &d.security_group_names {
        let found: Vec<&SecurityGroup> =
            obs.security_groups.iter().filter(|g| &g.group_name == name && vpcs.contains(g.vpc_id.as_str())).collect();
        if found.is_empty() && !subnets.is_empty() {
            let in_vpcs = vpcs.iter().copied().collect::<Vec<_>>().join(", ");
            errors.push(err(
                "securityGroupNames",
                "invalid",
                format!("security group `{name}` does not exist in VPC {in_vpcs} of the chosen subnets"),
            ));
        }
        ids.extend(found.iter().map(|g| g.group_id.clone()));
    }
    if errors.is_empty() { Ok(ids) } else { Err(errors) }
}

/// CreateService's `networkConfiguration`, for `awsvpc` only: subnets by purpose and zone,
/// security groups by name in their VPCs.
fn network(req: &DeployRequest, obs: &Observed) -> Result<Option<Value>, Vec<FieldError>> {
    let d = &req.service;
    if let Some(given) = &d.network_configuration {
        return Ok(Some(given.clone()));
    }
    if !req.is_awsvpc() {
        return Ok(None);
    }
    let purposes = &d.subnet_purposes;
    if purposes.is_empty() {
        return Err(vec![err(
            "subnetTypes",
            "invalid",
            "awsvpc networking needs subnetTypes: the purposes of the subnets to place tasks in",
        )]);
    }
    let subnets = chosen_subnets(d, obs);
    let mut errors = Vec::new();
    if subnets.is_empty() {
        errors.push(err(
            "subnetTypes",
            "invalid",
            format!(
                "no subnet in {} has purpose {}; tag subnets with immutable_metadata={{\"purpose\":\"{}\"}} or fix subnetTypes",
                d.zones.join(", "),
                purposes.join(" or "),
                purposes[0]
            ),
        ));
    }
    let security_groups = keep(&mut errors, security_group_ids(d, obs, &subnets), Vec::new());
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut awsvpc = Map::new();
    awsvpc.insert("subnets".into(), json!(subnets.iter().map(|s| &s.subnet_id).collect::<Vec<_>>()));
    awsvpc.insert("securityGroups".into(), json!(security_groups));
    if let Some(public) = d.assign_public_ip {
        awsvpc.insert("assignPublicIp".into(), json!(if public { "ENABLED" } else { "DISABLED" }));
    }
    Ok(Some(json!({"awsvpcConfiguration": awsvpc})))
}

/// The description's capacity, or the source's with `useSourceCapacity` (Decisions #5: never a
/// disabled source's desired 0); the warnings say what was not taken.
fn capacity(req: &DeployRequest, obs: &Observed) -> (Capacity, Vec<String>) {
    let mut capacity = req.capacity;
    let mut warnings = Vec::new();
    if req.source.as_ref().is_some_and(|s| s.use_source_capacity) {
        match &obs.source_service {
            Some(source) if source.desired_count == 0 => warnings.push(format!(
                "source server group {} is disabled (desired 0); using the description's desired count {} instead",
                source.service_name, capacity.desired
            )),
            Some(source) => capacity.desired = source.desired_count,
            None => {}
        }
        if let Some(target) = &obs.source_target {
            (capacity.min, capacity.max) = (target.min_capacity, target.max_capacity);
        }
    }
    if let Some(source) = &req.source
        && obs.source_service.is_none()
    {
        warnings.push(format!(
            "source server group {} was not found in {}/{}; nothing is copied from it",
            source.server_group_name, source.account, source.region
        ));
    }
    (capacity, warnings)
}

/// A source left incomplete by a deploy that never finished cannot be deployed from.
fn source_problems(obs: &Observed) -> Option<FieldError> {
    let source = obs.source_service.as_ref()?;
    let since = incomplete_since(&source.tags)?;
    Some(err(
        "source.asgName",
        "incomplete",
        format!(
            "source server group {} is incomplete: the deploy that created it (started at {since}, seconds since the epoch) never \
             finished, so its scaling may be only partly copied; remove it with `ecs-deployer cleanup` (or `destroy`) and deploy \
             from a complete server group",
            source.service_name
        ),
    ))
}

/// The service's tags: the user's, then the tags namer's moniker tags; all or nothing on the
/// account settings.
fn tags(req: &DeployRequest, obs: &Observed, version: u32) -> Result<Vec<(String, String)>, Vec<FieldError>> {
    let mut tags: Vec<(String, String)> = req.service.tags.clone();
    if req.account.naming_strategy == NamingStrategy::Tags {
        let mut put_if_absent = |k: &str, v: Option<&str>| {
            if let Some(v) = v
                && !tags.iter().any(|(key, _)| key == k)
            {
                tags.push((k.to_string(), v.to_string()));
            }
        };
        put_if_absent(TAG_APPLICATION, Some(&req.moniker.app));
        put_if_absent(TAG_STACK, req.moniker.stack.as_deref());
        put_if_absent(TAG_DETAIL, req.moniker.detail.as_deref());
        tags.retain(|(k, _)| k != TAG_SEQUENCE);
        tags.push((TAG_SEQUENCE.to_string(), version.to_string()));
    }
    if !obs.tagging_enabled && !tags.is_empty() {
        return Err(vec![err(
            "tags",
            "invalid",
            format!(
                "ECS account settings for account {} do not allow tagging as `serviceLongArnFormat` and `taskLongArnFormat` are not enabled; run `aws ecs put-account-setting-default --name serviceLongArnFormat --value enabled` (and taskLongArnFormat), or remove the tags",
                req.account.name
            ),
        )]);
    }
    Ok(tags)
}

/// RegisterScalableTarget: the capacity's min and max, not suspended; the account role in
/// legacy mode.
fn scalable_target(req: &DeployRequest, server_group: &str, capacity: &Capacity, account_role: Option<&str>) -> ScalableTargetRequest {
    ScalableTargetRequest {
        resource_id: ResourceId::of(&req.ecs_cluster, server_group),
        min_capacity: capacity.min,
        max_capacity: capacity.max,
        role_arn: account_role.filter(|_| req.account.iam_role_mode == IamRoleMode::Legacy).map(str::to_string),
    }
}

/// Why nothing of the source's scaling will be copied, when that is known before reading it
/// (otherwise `scaling_copy` fills the copy in once the policies have been read).
fn scaling_copy_note(req: &DeployRequest, obs: &Observed) -> Option<String> {
    match &req.source {
        None => None,
        Some(_) if !req.copies_scaling => Some("copySourceScalingPoliciesAndActions is false: nothing is copied".to_string()),
        Some(src) if obs.source_target.is_none() => {
            Some(format!("source server group {} has no scalable target: there is no scaling to copy", src.server_group_name))
        }
        Some(_) => None,
    }
}

/// The copy of the source's scaling onto the planned server group.
pub fn scaling_copy(plan: &DeployPlan, source: &SourceScaling) -> ScalingCopyPlan {
    let dst = Destination {
        resource_id: plan.scalable_target.resource_id.as_str(),
        service_name: &plan.server_group_name,
        ecs_cluster: &plan.ecs_cluster_name,
        region: &plan.region,
        account_id: &plan.account_id,
    };
    scaling::plan_copy(source, &dst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::Config;
    use crate::core::description::create_server_group_from_json;

    const CONFIG: &str = "aws:\n  accounts:\n    - {name: aws, accountId: '123456789012', assumeRole: role/Spinnaker, regions: [{name: us-west-2}]}\necs:\n  accounts:\n    - {name: ecs, awsAccount: aws}\n    - {name: tagged, awsAccount: aws, namingStrategy: tags}\n    - {name: legacy, awsAccount: aws, iamRoleMode: legacy}\n";

    /// A request from a description patched with `patch`.
    fn request(patch: Value) -> DeployRequest {
        let mut d = json!({
            "credentials": "ecs", "application": "app", "stack": "prod", "ecsClusterName": "main",
            "availabilityZones": {"us-west-2": ["us-west-2a"]}, "capacity": {"min": 1, "max": 4, "desired": 2},
            "launchType": "EC2", "networkMode": "bridge", "dockerImageAddress": "nginx:1", "computeUnits": 128, "reservedMemory": 256,
            "placementStrategySequence": []
        });
        d.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        let config = Config::from_yaml(CONFIG).unwrap();
        crate::core::request::validate(&config, create_server_group_from_json(d).unwrap(), &Default::default()).unwrap().request
    }

    fn codes(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.code.as_str()).collect()
    }

    #[test]
    fn naming_takes_the_next_free_version_and_says_when_none_is_left() {
        let req = request(json!({}));
        let listed = |names: &[&str]| Observed { listed_services: names.iter().map(|n| n.to_string()).collect(), ..Default::default() };
        let every: Vec<String> = (0..1000).map(|v| req.moniker.server_group(v)).collect();
        let every: Vec<&str> = every.iter().map(String::as_str).collect();
        let table: [(&[&str], Option<u32>); 4] =
            [(&[], Some(0)), (&["app-prod-v000", "app-prod-v001", "other-v007"], Some(2)), (&["app-prod-v999"], Some(0)), (&every, None)];
        for (names, expected) in table {
            let named = naming(&req, &listed(names));
            match expected {
                Some(v) => {
                    let n = named.unwrap();
                    assert_eq!(
                        (n.version, n.server_group.as_str(), n.family.as_str()),
                        (v, req.moniker.server_group(v).as_str(), "app-prod")
                    );
                }
                None => assert_eq!(named.unwrap_err().code, "createServerGroupDescription.moniker.invalid", "{names:?}"),
            }
        }
    }

    #[test]
    fn the_task_role_must_exist_and_trust_ecs_tasks() {
        let trusting =
            r#"{"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
        let role =
            |doc: &str| Some(Some(Role { arn: "arn:aws:iam::123456789012:role/app".into(), assume_role_policy_document: doc.into() }));
        let with_role = request(json!({"iamRole": "app"}));
        let table = [
            (request(json!({})), None, Ok(None)),
            (request(json!({"iamRole": "None (No IAM role)"})), None, Ok(None)),
            (with_role.clone(), role(trusting), Ok(Some("arn:aws:iam::123456789012:role/app".to_string()))),
            (with_role.clone(), role("{}"), Err("trust relationship")),
            (with_role, Some(None), Err("does not exist")),
        ];
        for (req, task_role_found, expected) in table {
            let obs = Observed { task_role: task_role_found, ..Default::default() };
            match (task_role(&req, &obs), expected) {
                (Ok(arn), Ok(want)) => assert_eq!(arn, want),
                (Err(e), Err(text)) => assert!(e.message.contains(text) && e.code.ends_with("iamRole.invalid"), "{e:?}"),
                (got, want) => panic!("{got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn load_balancers_need_each_target_group_exactly_once() {
        let req = request(
            json!({"targetGroupMappings": [{"targetGroup": "web", "containerPort": 80}, {"targetGroup": "web", "containerPort": 80}]}),
        );
        let groups = |arns: &[&str]| Observed {
            target_groups: vec![("web".into(), arns.iter().map(|a| a.to_string()).collect())],
            ..Default::default()
        };
        let one = load_balancers(&req, &groups(&["arn:tg/web"]), "v000").unwrap();
        assert_eq!(one, vec![json!({"targetGroupArn": "arn:tg/web", "containerName": "v000", "containerPort": 80})], "repeats collapse");
        let none = load_balancers(&req, &groups(&[]), "v000").unwrap_err();
        assert!(none[0].message.contains("no target group with the name web"), "{none:?}");
        let two = load_balancers(&req, &groups(&["arn:a", "arn:b"]), "v000").unwrap_err();
        assert!(two[0].message.contains("multiple target groups"), "{two:?}");
    }

    #[test]
    fn awsvpc_networks_pick_subnets_by_purpose_and_zone_and_groups_by_vpc() {
        let subnet = |id: &str, zone: &str, purpose: &str| Subnet {
            subnet_id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: zone.into(),
            tags: vec![("immutable_metadata".into(), format!("{{\"purpose\": \"{purpose}\"}}"))],
        };
        let obs = Observed {
            subnets: vec![
                subnet("s-1", "us-west-2a", "internal"),
                subnet("s-2", "us-west-2b", "internal"),
                subnet("s-3", "us-west-2a", "dmz"),
            ],
            security_groups: vec![SecurityGroup { group_id: "sg-1".into(), group_name: "web".into(), vpc_id: "vpc-1".into() }],
            ..Default::default()
        };
        assert_eq!(network(&request(json!({})), &obs).unwrap(), None, "bridge has no network configuration");
        let awsvpc = |patch: Value| {
            let mut p = json!({"networkMode": "awsvpc", "subnetTypes": ["internal"], "securityGroupNames": ["web"], "associatePublicIpAddress": false});
            p.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
            request(p)
        };
        let built = network(&awsvpc(json!({})), &obs).unwrap().unwrap();
        assert_eq!(built, json!({"awsvpcConfiguration": {"subnets": ["s-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}}));
        let table = [
            (json!({"subnetTypes": []}), "needs subnetTypes"),
            (json!({"subnetTypes": ["public"]}), "no subnet in us-west-2a has purpose public"),
            (json!({"securityGroupNames": ["db"]}), "security group `db` does not exist in VPC vpc-1"),
        ];
        for (patch, text) in table {
            let errors = network(&awsvpc(patch.clone()), &obs).unwrap_err();
            assert!(errors.iter().any(|e| e.message.contains(text)), "{patch}: {errors:?}");
        }
    }

    #[test]
    fn capacity_comes_from_the_source_only_when_asked_and_never_a_disabled_ones_zero() {
        let source = json!({"source": {"account": "ecs", "region": "us-west-2", "asgName": "app-prod-v001", "useSourceCapacity": true}});
        let service = |desired: i64| ServiceState { service_name: "app-prod-v001".into(), desired_count: desired, ..Default::default() };
        let target = ScalableTarget { min_capacity: 3, max_capacity: 9, ..Default::default() };
        let table = [
            (request(json!({})), None, None, (2, 1, 4), 0),
            (request(source.clone()), Some(service(5)), Some(target.clone()), (5, 3, 9), 0),
            (request(source.clone()), Some(service(0)), Some(target.clone()), (2, 3, 9), 1),
            (request(source), None, None, (2, 1, 4), 1),
        ];
        for (i, (req, source_service, source_target, (desired, min, max), warnings)) in table.into_iter().enumerate() {
            let obs = Observed { source_service, source_target, ..Default::default() };
            let (capacity, said) = capacity(&req, &obs);
            assert_eq!(capacity, Capacity { desired, min, max }, "case {i}");
            assert_eq!(said.len(), warnings, "case {i}: {said:?}");
        }
    }

    #[test]
    fn tags_are_all_or_nothing_and_the_tags_namer_adds_the_moniker() {
        let tagging = Observed { tagging_enabled: true, ..Default::default() };
        let req = request(json!({"credentials": "tagged", "tags": {"team": "web"}}));
        let tags = tags(&req, &tagging, 7).unwrap();
        assert_eq!(tags[0], ("team".to_string(), "web".to_string()));
        assert!(
            tags.contains(&(TAG_APPLICATION.to_string(), "app".to_string())) && tags.contains(&(TAG_SEQUENCE.to_string(), "7".to_string()))
        );
        let refused = super::tags(&request(json!({"tags": {"team": "web"}})), &Observed::default(), 0).unwrap_err();
        assert_eq!(codes(&refused), ["createServerGroupDescription.tags.invalid"]);
        assert!(super::tags(&request(json!({})), &Observed::default(), 0).unwrap().is_empty(), "no tags need no setting");
    }

    #[test]
    fn the_plan_reports_every_builders_problems_at_once_and_builds_the_requests() {
        let req = request(
            json!({"iamRole": "missing", "targetGroupMappings": [{"targetGroup": "web", "containerPort": 80}], "tags": {"a": "b"}}),
        );
        let errors = plan(&req, &Observed { task_role: Some(None), ..Default::default() }).unwrap_err();
        assert_eq!(
            codes(&errors),
            [
                "createServerGroupDescription.iamRole.invalid",
                "createServerGroupDescription.targetGroup.invalid",
                "createServerGroupDescription.tags.invalid"
            ]
        );
        let legacy = request(json!({"credentials": "legacy", "targetGroupMappings": [{"targetGroup": "web", "containerPort": 80}]}));
        let obs = Observed { target_groups: vec![("web".into(), vec!["arn:tg".into()])], ..Default::default() };
        let plan = plan(&legacy, &obs).unwrap();
        assert_eq!(plan.server_group_name, "app-prod-v000");
        let create_service = plan.create_service_body(TASK_DEFINITION_ARN);
        let register_scalable_target = plan.scalable_target.body();
        assert_eq!(create_service["role"], "arn:aws:iam::123456789012:role/Spinnaker", "legacy mode passes the account role");
        assert_eq!(register_scalable_target["ResourceId"], "service/main/app-prod-v000");
        assert_eq!(register_scalable_target["RoleARN"], "arn:aws:iam::123456789012:role/Spinnaker");
        assert_eq!((plan.scalable_target.min_capacity, plan.desired_count, plan.scalable_target.max_capacity), (1, 2, 4));
        assert!(create_service.get("tags").is_none(), "no tagging, no crash marker");
    }
}
