//! The operation descriptions Orca, Deck and people post: `createServerGroup` and the lifecycle
//! operations, as serde structs. Parsing is lenient the way Clouddriver's Jackson setup is:
//! unknown fields are ignored (Orca sends the whole stage context), numbers may arrive as strings
//! and Deck's `''` means "not set". Parse errors name the JSON path. No validation here.

use crate::core::operation::Operation;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::core::error::{Error, FieldError, Result};

/// Deck sends `''` for unset numbers and Jackson coerces `"5"` to 5; do the same. Every such field
/// is a Java `Integer` in Clouddriver and an `int32` in AWS: like Jackson, a number outside the
/// 32-bit range is an error, never saturated or wrapped into another value.
pub(crate) fn lenient_int<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<i64>, D::Error> {
    let out_of_range =
        |text: &str| serde::de::Error::custom(format!("{text} is out of range: AWS takes a 32-bit integer ({} to {})", i32::MIN, i32::MAX));
    let n = match Value::deserialize(d)? {
        Value::Null => return Ok(None),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i,
            (None, Some(f)) if f.fract() == 0.0 && f.abs() <= f64::from(i32::MAX) => f as i64,
            (None, Some(f)) if f.fract() == 0.0 => return Err(out_of_range(&n.to_string())),
            _ if n.as_u64().is_some() => return Err(out_of_range(&n.to_string())),
            _ => return Err(serde::de::Error::custom(format!("expected an integer, found {n}"))),
        },
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(i) => i,
            Err(_) if s.trim().parse::<i128>().is_ok() => return Err(out_of_range(s.trim())),
            Err(_) => return Err(serde::de::Error::custom(format!("expected an integer, found \"{s}\""))),
        },
        other => return Err(serde::de::Error::custom(format!("expected an integer, found {other}"))),
    };
    match i32::try_from(n) {
        Ok(_) => Ok(Some(n)),
        Err(_) => Err(out_of_range(&n.to_string())),
    }
}

/// Booleans as Jackson reads them: `true`, `"true"`, and `''`/null as unset.
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<bool>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        other => Err(serde::de::Error::custom(format!("expected true or false, found {other}"))),
    }
}

/// Strings; numbers and booleans are turned into their text like Jackson does.
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(serde::de::Error::custom(format!("expected a string, found {other}"))),
    }
}

/// A string-to-string map in document order; scalar values are turned into text.
pub(crate) fn string_map<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Vec<(String, String)>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                Value::Number(n) => Ok((k, n.to_string())),
                Value::Bool(b) => Ok((k, b.to_string())),
                Value::Null => Ok((k, String::new())),
                other => Err(serde::de::Error::custom(format!("value of `{k}` must be a string, found {other}"))),
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(Some),
        other => Err(serde::de::Error::custom(format!("expected an object of strings, found {other}"))),
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MonikerInput {
    #[serde(default, deserialize_with = "lenient_string")]
    pub app: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub stack: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub detail: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub cluster: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub sequence: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Capacity {
    #[serde(default, deserialize_with = "lenient_int")]
    pub min: Option<i64>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub max: Option<i64>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub desired: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(default, deserialize_with = "lenient_string")]
    pub account: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub asg_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub use_source_capacity: Option<bool>,
    /// ecs-deployer addition (Decisions #6): the source's ECS cluster when it differs from the destination's.
    #[serde(default, deserialize_with = "lenient_string")]
    pub ecs_cluster_name: Option<String>,
}

