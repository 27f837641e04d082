//! The deploy decided as a value. `plan()` takes the validated request and a read-only snapshot
//! of AWS ([`Observed`]) and returns the [`DeployPlan`]: the server group name, and the exact
//! RegisterTaskDefinition, CreateService and RegisterScalableTarget requests. `--plan` prints
//! this value; `apply` sends it and decides nothing. Pure and synchronous.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::core::config::{Account, IamRoleMode, NamingStrategy};
use crate::core::description::CreateServerGroup;
use crate::core::error::FieldError;
use crate::core::model::{Role, ScalableTarget, SecurityGroup, ServiceState, Subnet};
use crate::core::moniker::{self, Moniker, version_label};
use crate::core::scaling::{self, Destination, ScalingCopyPlan, SourceScaling};
use crate::core::taskdef::{self, Names, Roles};

/// Where CreateService's `taskDefinition` goes before RegisterTaskDefinition has returned the ARN.
pub const TASK_DEFINITION_ARN: &str = "${taskDefinitionArn}";

/// Deck's sentinels for "not set".
const NO_IAM_ROLE: &str = "None (No IAM role)";

/// Tags the `tags` naming strategy writes.
pub const TAG_APPLICATION: &str = "moniker.spinnaker.io/application";
pub const TAG_CLUSTER: &str = "moniker.spinnaker.io/cluster";
pub const TAG_STACK: &str = "moniker.spinnaker.io/stack";
pub const TAG_DETAIL: &str = "moniker.spinnaker.io/detail";
pub const TAG_SEQUENCE: &str = "moniker.spinnaker.io/sequence";

/// The crash marker: CreateService tags every new server group with it (the value: when its
/// deploy started, in seconds since the epoch), and the deploy removes it only once every step
/// is done. A server group that still carries it is incomplete.
pub const TAG_INCOMPLETE: &str = "ecs-deployer/incomplete";

/// The crash marker's value: when the deploy started (seconds since the epoch) and which deploy
/// attempt it is, e.g. `1764581599 4f1c2a9b0e7d`.
pub fn incomplete_marker(started_at: i64, deploy_id: &str) -> String {
    format!("{started_at} {deploy_id}")
}

/// The crash marker among a service's tags, if its deploy never finished.
pub fn marker_of(tags: &[(String, String)]) -> Option<&str> {
    tags.iter().find(|(k, _)| k == TAG_INCOMPLETE).map(|(_, v)| v.as_str())
}

/// When the deploy that created a service with these tags started, if it never finished.
pub fn incomplete_since(tags: &[(String, String)]) -> Option<i64> {
    marker_of(tags).map(|v| v.split(' ').next().and_then(|t| t.parse().ok()).unwrap_or(0))
}

/// Why a server group is incomplete — its deploy never finished — and since when: the crash
/// marker is still on it, or it has no scalable target (every deploy registers one; this is how
/// it shows in accounts that cannot tag services, since its creation).
pub fn incompleteness(service: &ServiceState, has_target: bool) -> Option<(String, Option<i64>)> {
    match incomplete_since(&service.tags) {
        Some(since) => Some(("its deploy never finished (crash marker still set)".into(), Some(since))),
        None if !has_target => Some(("it has no scalable target".into(), service.created_at)),
        None => None,
    }
}

/// A validated deploy request: the description and everything resolved from configuration.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub description: CreateServerGroup,
    pub account: Account,
    pub region: String,
    pub ecs_cluster: String,
    pub moniker: Moniker,
    /// The checked task-definition artifact, in artifact mode.
    pub artifact: Option<Map<String, Value>>,
    pub source: Option<SourceRef>,
}

/// The previous server group named by `source`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRef {
    pub account: String,
    /// The source account's AWS account id (filled from configuration).
    pub account_id: String,
    pub region: String,
    pub server_group_name: String,
    pub ecs_cluster_name: String,
    pub use_source_capacity: bool,
}

