//! CreateService's body, decided: the members the description expresses (class E, with
//! Clouddriver's defaults), the ones merged from the source ([`super::merge`], class C), the
//! crash marker, and where each member comes from. Pure.

use serde_json::{Map, Value, json};

use super::merge::{self, Merged, Origin};
use super::{Naming, Observed, ServiceRequest};
use crate::core::config::IamRoleMode;
use crate::core::model::Launch;
use crate::core::naming::incomplete_marker;
use crate::core::request::{DeployRequest, DeploymentSpec, RegistrySpec, ServiceSpec};

/// What CreateService is built from, besides the request.
pub(super) struct ServiceParts<'a> {
    pub(super) naming: &'a Naming,
    pub(super) load_balancers: &'a [Value],
    pub(super) network_configuration: Option<Value>,
    pub(super) tags: Vec<(String, String)>,
    pub(super) account_role: &'a Option<String>,
}

/// CreateService's `serviceRegistries`.
fn service_registries(d: &ServiceSpec, container: &str) -> Vec<Value> {
    if let Some(given) = &d.service_registries_raw {
        return given.as_array().cloned().unwrap_or_default();
    }
    let registry = |sd: &RegistrySpec| {
        let mut r = Map::new();
        r.insert("registryArn".into(), json!(sd.registry_arn));
        if let Some(port) = sd.container_port {
            r.insert("containerPort".into(), json!(port));
            r.insert("containerName".into(), json!(sd.container_name.as_deref().unwrap_or(container)));
        }
        Value::Object(r)
    };
    d.service_registries.iter().map(registry).collect()
}

/// CreateService's `deploymentConfiguration` (the circuit breaker from either field), with the
/// merged members inside it.
fn deployment_configuration(d: &DeploymentSpec, merged: &Merged) -> Value {
    let mut breaker = Map::new();
    breaker.insert("enable".into(), json!(d.circuit_breaker_enable.unwrap_or(false)));
    breaker.insert("rollback".into(), json!(d.circuit_breaker_rollback.unwrap_or(false)));
    breaker.extend(merged.breaker.iter().cloned());
    let mut dc = Map::new();
    dc.insert("maximumPercent".into(), json!(d.maximum_percent.unwrap_or(200)));
    dc.insert("minimumHealthyPercent".into(), json!(d.minimum_healthy_percent.unwrap_or(100)));
    dc.insert("deploymentCircuitBreaker".into(), Value::Object(breaker));
    dc.extend(merged.deployment.iter().cloned());
    Value::Object(dc)
}

/// CreateService's placement and launch fields, as given.
fn placement_and_launch(d: &ServiceSpec, launch: &Launch, service: &mut Map<String, Value>) {
    if let Some(constraints) = &d.placement_constraints {
        service.insert("placementConstraints".into(), serde_json::to_value(constraints).unwrap_or_default());
    }
    if let Some(strategies) = &d.placement_strategy {
        service.insert("placementStrategy".into(), serde_json::to_value(strategies).unwrap_or_default());
    }
    match launch {
        Launch::Type(launch_type) => {
            service.insert("launchType".into(), json!(launch_type));
        }
        Launch::CapacityProviders(strategy) if !strategy.is_empty() => {
            service.insert("capacityProviderStrategy".into(), serde_json::to_value(strategy).unwrap_or_default());
        }
        Launch::CapacityProviders(_) => {}
    }
    if let Some(pv) = &d.platform_version {
        service.insert("platformVersion".into(), json!(pv));
    }
}

/// CreateService's settings (everything but the service's identity, count and task definition)
/// with the members merged from the source (`merged`, whose refusals the caller reported) and,
/// when the account can tag services, the crash marker.
pub(super) fn create_service(req: &DeployRequest, obs: &Observed, parts: ServiceParts<'_>, merged: Merged) -> ServiceRequest {
    let d = &req.service;
    let mut service = Map::new();
    if !parts.load_balancers.is_empty() {
        service.insert("loadBalancers".into(), Value::Array(parts.load_balancers.to_vec()));
    }
    service.insert("serviceRegistries".into(), Value::Array(service_registries(d, &parts.naming.container)));
    service.insert("deploymentConfiguration".into(), deployment_configuration(&d.deployment, &merged));
    service.insert("enableExecuteCommand".into(), json!(d.enable_execute_command.unwrap_or(false)));
    placement_and_launch(d, &req.launch, &mut service);
    if let Some(nc) = parts.network_configuration {
        service.insert("networkConfiguration".into(), nc);
    }
    if let Some(grace) = d.health_check_grace_period_seconds {
        service.insert("healthCheckGracePeriodSeconds".into(), json!(grace));
    }
    if obs.tagging_enabled {
        service.insert("tags".into(), json!(parts.tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>()));
    }
    service.extend(merged.members.iter().cloned());
    let legacy = req.account.iam_role_mode == IamRoleMode::Legacy;
    if legacy
        && !req.is_awsvpc()
        && parts.load_balancers.len() == 1
        && let Some(role) = parts.account_role
    {
        service.insert("role".into(), json!(role));
    }
    let origins = origins(req, &service, &merged);
    ServiceRequest {
        settings: service,
        incomplete_marker: obs.tagging_enabled.then(|| incomplete_marker(obs.started_at, &obs.deploy_id)),
        origins,
    }
}

