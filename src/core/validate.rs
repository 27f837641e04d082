//! Clouddriver's `EcsCreateServerGroupDescriptionValidator` (clouddriver-ecs-behaviour.md §8)
//! with the Decisions-table additions: every rule, every problem reported at once, each with
//! Clouddriver's code and a message that says what to do. Pure; runs before anything is read
//! from or written to AWS.

use crate::core::config::Account;
use crate::core::description::{Capacity, CreateServerGroup};
use crate::core::error::FieldError;
use crate::core::model::NetworkMode;
use crate::core::moniker::Moniker;

const P: &str = "createServerGroupDescription";

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: &str, reason: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, format!("{P}.{field}.{reason}"), message));
    }
    /// For rows whose code does not end in the field name (`capacity.min.max.range.invalid`).
    fn add_code(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, format!("{P}.{code}"), message));
    }
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

const SPREAD_FIELDS: [&str; 5] =
    ["instanceId", "attribute:ecs.availability-zone", "attribute:ecs.instance-type", "attribute:ecs.os-type", "attribute:ecs.ami-id"];

/// What the rules prove about a description's identity, read by the rules that check each value:
/// a request never reads (or defaults) a value again after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub region: String,
    pub ecs_cluster: String,
    pub moniker: Moniker,
    pub capacity: crate::core::request::Capacity,
}

/// Validates a createServerGroup description. `account` is the resolved account, when known.
/// Every rule that reads an identity value returns it, and returns None only after reporting
/// why: the identity is there exactly when there is no problem.
pub fn validate_create(d: &CreateServerGroup, account: Option<&Account>) -> Result<Identity, Vec<FieldError>> {
    let mut e = Errors(Vec::new());
    let capacity = required_fields(&mut e, d);
    let region = zones(&mut e, d, account);
    placement(&mut e, d);
    let ecs_cluster = cluster_and_discovery(&mut e, d);
    let moniker = validate_moniker(&mut e, d);
    launch(&mut e, d);
    network_mode(&mut e, d);
    image_or_artifact(&mut e, d);
    load_balancing(&mut e, d);
    environment(&mut e, d);
    deployment(&mut e, d);
    match (region, ecs_cluster, moniker, capacity) {
        (Some(region), Some(ecs_cluster), Some(moniker), Some(capacity)) if e.0.is_empty() => {
            Ok(Identity { region, ecs_cluster, moniker, capacity })
        }
        _ => Err(e.0),
    }
}