impl Source {
    /// Clouddriver looks the source up only when account, region and name are all given.
    pub fn is_complete(&self) -> bool {
        self.account.is_some() && self.region.is_some() && self.asg_name.is_some()
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacementStrategy {
    #[serde(default, deserialize_with = "lenient_string")]
    #[serde(rename = "type")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacementConstraint {
    #[serde(default, deserialize_with = "lenient_string")]
    #[serde(rename = "type")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRegistry {
    #[serde(default, deserialize_with = "lenient_string")]
    pub arn: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDiscoveryAssociation {
    pub registry: Option<ServiceRegistry>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub container_port: Option<i64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub container_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupMapping {
    #[serde(default, deserialize_with = "lenient_string")]
    pub container_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub container_port: Option<i64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub target_group: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderStrategyItem {
    #[serde(default, deserialize_with = "lenient_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_provider: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    #[serde(default, deserialize_with = "lenient_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<i64>,
}

/// A kork `Artifact` (the keys a deploy reads).
pub use crate::core::artifact::ArtifactRef as Artifact;

/// Orca's `taskDefinitionArtifact` stage field: an artifact id to bind, or the artifact itself.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StageArtifact {
    #[serde(default, deserialize_with = "lenient_string")]
    pub artifact_id: Option<String>,
    #[serde(default)]
    pub artifact: Option<Artifact>,
}

/// Orca's `imageDescription`: an image id or its parts.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageDescription {
    #[serde(default, deserialize_with = "lenient_string")]
    pub image_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub registry: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub repository: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub tag: Option<String>,
}

impl ImageDescription {
    /// `imageId`, else `registry/repository:tag` (or `repository:tag` without a registry).
    pub fn image(&self) -> Option<String> {
        if let Some(id) = self.image_id.as_deref().filter(|s| !s.is_empty()) {
            return Some(id.to_string());
        }
        let repository = self.repository.as_deref().filter(|s| !s.is_empty())?;
        let tag = self.tag.as_deref().filter(|s| !s.is_empty()).map(|t| format!(":{t}")).unwrap_or_default();
        Some(match self.registry.as_deref().filter(|s| !s.is_empty()) {
            Some(registry) => format!("{registry}/{repository}{tag}"),
            None => format!("{repository}{tag}"),
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContainerMapping {
    #[serde(default, deserialize_with = "lenient_string")]
    pub container_name: Option<String>,
    pub image_description: Option<ImageDescription>,
}

/// ecs-deployer addition (Decisions #19): overrides the fixed 100/200 deployment configuration.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfigurationInput {
    #[serde(default, deserialize_with = "lenient_int")]
    pub minimum_healthy_percent: Option<i64>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub maximum_percent: Option<i64>,
    pub deployment_circuit_breaker: Option<CircuitBreakerInput>,
    /// ecs-deployer additions (faithful-copy.md §2.1), as CreateService takes them.
    pub alarms: Option<Value>,
    pub early_success_criteria: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreakerInput {
    #[serde(default, deserialize_with = "lenient_bool")]
    pub enable: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub rollback: Option<bool>,
    /// ecs-deployer additions (faithful-copy.md §2.1), as CreateService takes them.
    pub reset_on_healthy_task: Option<Value>,
    pub threshold_configuration: Option<Value>,
}

/// Orca's `rollback` stage settings for a deploy.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RollbackInput {
    #[serde(default, deserialize_with = "lenient_bool")]
    pub on_failure: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub destroy_latest: Option<bool>,
}

/// The lifecycle operations' descriptions (`disableServerGroup`, `enableServerGroup`,
/// `resizeServerGroup`, `destroyServerGroup`): Clouddriver's `ModifyServiceDescription` and
/// `ResizeServiceDescription`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServerGroupOperation {
    #[serde(default, deserialize_with = "lenient_string")]
    pub credentials: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub account: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub server_group_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub asg_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub ecs_cluster_name: Option<String>,
    pub capacity: Option<Capacity>,
    /// `availabilityZones` as Orca sometimes sends it instead of `region`.
    pub availability_zones: Option<Map<String, Value>>,
    /// A partial disable's share (Orca's rolling red/black: `desiredPercentage`).
    #[serde(default, deserialize_with = "lenient_int")]
    pub desired_percentage: Option<i64>,
    /// Go on past the checks that the group can serve (blue-green.md §9.3); audited.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub force: Option<bool>,
}

impl ServerGroupOperation {
    pub fn account_name(&self) -> Option<&str> {
        self.credentials.as_deref().or(self.account.as_deref()).filter(|s| !s.is_empty())
    }

    pub fn region_name(&self) -> Option<&str> {
        self.region
            .as_deref()
            .filter(|s| !s.is_empty())
            .or_else(|| self.availability_zones.as_ref().and_then(|m| m.keys().next()).map(String::as_str))
    }

    pub fn server_group(&self) -> Option<&str> {
        self.server_group_name.as_deref().or(self.asg_name.as_deref()).filter(|s| !s.is_empty())
    }
}

/// Reads one lifecycle operation (`expected`, e.g. `disableServerGroup`) from a bare description
/// or an operations list holding it.
pub fn server_group_operation_from_json(value: Value, expected: &str) -> Result<ServerGroupOperation> {
    let value = match value {
        Value::Array(items) => {
            let mut found = None;
            for (i, item) in items.into_iter().enumerate() {
                let (name, description) = operation_entry(i, item).map_err(|e| Error::Invalid(vec![e]))?;
                if name == expected && found.is_none() {
                    found = Some(description);
                }
            }
            found.ok_or_else(|| Error::invalid("operations", "operations.invalid", format!("the operations list holds no {expected}")))?
        }
        Value::Object(mut map) if map.len() == 1 && map.contains_key(expected) => map.remove(expected).unwrap_or_default(),
        other => other,
    };
    if !value.is_object() {
        return Err(Error::invalid("description", "description.invalid", format!("a {expected} description must be a JSON object")));
    }
    from_value(value, expected)
}

/// One entry of an operations list, `{"NAME": {description}}`: an object with one key, the
/// operation's name. The one reading of an entry, for `deploy`, the lifecycle commands and `ops`.
pub fn operation_entry(index: usize, item: Value) -> std::result::Result<(String, Value), FieldError> {
    let invalid = || {
        FieldError::new(
            format!("[{index}]"),
            "operations.invalid",
            "each operation is an object with one key, the operation name: {\"createServerGroup\": {...}}",
        )
    };
    let Value::Object(map) = item else { return Err(invalid()) };
    if map.len() != 1 {
        return Err(invalid());
    }
    map.into_iter().next().ok_or_else(invalid)
}

/// Clouddriver's `CreateServerGroupDescription`, every field (clouddriver-ecs-behaviour.md §1).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateServerGroup {
    #[serde(default, deserialize_with = "lenient_string")]
    pub credentials: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub account: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub application: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub stack: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub free_form_details: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub region: Option<String>,
    pub moniker: Option<MonikerInput>,

    #[serde(default, deserialize_with = "lenient_string")]
    pub ecs_cluster_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub iam_role: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub container_port: Option<i64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub target_group: Option<String>,
    pub security_group_names: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub port_protocol: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub compute_units: Option<i64>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub reserved_memory: Option<i64>,
    #[serde(default, deserialize_with = "string_map")]
    pub environment_variables: Option<Vec<(String, String)>>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: Option<Vec<(String, String)>>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub docker_image_address: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub docker_image_credentials_secret: Option<String>,
    pub capacity: Option<Capacity>,
    pub availability_zones: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub copy_source_scaling_policies_and_actions: Option<bool>,
    pub source: Option<Source>,
    pub placement_strategy_sequence: Option<Vec<PlacementStrategy>>,
    pub placement_constraints: Option<Vec<PlacementConstraint>>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub network_mode: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub subnet_type: Option<String>,
    pub subnet_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub associate_public_ip_address: Option<bool>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub health_check_grace_period_seconds: Option<i64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub launch_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub platform_version: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub log_driver: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub log_options: Option<Vec<(String, String)>>,
    #[serde(default, deserialize_with = "string_map")]
    pub docker_labels: Option<Vec<(String, String)>>,
    pub service_discovery_associations: Option<Vec<ServiceDiscoveryAssociation>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub use_task_definition_artifact: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub evaluate_task_definition_artifact_expressions: Option<bool>,
    pub resolved_task_definition_artifact: Option<Artifact>,
    /// Orca's stage field (`{artifactId | artifact}`); its inline `artifact` is used when
    /// `resolvedTaskDefinitionArtifact` is absent (a stage posted without Orca's binding).
    #[serde(default)]
    pub task_definition_artifact: Option<StageArtifact>,
    pub spel_processed_task_definition_artifact: Option<Value>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub task_definition_artifact_account: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub container_to_image_map: Option<Vec<(String, String)>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub enable_execute_command: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub enable_deployment_circuit_breaker: Option<bool>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub load_balanced_container: Option<String>,
    pub target_group_mappings: Option<Vec<TargetGroupMapping>>,
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,

    // Deploy strategy (Orca's stage context), run by ecs-deployer itself.
    #[serde(default, deserialize_with = "lenient_string")]
    pub strategy: Option<String>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub max_remaining_asgs: Option<i64>,
    /// Rolling red/black's steps (Orca's `targetPercentages`).
    pub target_percentages: Option<Vec<i64>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub scale_down: Option<bool>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub delay_before_disable_sec: Option<i64>,
    #[serde(default, deserialize_with = "lenient_int")]
    pub delay_before_cleanup: Option<i64>,
    pub rollback: Option<RollbackInput>,

    // Fields Orca folds into the above before posting; read here so a hand-written stage context works too.
    pub image_description: Option<ImageDescription>,
    pub container_mappings: Option<Vec<ContainerMapping>>,
    pub deployment_configuration: Option<DeploymentConfigurationInput>,

    // ecs-deployer additions (faithful-copy.md §2, class C): CreateService members Clouddriver's
    // description cannot express, under their CreateService names. Given (even empty), they win
    // over the source server group's; not given, the source's are copied.
    pub volume_configurations: Option<Value>,
    pub vpc_lattice_configurations: Option<Value>,
    pub service_connect_configuration: Option<Value>,
    pub monitoring: Option<Value>,
    pub gateway_connectors: Option<Value>,
    pub availability_zone_rebalancing: Option<Value>,
    pub propagate_tags: Option<Value>,
    #[serde(rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: Option<Value>,
    /// `clone`'s (faithful-copy.md §2.3): the source's load balancers, service registries and
    /// network configuration (subnet and security group ids) as CreateService takes them,
    /// instead of targetGroupMappings, serviceDiscoveryAssociations and subnet purposes.
    pub load_balancers: Option<Value>,
    pub service_registries: Option<Value>,
    pub network_configuration: Option<Value>,
    /// Set by `clone`: the server group this description was built from. Its settings are
    /// stated by id, so no availability zones are needed to choose subnets.
    #[serde(default, deserialize_with = "lenient_string")]
    pub cloned_from: Option<String>,
    /// False: the source contributes only what Clouddriver takes from it (Decisions D1).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub copy_source_service_settings: Option<bool>,
    /// A traffic-managed deploy (blue-green.md §4): vN+1 in the pair's idle target group, then
    /// listener-rule weights moved to it in steps.
    pub traffic_shift: Option<crate::core::traffic::deploy::TrafficShiftDescription>,
}

impl CreateServerGroup {
    /// The account name: `credentials`, else `account` (Orca copies one into the other).
    pub fn account_name(&self) -> Option<&str> {
        self.credentials.as_deref().or(self.account.as_deref()).filter(|s| !s.is_empty())
    }

    /// The region: the first (and only valid) key of `availabilityZones`.
    pub fn target_region(&self) -> Option<&str> {
        self.availability_zones.as_ref()?.keys().next().map(String::as_str)
    }

    /// The zones listed for the target region.
    pub fn zones(&self) -> Vec<String> {
        self.availability_zones
            .as_ref()
            .and_then(|m| m.values().next())
            .and_then(Value::as_array)
            .map(|zones| zones.iter().filter_map(|z| z.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    pub fn artifact_mode(&self) -> bool {
        self.use_task_definition_artifact == Some(true)
    }

    /// `subnetTypes` ∪ `subnetType`, in order, without blanks or repeats.
    pub fn subnet_purposes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for purpose in self.subnet_types.iter().flatten().chain(self.subnet_type.iter()) {
            if !purpose.is_empty() && !out.contains(purpose) {
                out.push(purpose.clone());
            }
        }
        out
    }
}

/// Parses a JSON value into `T`, reporting the failing JSON path.
pub fn from_value<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        // serde quotes the value it could not read: not for a field that may hold a secret.
        let problem = if crate::core::error::holds_secret(&path) { "not of the expected type".to_string() } else { e.inner().to_string() };
        Error::Invalid(vec![FieldError::new(
            if path == "." { what.to_string() } else { path.clone() },
            format!("{what}.invalid"),
            format!("`{path}` in the {what}: {problem}"),
        )])
    })
}

/// Parses JSON text with a message naming `source` (a file name) and the line and column.
pub fn parse_json_text(text: &str, source: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        Error::invalid(source, "json.invalid", format!("{source}: not valid JSON at line {}, column {}: {e}", e.line(), e.column()))
    })
}

/// Reads the `createServerGroup` description out of a bare description or an operations list
/// `[{"createServerGroup": {...}}]`.
pub fn create_server_group_from_json(value: Value) -> Result<CreateServerGroup> {
    let value = match value {
        Value::Array(items) => {
            let mut found = None;
            for (i, item) in items.into_iter().enumerate() {
                let (name, description) = operation_entry(i, item).map_err(|e| Error::Invalid(vec![e]))?;
                let problem = match Operation::parse(&name) {
                    Some(Operation::CreateServerGroup) if found.is_none() => {
                        found = Some(description);
                        continue;
                    }
                    Some(Operation::CreateServerGroup) => {
                        "the operations list holds more than one createServerGroup; `deploy` runs one (use `ops` for lists)".into()
                    }
                    _ => format!("`deploy` runs createServerGroup; `{name}` belongs to another command"),
                };
                return Err(Error::invalid(&format!("[{i}]"), "operations.invalid", problem));
            }
            found.ok_or_else(|| Error::invalid("operations", "operations.invalid", "the operations list holds no createServerGroup"))?
        }
        other => other,
    };
    if !value.is_object() {
        return Err(Error::invalid("description", "description.invalid", "a createServerGroup description must be a JSON object"));
    }
    from_value(value, "createServerGroupDescription")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tolerates_unknown_fields_and_deck_blanks() {
        let d = create_server_group_from_json(json!({
            "credentials": "ecs-prod", "application": "app", "strategy": "redblack", "cloudProvider": "ecs",
            "healthCheckGracePeriodSeconds": "", "capacity": {"min": "1", "max": 2, "desired": 1.0},
            "availabilityZones": {"us-west-2": ["us-west-2a", "us-west-2b"]},
            "environmentVariables": {"A": "1", "B": 2},
            "associatePublicIpAddress": "true"
        }))
        .unwrap();
        assert_eq!(d.health_check_grace_period_seconds, None);
        assert_eq!(d.capacity.clone().unwrap(), Capacity { min: Some(1), max: Some(2), desired: Some(1) });
        assert_eq!(d.target_region(), Some("us-west-2"));
        assert_eq!(d.zones(), vec!["us-west-2a", "us-west-2b"]);
        assert_eq!(d.environment_variables.unwrap(), vec![("A".into(), "1".into()), ("B".into(), "2".into())]);
        assert_eq!(d.associate_public_ip_address, Some(true));
    }

    #[test]
    fn operations_lists_and_errors_with_paths() {
        let d = create_server_group_from_json(json!([{"createServerGroup": {"account": "a"}}])).unwrap();
        assert_eq!(d.account_name(), Some("a"));
        let Error::Invalid(errors) = create_server_group_from_json(json!({"capacity": {"min": "lots"}})).unwrap_err() else { panic!() };
        assert_eq!(errors[0].field, "capacity.min");
        assert!(errors[0].message.contains("expected an integer"), "{}", errors[0].message);
        assert!(create_server_group_from_json(json!([{"disableServerGroup": {}}])).is_err());
        assert!(create_server_group_from_json(json!("x")).is_err());
    }

    #[test]
    fn numbers_outside_int32_are_errors_not_other_values() {
        let field = |capacity: Value| match create_server_group_from_json(json!({ "capacity": capacity })) {
            Err(Error::Invalid(errors)) => format!("{}: {}", errors[0].field, errors[0].message),
            Ok(d) => format!("ok {:?}", d.capacity),
            Err(e) => panic!("{e}"),
        };
        let max: Value = serde_json::from_str("18446744073709551616").unwrap();
        assert!(field(json!({ "max": max })).starts_with("capacity.max: "), "{}", field(json!({ "max": max })));
        assert!(field(json!({ "max": max })).contains("out of range"));
        let desired = field(json!({"desired": 4294967296u64}));
        assert!(desired.starts_with("capacity.desired: ") && desired.contains("4294967296 is out of range"), "{desired}");
        assert!(field(json!({"min": "2147483648"})).contains("2147483648 is out of range: AWS takes a 32-bit integer"));
        assert!(field(json!({"min": -2147483649i64})).contains("out of range"));
        assert!(field(json!({"min": 1e12})).contains("out of range"));
        assert_eq!(
            field(json!({"min": 2147483647, "max": 2.0})),
            "ok Some(Capacity { min: Some(2147483647), max: Some(2), desired: None })"
        );
    }

    #[test]
    fn image_descriptions() {
        let i = ImageDescription { repository: Some("nginx".into()), tag: Some("1.27".into()), ..Default::default() };
        assert_eq!(i.image().unwrap(), "nginx:1.27");
        let i = ImageDescription { registry: Some("r.example".into()), ..i };
        assert_eq!(i.image().unwrap(), "r.example/nginx:1.27");
        let i = ImageDescription { image_id: Some("x:y".into()), ..i };
        assert_eq!(i.image().unwrap(), "x:y");
    }
}