/// Where each member of the body comes from: the merge's for the members it decided; for the
/// others, the description, or Clouddriver's default where the description leaves it out.
fn origins(req: &DeployRequest, settings: &Map<String, Value>, merged: &Merged) -> Vec<(String, Origin)> {
    let d = &req.service;
    let given = |set: bool| if set { Origin::Description } else { Origin::Default };
    let desired = match &req.source {
        Some(s) if s.use_source_capacity => Origin::Source,
        _ => Origin::Description,
    };
    let mut out = vec![
        ("cluster".to_string(), Origin::Description),
        ("serviceName".to_string(), Origin::Deploy),
        ("taskDefinition".to_string(), Origin::Deploy),
        ("desiredCount".to_string(), desired),
    ];
    for member in settings.keys() {
        if merged.origins.iter().any(|(m, _)| m == member) {
            continue;
        }
        let origin = match member.as_str() {
            "deploymentConfiguration" => {
                let dc = &d.deployment;
                out.push(("deploymentConfiguration.maximumPercent".into(), given(dc.maximum_percent.is_some())));
                out.push(("deploymentConfiguration.minimumHealthyPercent".into(), given(dc.minimum_healthy_percent.is_some())));
                out.push(("deploymentConfiguration.deploymentCircuitBreaker".into(), given(dc.circuit_breaker_enable.is_some())));
                continue;
            }
            "enableExecuteCommand" => given(d.enable_execute_command.is_some()),
            "role" => Origin::Deploy,
            _ => Origin::Description,
        };
        out.push((member.clone(), origin));
    }
    out.extend(merged.origins.iter().cloned());
    out
}

/// Checks, before any write, the merged members against the new task definition
/// (faithful-copy.md §4): each volume configuration names a volume configured at launch, such a
/// volume has a configuration, and each Lattice `portName` is a named port mapping.
pub(super) fn launch_checks(task_definition: &Value, merged: &Merged) -> Vec<crate::core::error::FieldError> {
    let err = |member: &str, reason: &str, message: String| {
        crate::core::error::FieldError::new(member, format!("createServerGroupDescription.{member}.{reason}"), message)
    };
    let member = |name: &str| merged.members.iter().find(|(m, _)| m == name).map(|(_, v)| v);
    let at_launch: Vec<&str> = task_definition
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("configuredAtLaunch").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .collect();
    let configured: Vec<&str> = member("volumeConfigurations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let mut errors = Vec::new();
    for name in configured.iter().filter(|n| !at_launch.contains(n)) {
        errors.push(err(
            "volumeConfigurations",
            "noMatchingVolume",
            format!(
                "volume configuration `{name}` names no configuredAtLaunch volume of the new task definition (its volumes configured at launch: {}); \
                 AWS answers \"Volume configuration provided but no matching configuredAtLaunch volume found in task definition\"; set \
                 volumeConfigurations in the description or add the volume to the task definition",
                if at_launch.is_empty() { "none".to_string() } else { at_launch.join(", ") }
            ),
        ));
    }
    for name in at_launch.iter().filter(|n| !configured.contains(n)) {
        errors.push(err(
            "volumeConfigurations",
            "missing",
            format!("the new task definition's volume `{name}` is configured at launch, but no volume configuration names it (not in the description, not on the source): give volumeConfigurations [{{\"name\": \"{name}\", \"managedEBSVolume\": {{…}}}}]"),
        ));
    }
    let port_names: Vec<&str> = task_definition
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|c| c.get("portMappings").and_then(Value::as_array).into_iter().flatten())
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .collect();
    for c in member("vpcLatticeConfigurations").and_then(Value::as_array).into_iter().flatten() {
        let port = c.get("portName").and_then(Value::as_str).unwrap_or_default();
        if !port_names.contains(&port) {
            errors.push(err(
                "vpcLatticeConfigurations",
                "noPortName",
                format!(
                    "VPC Lattice configuration for target group {} names port `{port}`, which is not a named port mapping of the new task definition (its named ports: {})",
                    c.get("targetGroupArn").and_then(Value::as_str).unwrap_or("?"),
                    if port_names.is_empty() { "none".to_string() } else { port_names.join(", ") }
                ),
            ));
        }
    }
    errors
}

/// The class-E warnings of a merge with a source (Decisions D2).
pub(super) fn source_differences(obs: &Observed, settings: &Map<String, Value>) -> Vec<String> {
    obs.source_whole.as_ref().map(|s| merge::differences(settings, s)).unwrap_or_default()
}