/// A string with something in it, trimmed.
fn present(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The credentials, the capacity, one way of naming subnet purposes; the capacity when valid.
fn required_fields(e: &mut Errors, d: &CreateServerGroup) -> Option<crate::core::request::Capacity> {
    if d.account_name().is_none() {
        e.add("credentials", "not.nullable", "credentials are required: name the ECS account to deploy to (`credentials` or `account`)");
    }
    let capacity_problems = capacity_errors(P, d.capacity.as_ref());
    // capacity_errors reports each missing value, so a capacity is read exactly when it is valid.
    let capacity = d
        .capacity
        .as_ref()
        .filter(|_| capacity_problems.is_empty())
        .and_then(|c| Some(crate::core::request::Capacity { desired: c.desired?, min: c.min?, max: c.max? }));
    e.0.extend(capacity_problems);

    if !d.subnet_types.as_ref().is_none_or(Vec::is_empty) && !blank(&d.subnet_type) {
        e.add(
            "subnetTypes",
            "invalid",
            "SubnetType (string) cannot be specified when SubnetTypes (list) is specified. Please use SubnetTypes (list)",
        );
    }
    capacity
}

/// `availabilityZones`: exactly one region, configured for the account; the region when valid.
fn zones(e: &mut Errors, d: &CreateServerGroup, account: Option<&Account>) -> Option<String> {
    match &d.availability_zones {
        None => {
            e.add(
                "availabilityZones",
                "not.nullable",
                "availabilityZones is required: {\"REGION\": [\"ZONE\", ...]}; its key is the region to deploy to",
            );
            None
        }
        Some(zones) => {
            if zones.len() != 1 {
                e.add(
                    "availabilityZones",
                    "must.have.only.one",
                    format!("availabilityZones must name exactly one region, found {}", zones.len()),
                );
            }
            // A given networkConfiguration (a clone's) names its subnets by id: the zones choose nothing.
            if d.zones().is_empty() && d.network_configuration.is_none() && d.cloned_from.is_none() {
                e.add("availabilityZones.zones", "not.nullable", "list at least one availability zone for the region in availabilityZones");
            }
            if let Some(region) = d.target_region() {
                // Decisions #4: a `region` that disagrees with availabilityZones is an error, not ignored.
                if let Some(r) = d.region.as_deref().filter(|r| !r.is_empty() && *r != region) {
                    e.add("region", "invalid", format!("region `{r}` disagrees with availabilityZones, whose key `{region}` is the region deployed to; drop `region` or make them agree"));
                }
                if let Some(account) = account
                    && !account.has_region(region)
                {
                    e.add(
                        "region",
                        "not.configured",
                        format!(
                            "region `{region}` is not configured for account `{}` (its regions: {}); add it to `aws.accounts[].regions`",
                            account.name,
                            account.region_names().join(", ")
                        ),
                    );
                }
            }
            let region = present(d.target_region());
            if region.is_none() && zones.len() == 1 {
                e.add("availabilityZones", "invalid", "the key of availabilityZones is blank: it must be the region to deploy to");
            }
            region
        }
    }
}

/// The placement strategies.
fn placement(e: &mut Errors, d: &CreateServerGroup) {
    match &d.placement_strategy_sequence {
        None => e.add("placementStrategySequence", "not.nullable", "placementStrategySequence is required; send [] for none"),
        Some(seq) => {
            for (i, s) in seq.iter().enumerate() {
                match s.kind.as_deref() {
                    Some("random") => {}
                    Some("spread") => {
                        if !s.field.as_deref().is_some_and(|f| SPREAD_FIELDS.contains(&f)) {
                            e.add_code(
                                &format!("placementStrategySequence[{i}].field"),
                                "placementStrategySequence.spread.invalid",
                                format!("spread field `{}` is not one of {}", s.field.as_deref().unwrap_or(""), SPREAD_FIELDS.join(", ")),
                            );
                        }
                    }
                    Some("binpack") => {
                        if !matches!(s.field.as_deref(), Some("cpu") | Some("memory")) {
                            e.add_code(
                                &format!("placementStrategySequence[{i}].field"),
                                "placementStrategySequence.binpack.invalid",
                                format!("binpack field `{}` must be cpu or memory", s.field.as_deref().unwrap_or("")),
                            );
                        }
                    }
                    other => e.add_code(
                        &format!("placementStrategySequence[{i}].type"),
                        "placementStrategySequence.type.invalid",
                        format!("placement strategy type `{}` must be random, spread or binpack", other.unwrap_or("")),
                    ),
                }
            }
        }
    }

    validate_moniker(e, d);
}

/// The ECS cluster and the service discovery associations; the ECS cluster when given.
fn cluster_and_discovery(e: &mut Errors, d: &CreateServerGroup) -> Option<String> {
    let ecs_cluster = present(d.ecs_cluster_name.as_deref());
    if ecs_cluster.is_none() {
        e.add("ecsClusterName", "not.nullable", "ecsClusterName is required: the ECS cluster to create the service in");
    }
    for (i, sd) in d.service_discovery_associations.iter().flatten().enumerate() {
        if sd.registry.as_ref().is_none_or(|r| blank(&r.arn)) {
            e.add_code(
                &format!("serviceDiscoveryAssociations[{i}]"),
                "serviceDiscoveryAssociations.item.invalid",
                "each service discovery association needs registry.arn (a Cloud Map service ARN)",
            );
        }
    }
    ecs_cluster
}

/// The launch type or the capacity provider strategy, not both (Decisions #22).
fn launch(e: &mut Errors, d: &CreateServerGroup) {
    let strategy = d.capacity_provider_strategy.as_ref();
    let launch_type_blank = blank(&d.launch_type);
    if strategy.is_some_and(|s| !s.is_empty()) && !launch_type_blank {
        e.add("launchType", "invalid", "LaunchType cannot be specified when CapacityProviderStrategy are specified.");
    }
    // Decisions #22: an empty strategy list with a blank launch type is an error too.
    if strategy.is_none_or(Vec::is_empty) && launch_type_blank {
        e.add("launchType", "invalid", "LaunchType or CapacityProviderStrategy must be specified.");
    }
    if let Some(lt) = d.launch_type.as_deref().filter(|l| !l.trim().is_empty())
        && !matches!(lt, "EC2" | "FARGATE" | "EXTERNAL")
    {
        e.add(
            "launchType",
            "invalid",
            format!("launch type `{lt}` must be EC2, FARGATE or EXTERNAL (FARGATE_SPOT is a capacity provider)"),
        );
    }
    for (i, item) in strategy.into_iter().flatten().enumerate() {
        if blank(&item.capacity_provider) {
            e.add_code(
                &format!("capacityProviderStrategy[{i}].capacityProvider"),
                "capacityProviderStrategy.invalid",
                "each capacity provider strategy item needs capacityProvider",
            );
        }
        if item.weight.is_some_and(|w| !(0..=1000).contains(&w)) || item.base.is_some_and(|b| !(0..=100000).contains(&b)) {
            e.add_code(
                &format!("capacityProviderStrategy[{i}]"),
                "capacityProviderStrategy.invalid",
                "capacity provider weight must be 0-1000 and base 0-100000",
            );
        }
    }
}

/// The network mode (Decisions #14).
fn network_mode(e: &mut Errors, d: &CreateServerGroup) {
    // Decisions #14: networkMode must be one ECS knows.
    if let Some(mode) = d.network_mode.as_deref().filter(|m| !m.is_empty())
        && mode != "default"
        && NetworkMode::parse(mode).is_none()
    {
        e.add("networkMode", "invalid", format!("networkMode `{mode}` must be one of {} or default", NetworkMode::names()));
    }
}

/// What inputs mode needs (image, CPU, memory), or what artifact mode needs for a target group.
fn image_or_artifact(e: &mut Errors, d: &CreateServerGroup) {
    let artifact_mode = d.artifact_mode();
    if !artifact_mode {
        if blank(&d.docker_image_address) {
            e.add(
                "dockerImageAddress",
                "not.nullable",
                "dockerImageAddress is required without a task definition artifact: the image to run",
            );
        }
        for (field, value) in [("computeUnits", d.compute_units), ("reservedMemory", d.reserved_memory)] {
            match value {
                None => e.add(field, "not.nullable", format!("{field} is required without a task definition artifact")),
                Some(v) if v < 0 => e.add(field, "invalid", format!("{field} must not be negative, found {v}")),
                _ => {}
            }
        }
    } else {
        if !blank(&d.target_group) && blank(&d.load_balanced_container) {
            e.add(
                "loadBalancedContainer",
                "not.nullable",
                "with a task definition artifact, targetGroup needs loadBalancedContainer: the artifact container that serves it",
            );
        }
        if !blank(&d.load_balanced_container) && blank(&d.target_group) {
            e.add("targetGroup", "not.nullable", "loadBalancedContainer is set but targetGroup is not");
        }
    }
}

/// The target group fields and mappings.
fn load_balancing(e: &mut Errors, d: &CreateServerGroup) {
    let artifact_mode = d.artifact_mode();
    if let Some(port) = d.container_port
        && !(0..=65535).contains(&port)
    {
        e.add("containerPort", "invalid", format!("containerPort {port} is out of range 0-65535"));
    }
    if d.container_port.is_none() && !blank(&d.target_group) {
        e.add("containerPort", "not.nullable", "targetGroup needs containerPort: the container port the target group sends traffic to");
    }
    let mappings = d.target_group_mappings.as_deref().unwrap_or_default();
    if !mappings.is_empty() && d.target_group.as_deref().is_some_and(|t| !t.is_empty()) {
        e.add(
            "targetGroup",
            "invalid",
            "TargetGroup cannot be specified when TargetGroupMapping.TargetGroup is specified. Please use TargetGroupMapping",
        );
    }
    for (i, m) in mappings.iter().enumerate() {
        if artifact_mode && !blank(&m.target_group) && blank(&m.container_name) {
            e.add_code(
                &format!("targetGroupMappings[{i}].containerName"),
                "targetGroupMappings.containerName.not.nullable",
                "with a task definition artifact each target group mapping names its container",
            );
        }
        if artifact_mode && !blank(&m.container_name) && blank(&m.target_group) {
            e.add_code(
                &format!("targetGroupMappings[{i}].targetGroup"),
                "targetGroupMappings.targetGroup.not.nullable",
                "this target group mapping names a container but no target group",
            );
        }
        match m.container_port {
            Some(port) if !(0..=65535).contains(&port) => e.add_code(
                &format!("targetGroupMappings[{i}].containerPort"),
                "targetGroupMappings.containerPort.invalid",
                format!("containerPort {port} is out of range 0-65535"),
            ),
            None if !blank(&m.target_group) => e.add_code(
                &format!("targetGroupMappings[{i}].containerPort"),
                "targetGroupMappings.containerPort.not.nullable",
                "a target group mapping needs containerPort",
            ),
            _ => {}
        }
    }
}

/// The environment variables Spinnaker sets itself.
fn environment(e: &mut Errors, d: &CreateServerGroup) {
    let reserved: Vec<&str> = d
        .environment_variables
        .iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .filter(|k| crate::core::taskdef::SPINNAKER_ENV.contains(k))
        .collect();
    if !reserved.is_empty() {
        e.add(
            "environmentVariables",
            "invalid",
            format!("{} are set by Spinnaker and cannot be given in environmentVariables; remove them", reserved.join(", ")),
        );
    }
}

/// The health check grace period and the deployment configuration.
fn deployment(e: &mut Errors, d: &CreateServerGroup) {
    if let Some(grace) = d.health_check_grace_period_seconds
        && !(0..=2147483647).contains(&grace)
    {
        e.add("healthCheckGracePeriodSeconds", "invalid", format!("healthCheckGracePeriodSeconds must not be negative, found {grace}"));
    }
    if let Some(dc) = &d.deployment_configuration {
        if dc.minimum_healthy_percent.is_some_and(|p| !(0..=100).contains(&p)) {
            e.add("deploymentConfiguration.minimumHealthyPercent", "invalid", "minimumHealthyPercent must be 0-100");
        }
        if dc.maximum_percent.is_some_and(|p| !(100..=200).contains(&p)) {
            e.add("deploymentConfiguration.maximumPercent", "invalid", "maximumPercent must be 100-200");
        }
    }
}

/// Clouddriver's `CommonValidator.validateCapacity`, the one capacity rule of createServerGroup and
/// resizeServerGroup: every field present and not negative, min ≤ max, min ≤ desired ≤ max, with
/// codes `{prefix}.capacity…` (`createServerGroupDescription`, `resizeServiceDescription`).
pub fn capacity_errors(prefix: &str, capacity: Option<&Capacity>) -> Vec<FieldError> {
    let error = |field: &str, reason: &str, message: String| FieldError::new(field, format!("{prefix}.{field}.{reason}"), message);
    let Some(c) = capacity else {
        let message = "capacity is required: {\"min\": N, \"max\": N, \"desired\": N} (on the command line --min, --max, --desired)";
        return vec![error("capacity", "not.nullable", message.into())];
    };
    let mut errors = Vec::new();
    for (name, v) in [("desired", c.desired), ("min", c.min), ("max", c.max)] {
        let field = format!("capacity.{name}");
        match v {
            None => errors.push(error(&field, "not.nullable", format!("{field} is required"))),
            Some(v) if v < 0 => errors.push(error(&field, "invalid", format!("{field} must not be negative, found {v}"))),
            _ => {}
        }
    }
    if let (Some(min), Some(max)) = (c.min, c.max)
        && min > max
    {
        errors.push(error("capacity.min.max.range", "invalid", format!("capacity.min {min} is greater than capacity.max {max}")));
    }
    if let (Some(desired), Some(max)) = (c.desired, c.max)
        && desired > max
    {
        let message = format!("capacity.desired {desired} exceeds capacity.max {max}; raise max or lower desired");
        errors.push(error("capacity.desired", "exceeds.max", message));
    }
    if let (Some(desired), Some(min)) = (c.desired, c.min)
        && desired < min
    {
        let message = format!("capacity.desired {desired} is less than capacity.min {min}; lower min or raise desired");
        errors.push(error("capacity.desired", "less.than.min", message));
    }
    errors
}

fn check_name_part(e: &mut Errors, field: &str, value: &str, allow_hyphen: bool) {
    let ok = value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || (allow_hyphen && b == b'-'));
    if !ok {
        e.add(
            field,
            "invalid",
            format!(
                "`{value}` has characters ECS service and family names cannot hold; use letters, digits{}and underscores",
                if allow_hyphen { ", hyphens " } else { " " }
            ),
        );
    }
}