impl DeployRequest {
    /// Builds the request from a validated description.
    pub fn new(description: CreateServerGroup, account: Account, artifact: Option<Map<String, Value>>) -> Self {
        let region = description.target_region().unwrap_or_default().to_string();
        let ecs_cluster = description.ecs_cluster_name.clone().unwrap_or_default();
        let moniker = match &description.moniker {
            Some(m) => Moniker::new(m.app.as_deref().unwrap_or_default(), m.stack.as_deref(), m.detail.as_deref()),
            None => Moniker::new(
                description.application.as_deref().unwrap_or_default(),
                description.stack.as_deref(),
                description.free_form_details.as_deref(),
            ),
        };
        let source = description.source.as_ref().filter(|s| s.is_complete()).map(|s| SourceRef {
            account: s.account.clone().unwrap_or_default(),
            account_id: String::new(),
            region: s.region.clone().unwrap_or_default(),
            server_group_name: s.asg_name.clone().unwrap_or_default(),
            ecs_cluster_name: s.ecs_cluster_name.clone().filter(|c| !c.is_empty()).unwrap_or_else(|| ecs_cluster.clone()),
            use_source_capacity: s.use_source_capacity == Some(true),
        });
        DeployRequest { description, account, region, ecs_cluster, moniker, artifact, source }
    }

    /// The `iamRole` to resolve with IAM, if one has to be: inputs mode, or an artifact without a task role.
    pub fn iam_role_to_resolve(&self) -> Option<&str> {
        let role = self.description.iam_role.as_deref().filter(|r| !r.is_empty() && *r != NO_IAM_ROLE)?;
        match &self.artifact {
            Some(a) if a.get("taskRoleArn").and_then(Value::as_str).is_some_and(|s| !s.is_empty()) => None,
            _ => Some(role),
        }
    }

    /// The effective network mode: the description's, else the artifact's.
    pub fn network_mode(&self) -> Option<&str> {
        taskdef::description_network_mode(&self.description)
            .or_else(|| self.artifact.as_ref().and_then(|a| a.get("networkMode")).and_then(Value::as_str))
    }

    /// `copySourceScalingPoliciesAndActions`, true unless set to false.
    pub fn copies_scaling(&self) -> bool {
        self.description.copy_source_scaling_policies_and_actions != Some(false)
    }

    /// Target group names to look up with ELBv2, in order, without repeats.
    pub fn target_group_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for m in self.load_balancer_entries() {
            if !names.contains(&m.target_group) {
                names.push(m.target_group);
            }
        }
        names
    }

    fn load_balancer_entries(&self) -> Vec<LoadBalancerEntry> {
        load_balancer_entries(&self.description)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct LoadBalancerEntry {
    container_name: Option<String>,
    container_port: Option<i64>,
    target_group: String,
}

/// `targetGroupMappings` plus the legacy `targetGroup`, duplicates collapsed (§5.2).
fn load_balancer_entries(d: &CreateServerGroup) -> Vec<LoadBalancerEntry> {
    let mut entries: Vec<LoadBalancerEntry> = Vec::new();
    let non_blank = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    for m in d.target_group_mappings.iter().flatten() {
        if let Some(tg) = non_blank(&m.target_group) {
            let e = LoadBalancerEntry { container_name: non_blank(&m.container_name), container_port: m.container_port, target_group: tg };
            if !entries.contains(&e) {
                entries.push(e);
            }
        }
    }
    if let Some(tg) = non_blank(&d.target_group) {
        let e =
            LoadBalancerEntry { container_name: non_blank(&d.load_balanced_container), container_port: d.container_port, target_group: tg };
        if !entries.contains(&e) {
            entries.push(e);
        }
    }
    entries
}

/// What the deployer read from AWS before planning.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Names of the services ListServices returned for the ECS cluster (ACTIVE and DRAINING).
    pub listed_services: Vec<String>,
    /// For the tags namer: the listed services that may belong to the cluster, with their tags.
    pub tagged_services: Vec<(String, Vec<(String, String)>)>,
    pub source_service: Option<ServiceState>,
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

/// Derives the moniker and version of an existing service the way the account's namer does.
pub fn derive_moniker(naming: NamingStrategy, name: &str, tags: &[(String, String)]) -> (Option<Moniker>, Option<u32>) {
    let parsed = moniker::parse_name(name);
    let Some(mut m) = parsed.moniker else {
        return (None, None);
    };
    let mut version = parsed.version;
    if naming == NamingStrategy::Tags {
        let tag = |k: &str| tags.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        if let Some(app) = tag(TAG_APPLICATION) {
            m.app = app;
        }
        if let Some(stack) = tag(TAG_STACK) {
            m.stack = Some(stack).filter(|s| !s.is_empty());
        }
        if let Some(detail) = tag(TAG_DETAIL) {
            m.detail = Some(detail).filter(|s| !s.is_empty());
        }
        if let Some(seq) = tag(TAG_SEQUENCE).and_then(|s| s.parse().ok()) {
            version = Some(seq);
        }
    }
    (Some(m), version)
}

/// Versions taken in the moniker's Spinnaker cluster, from the services of the ECS cluster.
pub fn taken_versions<'a>(
    moniker: &Moniker,
    naming: NamingStrategy,
    services: impl Iterator<Item = (&'a str, &'a [(String, String)])>,
) -> BTreeSet<u32> {
    services
        .filter_map(|(name, tags)| match derive_moniker(naming, name, tags) {
            (Some(m), Some(v)) if m.same_cluster(moniker) => Some(v),
            _ => None,
        })
        .collect()
}