/// Moniker rows: app required, deprecated fields must agree with the moniker, and the parts must
/// form a valid ECS name; the moniker when its app is given.
fn validate_moniker(e: &mut Errors, d: &CreateServerGroup) -> Option<Moniker> {
    let (app, stack, detail) = match &d.moniker {
        None => {
            if blank(&d.application) {
                e.add("application", "not.nullable", "application is required (or a moniker with app)");
                return None;
            }
            (d.application.clone(), d.stack.clone(), d.free_form_details.clone())
        }
        Some(m) => {
            if blank(&m.app) {
                e.add("moniker.app", "not.nullable", "moniker.app is required");
            }
            for (field, given, moniker) in [
                ("moniker.app", &d.application, &m.app),
                ("moniker.detail", &d.free_form_details, &m.detail),
                ("moniker.stack", &d.stack, &m.stack),
            ] {
                if !blank(given) && given.as_deref() != moniker.as_deref() {
                    e.add(
                        field,
                        "invalid",
                        format!(
                            "`{}` disagrees with {field} `{}`; drop the deprecated field or make them agree",
                            given.as_deref().unwrap_or(""),
                            moniker.as_deref().unwrap_or("")
                        ),
                    );
                }
            }
            (m.app.clone(), m.stack.clone(), m.detail.clone())
        }
    };
    // A blank app was reported above.
    let app = present(app.as_deref())?;
    check_name_part(e, if d.moniker.is_some() { "moniker.app" } else { "application" }, &app, false);
    if let Some(stack) = stack.as_deref().filter(|s| !s.is_empty()) {
        check_name_part(e, if d.moniker.is_some() { "moniker.stack" } else { "stack" }, stack, false);
    }
    if let Some(detail) = detail.as_deref().filter(|s| !s.is_empty()) {
        check_name_part(e, if d.moniker.is_some() { "moniker.detail" } else { "freeFormDetails" }, detail, true);
    }
    let moniker = Moniker::new(&app, stack.as_deref(), detail.as_deref());
    let cluster = moniker.cluster();
    if cluster.len() > 255 - 5 {
        e.add(
            "application",
            "invalid",
            format!("the server group name `{cluster}-vNNN` would be longer than the 255 characters ECS allows"),
        );
    }
    Some(moniker)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::description::create_server_group_from_json;
    use serde_json::{Value, json};

    fn valid() -> Value {
        json!({
            "credentials": "ecs", "application": "app", "stack": "prod", "ecsClusterName": "c",
            "capacity": {"min": 1, "max": 2, "desired": 1}, "availabilityZones": {"us-west-2": ["us-west-2a"]},
            "placementStrategySequence": [], "launchType": "FARGATE", "dockerImageAddress": "nginx",
            "computeUnits": 256, "reservedMemory": 512, "networkMode": "awsvpc"
        })
    }

    fn codes(v: Value) -> Vec<String> {
        validate_create(&create_server_group_from_json(v).unwrap(), None).err().unwrap_or_default().into_iter().map(|e| e.code).collect()
    }

    fn with(mut base: Value, patch: Value) -> Value {
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base
    }

    #[test]
    fn a_valid_description_passes() {
        assert!(codes(valid()).is_empty(), "{:?}", codes(valid()));
    }

    #[test]
    fn every_row_has_its_code() {
        let table: Vec<(Value, &str)> = vec![
            (json!({"credentials": null}), "credentialsnot"),
            (json!({"capacity": null}), "capacity.not.nullable"),
            (json!({"capacity": {"min": 1, "max": 2}}), "capacity.desired.not.nullable"),
            (json!({"capacity": {"min": -1, "max": 2, "desired": 0}}), "capacity.min.invalid"),
            (json!({"capacity": {"min": 3, "max": 2, "desired": 2}}), "capacity.min.max.range.invalid"),
            (json!({"capacity": {"min": 1, "max": 2, "desired": 3}}), "capacity.desired.exceeds.max"),
            (json!({"capacity": {"min": 2, "max": 3, "desired": 1}}), "capacity.desired.less.than.min"),
            (json!({"subnetTypes": ["a"], "subnetType": "b"}), "subnetTypes.invalid"),
            (json!({"availabilityZones": {"us-west-2": ["a"], "us-east-1": ["b"]}}), "availabilityZones.must.have.only.one"),
            (json!({"availabilityZones": {"us-west-2": []}}), "availabilityZones.zones.not.nullable"),
            (json!({"availabilityZones": null}), "availabilityZones.not.nullable"),
            (json!({"placementStrategySequence": [{"type": "wild"}]}), "placementStrategySequence.type.invalid"),
            (json!({"placementStrategySequence": [{"type": "spread", "field": "host"}]}), "placementStrategySequence.spread.invalid"),
            (json!({"placementStrategySequence": [{"type": "binpack", "field": "disk"}]}), "placementStrategySequence.binpack.invalid"),
            (json!({"placementStrategySequence": null}), "placementStrategySequence.not.nullable"),
            (json!({"application": null}), "application.not.nullable"),
            (json!({"moniker": {"stack": "prod"}}), "moniker.app.not.nullable"),
            (json!({"moniker": {"app": "other", "stack": "prod"}}), "moniker.app.invalid"),
            (json!({"moniker": {"app": "app", "stack": "dev"}}), "moniker.stack.invalid"),
            (json!({"freeFormDetails": "x", "moniker": {"app": "app", "stack": "prod", "detail": "y"}}), "moniker.detail.invalid"),
            (json!({"ecsClusterName": null}), "ecsClusterName.not.nullable"),
            (json!({"serviceDiscoveryAssociations": [{"containerPort": 80}]}), "serviceDiscoveryAssociations.item.invalid"),
            (json!({"capacityProviderStrategy": [{"capacityProvider": "FARGATE"}]}), "launchType.invalid"),
            (json!({"launchType": null}), "launchType.invalid"),
            (json!({"launchType": "", "capacityProviderStrategy": []}), "launchType.invalid"),
            (json!({"dockerImageAddress": null}), "dockerImageAddress.not.nullable"),
            (json!({"computeUnits": null}), "computeUnits.not.nullable"),
            (json!({"computeUnits": -1}), "computeUnits.invalid"),
            (json!({"reservedMemory": null}), "reservedMemory.not.nullable"),
            (json!({"reservedMemory": -5}), "reservedMemory.invalid"),
            (json!({"useTaskDefinitionArtifact": true, "targetGroup": "tg", "containerPort": 80}), "loadBalancedContainer.not.nullable"),
            (json!({"useTaskDefinitionArtifact": true, "loadBalancedContainer": "web"}), "targetGroup.not.nullable"),
            (json!({"containerPort": 70000}), "containerPort.invalid"),
            (json!({"targetGroup": "tg"}), "containerPort.not.nullable"),
            (
                json!({"targetGroup": "tg", "containerPort": 80, "targetGroupMappings": [{"targetGroup": "a", "containerPort": 80}]}),
                "targetGroup.invalid",
            ),
            (
                json!({"useTaskDefinitionArtifact": true, "targetGroupMappings": [{"targetGroup": "a", "containerPort": 80}]}),
                "targetGroupMappings.containerName.not.nullable",
            ),
            (
                json!({"useTaskDefinitionArtifact": true, "targetGroupMappings": [{"containerName": "a", "containerPort": 80}]}),
                "targetGroupMappings.targetGroup.not.nullable",
            ),
            (json!({"targetGroupMappings": [{"targetGroup": "a", "containerPort": -1}]}), "targetGroupMappings.containerPort.invalid"),
            (json!({"targetGroupMappings": [{"targetGroup": "a"}]}), "targetGroupMappings.containerPort.not.nullable"),
            (json!({"environmentVariables": {"SERVER_GROUP": "x"}}), "environmentVariables.invalid"),
            (json!({"networkMode": "aws-vpc"}), "networkMode.invalid"),
            (json!({"region": "eu-west-1"}), "region.invalid"),
            (json!({"application": "my.app"}), "application.invalid"),
            (json!({"freeFormDetails": "has space"}), "freeFormDetails.invalid"),
        ];
        for (patch, code) in table {
            let got = codes(with(valid(), patch.clone()));
            let code = code.replace("credentialsnot", "credentials.not.nullable");
            assert!(got.iter().any(|c| c == &format!("{P}.{code}")), "{patch} should give {code}, got {got:?}");
        }
    }

    #[test]
    fn all_errors_are_reported_at_once() {
        let got = codes(json!({}));
        assert!(got.len() >= 8, "{got:?}");
    }

    #[test]
    fn region_must_be_configured_for_the_account() {
        let config = crate::core::config::Config::from_yaml(
            "aws:\n  accounts: [{name: a, accountId: '123456789012', regions: [{name: us-east-1}]}]\necs:\n  accounts: [{name: ecs, awsAccount: a}]\n",
        )
        .unwrap();
        let account = config.account("ecs").unwrap();
        let d = create_server_group_from_json(valid()).unwrap();
        let errors = validate_create(&d, Some(&account)).err().unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, "createServerGroupDescription.region.not.configured");
        assert!(errors[0].message.contains("us-east-1"));
    }
}