/// Under the default namer a service can only belong to the cluster if its name starts with the
/// cluster name and a hyphen; only those need describing.
pub fn may_belong(moniker: &Moniker, naming: NamingStrategy, name: &str) -> bool {
    match naming {
        NamingStrategy::Default => name.starts_with(&format!("{}-", moniker.cluster())),
        NamingStrategy::Tags => moniker::parse_name(name).moniker.is_some(),
    }
}

/// The deploy, decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployPlan {
    pub account: String,
    pub account_id: String,
    pub region: String,
    pub ecs_cluster_name: String,
    pub server_group_name: String,
    pub version: u32,
    pub family: String,
    pub moniker: Moniker,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_scalable_target: Option<ScalableTarget>,
    pub desired_count: i64,
    pub min_capacity: i64,
    pub max_capacity: i64,
    pub scalable_target_resource_id: String,
    /// The requests, in the order apply sends them.
    pub register_task_definition: Value,
    pub create_service: Value,
    pub register_scalable_target: Value,
    /// The copy of the source's scaling, when there is one to copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_copy: Option<ScalingCopyPlan>,
    /// Why nothing is copied, when nothing is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_copy_note: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn err(field: &str, reason: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, format!("createServerGroupDescription.{field}.{reason}"), message)
}

/// Decides the deploy. Errors are input problems found against AWS's state (a security group
/// that does not exist, a role that does not trust ECS tasks, …): nothing has been written.
pub fn plan(req: &DeployRequest, obs: &Observed) -> Result<DeployPlan, Vec<FieldError>> {
    let d = &req.description;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    // Name: Clouddriver's candidates (max + 1, …, wrapping after v999, at most five), the first
    // whose name no ACTIVE or DRAINING service holds. INACTIVE services are not listed, so their
    // names are free again.
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
        return Err(vec![FieldError::new(
            "moniker",
            "createServerGroupDescription.moniker.invalid",
            format!(
                "All server group names for cluster {} in {} are taken (tried {}); destroy old server groups of `{}` first",
                req.ecs_cluster,
                req.region,
                candidates.iter().map(|v| req.moniker.server_group(*v)).collect::<Vec<_>>().join(", "),
                req.moniker.cluster()
            ),
        )]);
    };
    let family = req.moniker.cluster();
    let server_group = req.moniker.server_group(version);
    let container = version_label(version);

    // Roles.
    let account_role = req.account.role_arn(&req.region);
    let task_role_arn = match (req.iam_role_to_resolve(), &obs.task_role) {
        (Some(name), Some(Some(role))) => {
            if role.trusts_service("ecs-tasks.amazonaws.com") {
                Some(role.arn.clone())
            } else {
                errors.push(err(
                    "iamRole",
                    "invalid",
                    format!(
                        "The {name} role does not have a trust relationship to ecs-tasks.amazonaws.com; add a statement allowing sts:AssumeRole for the Service principal ecs-tasks.amazonaws.com to its trust policy"
                    ),
                ));
                None
            }
        }
        (Some(name), _) => {
            errors.push(err(
                "iamRole",
                "invalid",
                format!("IAM role `{name}` does not exist in account {}; iamRole takes a role name, not an ARN", req.account.account_id),
            ));
            None
        }
        (None, _) => None,
    };
    let roles = Roles { execution_role_fallback: account_role.clone(), task_role_arn };

    // Task definition.
    let names = Names { moniker: &req.moniker, family: &family, server_group: &server_group, container: &container };
    let register_task_definition = match &req.artifact {
        None => taskdef::from_inputs(d, &names, &roles),
        Some(artifact) => match taskdef::from_artifact(artifact, d, &names, &roles) {
            Ok(td) => td,
            Err(e) => {
                errors.extend(e);
                Value::Null
            }
        },
    };
    let network_mode = req.network_mode().map(str::to_string);

    // Load balancers.
    let mut load_balancers: Vec<Value> = Vec::new();
    for (i, entry) in req.load_balancer_entries().iter().enumerate() {
        let container_name = entry.container_name.clone().unwrap_or_else(|| container.clone());
        if let Some(artifact) = &req.artifact {
            // Decisions #15: the mapped container and port must exist in the artifact.
            let containers = taskdef::container_names(artifact);
            if !containers.contains(&container_name) {
                errors.push(FieldError::new(
                    format!("targetGroupMappings[{i}].containerName"),
                    "createServerGroupDescription.targetGroupMappings.containerName.invalid",
                    format!(
                        "container `{container_name}` of target group `{}` is not in the artifact (its containers: {})",
                        entry.target_group,
                        containers.join(", ")
                    ),
                ));
            } else if let Some(port) = entry.container_port
                && !taskdef::container_ports(artifact, &container_name).contains(&port)
            {
                errors.push(FieldError::new(
                    format!("targetGroupMappings[{i}].containerPort"),
                    "createServerGroupDescription.targetGroupMappings.containerPort.invalid",
                    format!("container `{container_name}` of the artifact maps no containerPort {port}; add it to its portMappings or fix the mapping"),
                ));
            }
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

    // Network configuration (awsvpc only).
    let mut network_configuration = None;
    if network_mode.as_deref() == Some("awsvpc") {
        let purposes = d.subnet_purposes();
        let zones = d.zones();
        if purposes.is_empty() {
            errors.push(err(
                "subnetTypes",
                "invalid",
                "awsvpc networking needs subnetTypes: the purposes of the subnets to place tasks in",
            ));
        } else {
            let subnets: Vec<&Subnet> = obs
                .subnets
                .iter()
                .filter(|s| zones.contains(&s.availability_zone) && s.purpose().is_some_and(|p| purposes.contains(&p)))
                .collect();
            if subnets.is_empty() {
                errors.push(err(
                    "subnetTypes",
                    "invalid",
                    format!(
                        "no subnet in {} has purpose {}; tag subnets with immutable_metadata={{\"purpose\":\"{}\"}} or fix subnetTypes",
                        zones.join(", "),
                        purposes.join(" or "),
                        purposes[0]
                    ),
                ));
            }
            let vpcs: BTreeSet<&str> = subnets.iter().map(|s| s.vpc_id.as_str()).collect();
            let mut security_groups = Vec::new();
            for name in d.security_group_names.iter().flatten() {
                let found: Vec<&SecurityGroup> =
                    obs.security_groups.iter().filter(|g| &g.group_name == name && vpcs.contains(g.vpc_id.as_str())).collect();
                if found.is_empty() {
                    if !subnets.is_empty() {
                        errors.push(err(
                            "securityGroupNames",
                            "invalid",
                            format!(
                                "security group `{name}` does not exist in VPC {} of the chosen subnets",
                                vpcs.iter().copied().collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                } else {
                    security_groups.extend(found.iter().map(|g| g.group_id.clone()));
                }
            }
            let mut awsvpc = Map::new();
            awsvpc.insert("subnets".into(), json!(subnets.iter().map(|s| &s.subnet_id).collect::<Vec<_>>()));
            awsvpc.insert("securityGroups".into(), json!(security_groups));
            if let Some(public) = d.associate_public_ip_address {
                awsvpc.insert("assignPublicIp".into(), json!(if public { "ENABLED" } else { "DISABLED" }));
            }
            network_configuration = Some(json!({"awsvpcConfiguration": awsvpc}));
        }
    }

    // Capacity: the description's, or the source's with useSourceCapacity.
    let capacity = d.capacity.clone().unwrap_or_default();
    let (mut desired, mut min, mut max) = (capacity.desired.unwrap_or(0), capacity.min.unwrap_or(0), capacity.max.unwrap_or(0));
    let use_source = req.source.as_ref().is_some_and(|s| s.use_source_capacity);
    if use_source {
        if let Some(source) = &obs.source_service {
            if source.desired_count == 0 {
                // Decisions #5: a disabled source would make the new server group disabled too.
                warnings.push(format!(
                    "source server group {} is disabled (desired 0); using the description's desired count {desired} instead",
                    source.service_name
                ));
            } else {
                desired = source.desired_count;
            }
        }
        if let Some(target) = &obs.source_target {
            min = target.min_capacity;
            max = target.max_capacity;
        }
    }
    if let Some(source) = &obs.source_service
        && let Some(since) = incomplete_since(&source.tags)
    {
        errors.push(err(
            "source.asgName",
            "incomplete",
            format!(
                "source server group {} is incomplete: the deploy that created it (started at {since}, seconds since the epoch) never \
                 finished, so its scaling may be only partly copied; remove it with `ecs-deployer cleanup` (or `destroy`) and deploy \
                 from a complete server group",
                source.service_name
            ),
        ));
    }
    if let Some(source) = &req.source
        && obs.source_service.is_none()
    {
        warnings.push(format!(
            "source server group {} was not found in {}/{}; nothing is copied from it",
            source.server_group_name, source.account, source.region
        ));
    }

    // Tags: the user's, then the tags namer's moniker tags; all or nothing on the account settings.
    let mut tags: Vec<(String, String)> = d.tags.clone().unwrap_or_default();
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
        errors.push(err(
            "tags",
            "invalid",
            format!(
                "ECS account settings for account {} do not allow tagging as `serviceLongArnFormat` and `taskLongArnFormat` are not enabled; run `aws ecs put-account-setting-default --name serviceLongArnFormat --value enabled` (and taskLongArnFormat), or remove the tags",
                req.account.name
            ),
        ));
    }

    // CreateService.
    let mut service = Map::new();
    service.insert("cluster".into(), json!(req.ecs_cluster));
    service.insert("serviceName".into(), json!(server_group));
    service.insert("taskDefinition".into(), json!(TASK_DEFINITION_ARN));
    service.insert("desiredCount".into(), json!(desired));
    if !load_balancers.is_empty() {
        service.insert("loadBalancers".into(), Value::Array(load_balancers.clone()));
    }
    let registries: Vec<Value> = d
        .service_discovery_associations
        .iter()
        .flatten()
        .map(|sd| {
            let mut r = Map::new();
            r.insert("registryArn".into(), json!(sd.registry.as_ref().and_then(|r| r.arn.clone()).unwrap_or_default()));
            if let Some(port) = sd.container_port.filter(|p| *p != 0) {
                r.insert("containerPort".into(), json!(port));
                r.insert(
                    "containerName".into(),
                    json!(sd.container_name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| container.clone())),
                );
            }
            Value::Object(r)
        })
        .collect();
    service.insert("serviceRegistries".into(), Value::Array(registries));
    let dc = d.deployment_configuration.clone().unwrap_or_default();
    let breaker = dc.deployment_circuit_breaker.unwrap_or_default();
    service.insert(
        "deploymentConfiguration".into(),
        json!({
            "maximumPercent": dc.maximum_percent.unwrap_or(200),
            "minimumHealthyPercent": dc.minimum_healthy_percent.unwrap_or(100),
            "deploymentCircuitBreaker": {
                "enable": breaker.enable.or(d.enable_deployment_circuit_breaker).unwrap_or(false),
                "rollback": breaker.rollback.unwrap_or(false),
            }
        }),
    );
    service.insert("enableExecuteCommand".into(), json!(d.enable_execute_command.unwrap_or(false)));
    if let Some(constraints) = &d.placement_constraints {
        service.insert("placementConstraints".into(), serde_json::to_value(constraints).unwrap_or_default());
    }
    if let Some(strategies) = &d.placement_strategy_sequence {
        service.insert("placementStrategy".into(), serde_json::to_value(strategies).unwrap_or_default());
    }
    if let Some(nc) = network_configuration {
        service.insert("networkConfiguration".into(), nc);
    }
    if let Some(launch_type) = d.launch_type.as_deref().filter(|l| !l.is_empty()) {
        service.insert("launchType".into(), json!(launch_type));
    } else if let Some(strategy) = d.capacity_provider_strategy.as_ref().filter(|s| !s.is_empty()) {
        service.insert("capacityProviderStrategy".into(), serde_json::to_value(strategy).unwrap_or_default());
    }
    if let Some(pv) = d.platform_version.as_deref().filter(|p| !p.is_empty()) {
        service.insert("platformVersion".into(), json!(pv));
    }
    if let Some(grace) = d.health_check_grace_period_seconds {
        service.insert("healthCheckGracePeriodSeconds".into(), json!(grace));
    }
    if obs.tagging_enabled {
        tags.push((TAG_INCOMPLETE.to_string(), incomplete_marker(obs.started_at, &obs.deploy_id)));
        service.insert("tags".into(), json!(tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>()));
        service.insert("enableECSManagedTags".into(), json!(true));
        service.insert("propagateTags".into(), json!("SERVICE"));
    }
    let legacy = req.account.iam_role_mode == IamRoleMode::Legacy;
    if legacy
        && network_mode.as_deref() != Some("awsvpc")
        && load_balancers.len() == 1
        && let Some(role) = &account_role
    {
        service.insert("role".into(), json!(role));
    }

    // Scalable target.
    let resource_id = crate::core::model::ResourceId::of(&req.ecs_cluster, &server_group).to_string();
    let mut target = json!({
        "ServiceNamespace": crate::core::model::SCALING_NAMESPACE,
        "ResourceId": resource_id,
        "ScalableDimension": crate::core::model::SCALABLE_DIMENSION,
        "MinCapacity": min,
        "MaxCapacity": max,
        "SuspendedState": {"DynamicScalingInSuspended": false, "DynamicScalingOutSuspended": false, "ScheduledScalingSuspended": false},
    });
    if legacy && let Some(role) = &account_role {
        target["RoleARN"] = json!(role);
    }

    // Copy of the source's scaling.
    let (scaling_copy, scaling_copy_note) = match &req.source {
        None => (None, None),
        Some(_) if !req.copies_scaling() => (None, Some("copySourceScalingPoliciesAndActions is false: nothing is copied".to_string())),
        Some(src) if obs.source_target.is_none() => {
            (None, Some(format!("source server group {} has no scalable target: there is no scaling to copy", src.server_group_name)))
        }
        // Filled in by `scaling_copy` once the source's policies have been read.
        Some(_) => (None, None),
    };

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(DeployPlan {
        account: req.account.name.clone(),
        account_id: req.account.account_id.clone(),
        region: req.region.clone(),
        ecs_cluster_name: req.ecs_cluster.clone(),
        server_group_name: server_group,
        version,
        family,
        moniker: req.moniker.clone(),
        source: req.source.clone(),
        source_scalable_target: obs.source_target.clone(),
        desired_count: desired,
        min_capacity: min,
        max_capacity: max,
        scalable_target_resource_id: resource_id,
        register_task_definition,
        create_service: Value::Object(service),
        register_scalable_target: target,
        scaling_copy,
        scaling_copy_note,
        warnings,
    })
}

impl DeployPlan {
    /// The crash marker CreateService tags the new server group with (when the account can tag
    /// services); apply removes it as its last step.
    pub fn incomplete_marker(&self) -> Option<&str> {
        self.create_service["tags"].as_array()?.iter().find(|t| t["key"] == TAG_INCOMPLETE)?["value"].as_str()
    }
}

/// The copy of the source's scaling onto the planned server group.
pub fn scaling_copy(plan: &DeployPlan, source: &SourceScaling) -> ScalingCopyPlan {
    let dst = Destination {
        resource_id: &plan.scalable_target_resource_id,
        service_name: &plan.server_group_name,
        ecs_cluster: &plan.ecs_cluster_name,
        region: &plan.region,
        account_id: &plan.account_id,
    };
    scaling::plan_copy(source, &dst)
}
