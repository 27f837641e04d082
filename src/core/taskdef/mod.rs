//! Task definitions as the JSON document `RegisterTaskDefinition` takes (the shape of
//! `aws ecs register-task-definition --cli-input-json`): loading and checking artifacts (also in
//! `describe-task-definition` shape), building one from a description's inputs (Clouddriver's
//! inputs mode), and applying a deploy's names, images and roles to an artifact (artifact mode).
//! The document is kept as JSON so every field AWS knows reaches AWS unchanged. Pure.

pub mod check;
pub mod schema;
pub mod shape;

use serde_json::{Map, Value, json};

use crate::core::error::FieldError;
use crate::core::model::{Launch, NetworkMode};
use crate::core::moniker::Moniker;
use crate::core::request::ContainerSpec;

/// Keys that `describe-task-definition` returns but `register-task-definition` does not take.
const READ_ONLY_KEYS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "compatibilities",
    "requiresAttributes",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// The environment variables Spinnaker sets on every container.
pub const SPINNAKER_ENV: [&str; 3] = ["SERVER_GROUP", "CLOUD_STACK", "CLOUD_DETAIL"];

const ARTIFACT: &str = "taskDefinitionArtifact.";
const CODE: &str = "createServerGroupDescription.taskDefinitionArtifact.invalid";

fn artifact_error(path: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(format!("{ARTIFACT}{path}"), CODE, message)
}

/// ECS names (containers, families, services): 1-255 letters, digits, hyphens and underscores.
pub fn is_valid_ecs_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The roles an artifact names (`executionRoleArn`, `taskRoleArn`), as given or inside
/// describe-task-definition's `taskDefinition`: (key, ARN) pairs.
pub fn artifact_roles(artifact: &Value) -> Vec<(&'static str, String)> {
    let td = artifact.get("taskDefinition").filter(|t| t.is_object()).unwrap_or(artifact);
    ["executionRoleArn", "taskRoleArn"]
        .into_iter()
        .filter_map(|key| td.get(key).and_then(Value::as_str).map(|arn| (key, arn.to_string())))
        .collect()
}

/// Turns an artifact document into a checked `RegisterTaskDefinition` body: unwraps
/// `{"taskDefinition": {...}, "tags": [...]}`, drops read-only keys, checks every key and type,
/// the container names and the port ranges.
pub fn load_artifact(value: Value) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut value = value;
    if let Value::Object(outer) = &mut value
        && let Some(Value::Object(_)) = outer.get("taskDefinition")
    {
        let tags = outer.remove("tags");
        let Some(Value::Object(mut inner)) = outer.remove("taskDefinition") else { unreachable!() };
        if let Some(tags @ Value::Array(_)) = tags
            && !inner.contains_key("tags")
        {
            inner.insert("tags".into(), tags);
        }
        value = Value::Object(inner);
    }
    if let Value::Object(map) = &mut value {
        for key in READ_ONLY_KEYS {
            map.remove(*key);
        }
    }
    let mut errors = Vec::new();
    check::check(&mut value, &schema::ROOT, "", ARTIFACT, &mut errors);
    let Value::Object(map) = value else {
        return Err(errors);
    };
    if errors.is_empty() {
        check_semantics(&map, &mut errors);
    }
    if errors.is_empty() { Ok(map) } else { Err(errors) }
}

/// What AWS would reject later, said now: container names, duplicates, ports, network mode.
fn check_semantics(td: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    if let Some(mode) = td.get("networkMode").and_then(Value::as_str)
        && NetworkMode::parse(mode).is_none()
    {
        errors.push(artifact_error("networkMode", format!("networkMode `{mode}` is not one of {}", NetworkMode::names())));
    }
    let containers = containers(td);
    if containers.is_empty() {
        errors.push(artifact_error("containerDefinitions", "Provided task definition does not contain any container definitions."));
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        if !is_valid_ecs_name(name) {
            errors.push(artifact_error(
                &format!("containerDefinitions[{i}].name"),
                format!("container name `{name}` is invalid: use 1-255 letters, digits, hyphens and underscores"),
            ));
        } else if seen.contains(&name) {
            errors.push(artifact_error(&format!("containerDefinitions[{i}].name"), format!("container name `{name}` is used twice")));
        }
        seen.push(name);
        for (j, pm) in c.get("portMappings").and_then(Value::as_array).into_iter().flatten().enumerate() {
            for key in ["containerPort", "hostPort"] {
                if let Some(port) = pm.get(key).and_then(Value::as_i64)
                    && !(0..=65535).contains(&port)
                {
                    errors.push(artifact_error(
                        &format!("containerDefinitions[{i}].portMappings[{j}].{key}"),
                        format!("port {port} is out of range 0-65535"),
                    ));
                }
            }
        }
    }
}

fn containers(td: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    td.get("containerDefinitions").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object).collect()
}

/// The container names of a checked artifact, in order.
pub fn container_names(td: &Map<String, Value>) -> Vec<String> {
    containers(td).iter().filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string)).collect()
}

/// The container ports a container of the artifact maps.
pub fn container_ports(td: &Map<String, Value>, container: &str) -> Vec<i64> {
    containers(td)
        .iter()
        .filter(|c| c.get("name").and_then(Value::as_str) == Some(container))
        .flat_map(|c| c.get("portMappings").and_then(Value::as_array).cloned().unwrap_or_default())
        .filter_map(|pm| pm.get("containerPort").and_then(Value::as_i64))
        .collect()
}

/// What a deploy decided that goes into its task definition.
#[derive(Debug, Clone)]
pub struct Names<'a> {
    pub moniker: &'a Moniker,
    /// Task definition family: the Spinnaker cluster name.
    pub family: &'a str,
    /// The new server group name, e.g. `app-prod-v003`.
    pub server_group: &'a str,
    /// `vNNN`: the inputs-mode container name.
    pub container: &'a str,
}

/// Roles decided for the task definition.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    /// The account role, used as execution role on Fargate when none is given.
    pub execution_role_fallback: Option<String>,
    /// The task role ARN resolved from `iamRole` (IAM GetRole).
    pub task_role_arn: Option<String>,
}

/// How the task definition's tasks run: what validation proved about launch and network mode.
#[derive(Debug, Clone, Copy)]
pub struct Platform<'a> {
    pub launch: &'a Launch,
    /// The effective network mode (the description's, else the artifact's); None: ECS's default.
    pub network_mode: Option<NetworkMode>,
}

fn spinnaker_env(names: &Names) -> [(&'static str, String); 3] {
    [
        ("SERVER_GROUP", names.server_group.to_string()),
        // Decisions #17: an empty string, not null, when the moniker has no stack or detail.
        ("CLOUD_STACK", names.moniker.stack.clone().unwrap_or_default()),
        ("CLOUD_DETAIL", names.moniker.detail.clone().unwrap_or_default()),
    ]
}

/// Docker labels: the user's, then Spinnaker's on top (stack and detail only when not blank).
fn spinnaker_labels(labels: &mut Map<String, Value>, names: &Names) {
    if let Some(stack) = &names.moniker.stack {
        labels.insert("spinnaker.stack".into(), json!(stack));
    }
    if let Some(detail) = &names.moniker.detail {
        labels.insert("spinnaker.detail".into(), json!(detail));
    }
    labels.insert("spinnaker.servergroup".into(), json!(names.server_group));
}

fn port_mapping(network_mode: Option<NetworkMode>, port: i64, protocol: &str) -> Value {
    let host_port = if network_mode.is_some_and(NetworkMode::maps_host_port_to_container_port) { port } else { 0 };
    json!({"containerPort": port, "hostPort": host_port, "protocol": protocol})
}

/// Clouddriver's inputs mode: one container named `vNNN` (clouddriver-ecs-behaviour.md §3.1).
pub fn from_inputs(c: &ContainerSpec, platform: Platform, names: &Names, roles: &Roles) -> Value {
    let network_mode = platform.network_mode;
    let mut container = Map::new();
    container.insert("name".into(), json!(names.container));
    if let Some(image) = &c.image {
        container.insert("image".into(), json!(image));
    }
    if let Some(cpu) = c.cpu {
        container.insert("cpu".into(), json!(cpu));
    }
    if let Some(memory) = c.memory_reservation {
        container.insert("memoryReservation".into(), json!(memory));
    }

    let mut environment: Vec<Value> = c.environment.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
    environment.extend(spinnaker_env(names).into_iter().map(|(k, v)| json!({"name": k, "value": v})));
    container.insert("environment".into(), Value::Array(environment));

    let load_balanced = c.load_balanced_ports.iter().map(|p| port_mapping(network_mode, *p, &c.port_protocol));
    let registered = c.registry_ports.iter().map(|p| port_mapping(network_mode, *p, "tcp"));
    let mut ports: Vec<Value> = Vec::new();
    for pm in load_balanced.chain(registered) {
        if !ports.contains(&pm) {
            ports.push(pm);
        }
    }
    if !ports.is_empty() {
        container.insert("portMappings".into(), Value::Array(ports));
    }

    if let Some(secret) = &c.repository_credentials {
        container.insert("repositoryCredentials".into(), json!({"credentialsParameter": secret}));
    }
    let mut labels: Map<String, Value> = c.docker_labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    spinnaker_labels(&mut labels, names);
    container.insert("dockerLabels".into(), Value::Object(labels));
    if let Some(log) = &c.log_configuration {
        let mut config = Map::new();
        config.insert("logDriver".into(), json!(log.driver));
        if let Some(options) = &log.options {
            config.insert("options".into(), Value::Object(options.iter().map(|(k, v)| (k.clone(), json!(v))).collect()));
        }
        container.insert("logConfiguration".into(), Value::Object(config));
    }

    let mut td = Map::new();
    td.insert("family".into(), json!(names.family));
    td.insert("containerDefinitions".into(), json!([container]));
    if let Some(mode) = network_mode {
        td.insert("networkMode".into(), json!(mode.as_str()));
    }
    if let Some(arn) = &roles.task_role_arn {
        td.insert("taskRoleArn".into(), json!(arn));
    }
    match platform.launch.launch_type() {
        Some(launch_type) => {
            td.insert("requiresCompatibilities".into(), json!([launch_type]));
        }
        None if platform.launch.is_fargate() => {
            td.insert("requiresCompatibilities".into(), json!(["FARGATE"]));
        }
        None => {}
    }
    if platform.launch.is_fargate() {
        if let Some(role) = &roles.execution_role_fallback {
            td.insert("executionRoleArn".into(), json!(role));
        }
        if let Some(cpu) = c.cpu {
            td.insert("cpu".into(), json!(cpu.to_string()));
        }
        if let Some(memory) = c.memory_reservation {
            td.insert("memory".into(), json!(memory.to_string()));
        }
    }
    Value::Object(td)
}

/// Clouddriver's artifact mode with the Decisions-table fixes (§3.2, Decisions #15): checks the
/// network mode, maps pipeline images into named containers, sets the Spinnaker env vars
/// (replacing, not duplicating) and labels, the family, and the roles the artifact leaves open.
pub fn from_artifact(
    artifact: &Map<String, Value>,
    images: &[(String, String)],
    platform: Platform,
    names: &Names,
    roles: &Roles,
) -> Result<Value, Vec<FieldError>> {
    let mut td = artifact.clone();
    let mut errors = Vec::new();

    match (td.get("networkMode").and_then(Value::as_str), platform.network_mode.map(NetworkMode::as_str)) {
        (Some(found), Some(expected)) if found != expected => errors.push(FieldError::new(
            "networkMode",
            "createServerGroupDescription.networkMode.invalid",
            format!(
                "Task definition networkMode does not match server group value. Found '{found}' but expected '{expected}'; make the artifact's networkMode and the description's networkMode agree"
            ),
        )),
        (None, Some(expected)) => {
            td.insert("networkMode".into(), json!(expected));
        }
        _ => {}
    }

    let containers = td.get_mut("containerDefinitions").and_then(Value::as_array_mut);
    let Some(containers) = containers.filter(|c| !c.is_empty()) else {
        errors.push(artifact_error("containerDefinitions", "Provided task definition does not contain any container definitions."));
        return Err(errors);
    };
    for (name, image) in images {
        let matching: Vec<usize> = containers
            .iter()
            .enumerate()
            .filter(|(_, c)| c.get("name").and_then(Value::as_str) == Some(name.as_str()))
            .map(|(i, _)| i)
            .collect();
        if matching.len() != 1 {
            let known: Vec<&str> = containers.iter().filter_map(|c| c.get("name").and_then(Value::as_str)).collect();
            errors.push(FieldError::new(
                format!("containerToImageMap.{name}"),
                "createServerGroupDescription.containerToImageMap.invalid",
                format!(
                    "Invalid number of matching containers found for mapping '{name}'. Have {} but expected 1; the artifact's containers are: {}",
                    matching.len(),
                    known.join(", ")
                ),
            ));
            continue;
        }
        containers[matching[0]]["image"] = json!(image);
    }
    for (i, c) in containers.iter_mut().enumerate() {
        let Some(c) = c.as_object_mut() else { continue };
        if c.get("image").and_then(Value::as_str).is_none_or(str::is_empty) {
            let name = c.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            errors.push(FieldError::new(
                format!("{ARTIFACT}containerDefinitions[{i}].image"),
                "createServerGroupDescription.containerToImageMap.not.nullable",
                format!(
                    "container `{name}` has no image; give one in the artifact or map it with `--image {name}=IMAGE` / containerToImageMap"
                ),
            ));
        }
        let env = c.entry("environment").or_insert_with(|| json!([]));
        if let Value::Array(env) = env {
            // Decisions #15: replace existing Spinnaker variables instead of appending duplicates.
            env.retain(|e| !e.get("name").and_then(Value::as_str).is_some_and(|n| SPINNAKER_ENV.contains(&n)));
            env.extend(spinnaker_env(names).into_iter().map(|(k, v)| json!({"name": k, "value": v})));
        }
        let labels = c.entry("dockerLabels").or_insert_with(|| json!({}));
        if let Value::Object(labels) = labels {
            spinnaker_labels(labels, names);
        }
    }
    td.insert("family".into(), json!(names.family));
    if platform.launch.is_fargate()
        && td.get("executionRoleArn").and_then(Value::as_str).is_none_or(str::is_empty)
        && let Some(role) = &roles.execution_role_fallback
    {
        td.insert("executionRoleArn".into(), json!(role));
    }
    // Decisions #15: `iamRole` fills the task role only when the artifact has none.
    if td.get("taskRoleArn").and_then(Value::as_str).is_none_or(str::is_empty)
        && let Some(arn) = &roles.task_role_arn
    {
        td.insert("taskRoleArn".into(), json!(arn));
    }
    if errors.is_empty() { Ok(Value::Object(td)) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::description::{CreateServerGroup, create_server_group_from_json};

    fn desc(v: Value) -> CreateServerGroup {
        create_server_group_from_json(v).unwrap()
    }

    /// The description's platform, as validation reads it (leaked: a test's lifetime).
    fn platform(d: &CreateServerGroup) -> Platform<'static> {
        let launch: &'static Launch = Box::leak(Box::new(Launch::of(d)));
        Platform { launch, network_mode: crate::core::request::declared_network_mode(d) }
    }

    fn names(m: &Moniker) -> (String, String) {
        (m.cluster(), m.server_group(8))
    }

    #[test]
    fn inputs_mode_fargate_awsvpc() {
        let d = desc(json!({
            "application": "myapp", "stack": "kcats", "freeFormDetails": "liated",
            "containerPort": 1337, "targetGroup": "tg", "portProtocol": "tcp",
            "computeUnits": 9001, "reservedMemory": 9002, "launchType": "FARGATE", "networkMode": "awsvpc",
            "dockerImageAddress": "nginx:1", "environmentVariables": {"A": "1"},
            "dockerLabels": {"spinnaker.servergroup": "user", "x": "y"},
            "serviceDiscoveryAssociations": [{"registry": {"arn": "r"}, "containerPort": 9090}],
            "logDriver": "awslogs", "logOptions": {"awslogs-group": "g"},
            "dockerImageCredentialsSecret": "arn:secret"
        }));
        let m = Moniker::new("myapp", Some("kcats"), Some("liated"));
        let (family, sg) = names(&m);
        let n = Names { moniker: &m, family: &family, server_group: &sg, container: "v008" };
        let roles = Roles { execution_role_fallback: Some("arn:aws:iam::1:role/R".into()), task_role_arn: None };
        let td = from_inputs(&ContainerSpec::of(&d), platform(&d), &n, &roles);
        assert_eq!(td["family"], "myapp-kcats-liated");
        assert_eq!(td["networkMode"], "awsvpc");
        assert_eq!(td["requiresCompatibilities"], json!(["FARGATE"]));
        assert_eq!(td["executionRoleArn"], "arn:aws:iam::1:role/R");
        assert_eq!(td["cpu"], "9001");
        assert_eq!(td["memory"], "9002");
        let c = &td["containerDefinitions"][0];
        assert_eq!(c["name"], "v008");
        assert_eq!(c["cpu"], 9001);
        assert_eq!(c["memoryReservation"], 9002);
        assert_eq!(
            c["portMappings"],
            json!([{"containerPort": 1337, "hostPort": 1337, "protocol": "tcp"}, {"containerPort": 9090, "hostPort": 9090, "protocol": "tcp"}])
        );
        assert_eq!(
            c["environment"],
            json!([{"name": "A", "value": "1"}, {"name": "SERVER_GROUP", "value": "myapp-kcats-liated-v008"},
                   {"name": "CLOUD_STACK", "value": "kcats"}, {"name": "CLOUD_DETAIL", "value": "liated"}])
        );
        assert_eq!(c["dockerLabels"]["spinnaker.servergroup"], "myapp-kcats-liated-v008");
        assert_eq!(c["dockerLabels"]["x"], "y");
        assert_eq!(c["dockerLabels"]["spinnaker.stack"], "kcats");
        assert_eq!(c["logConfiguration"], json!({"logDriver": "awslogs", "options": {"awslogs-group": "g"}}));
        assert_eq!(c["repositoryCredentials"], json!({"credentialsParameter": "arn:secret"}));
        // The generated definition passes the same check as an artifact.
        assert!(load_artifact(td).is_ok());
    }

    #[test]
    fn inputs_mode_bridge_ec2_and_capacity_providers() {
        let m = Moniker::new("app", None, None);
        let (family, sg) = names(&m);
        let n = Names { moniker: &m, family: &family, server_group: &sg, container: "v008" };
        let roles = Roles { execution_role_fallback: Some("arn:role".into()), task_role_arn: Some("arn:task".into()) };
        let d = desc(json!({"launchType": "EC2", "networkMode": "bridge", "containerPort": 80,
            "targetGroupMappings": [{"containerPort": 80, "targetGroup": "a"}, {"containerPort": 81, "targetGroup": "b"}],
            "dockerImageAddress": "x", "computeUnits": 1, "reservedMemory": 2}));
        let td = from_inputs(&ContainerSpec::of(&d), platform(&d), &n, &roles);
        assert_eq!(td["requiresCompatibilities"], json!(["EC2"]));
        assert!(td.get("executionRoleArn").is_none() && td.get("cpu").is_none());
        assert_eq!(td["taskRoleArn"], "arn:task");
        // containerPort without a targetGroup gives no mapping; mappings use dynamic host ports.
        assert_eq!(
            td["containerDefinitions"][0]["portMappings"],
            json!([{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}, {"containerPort": 81, "hostPort": 0, "protocol": "tcp"}])
        );
        assert_eq!(td["containerDefinitions"][0]["environment"][1], json!({"name": "CLOUD_STACK", "value": ""}));
        let d = desc(json!({"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
            "networkMode": "default", "computeUnits": 256, "reservedMemory": 512}));
        let td = from_inputs(&ContainerSpec::of(&d), platform(&d), &n, &roles);
        assert!(td.get("networkMode").is_none());
        assert_eq!(td["requiresCompatibilities"], json!(["FARGATE"]));
        assert_eq!(td["executionRoleArn"], "arn:role");
        assert_eq!(td["memory"], "512");
        // Host mode: service discovery host port equals the container port (Decisions #16).
        let d = desc(json!({"launchType": "EC2", "networkMode": "host",
            "serviceDiscoveryAssociations": [{"registry": {"arn": "r"}, "containerPort": 9090}]}));
        let td = from_inputs(&ContainerSpec::of(&d), platform(&d), &n, &roles);
        assert_eq!(td["containerDefinitions"][0]["portMappings"][0]["hostPort"], 9090);
    }

    fn artifact() -> Map<String, Value> {
        load_artifact(json!({"taskDefinition": {
            "taskDefinitionArn": "arn:x", "revision": 3, "status": "ACTIVE", "compatibilities": ["EC2"],
            "family": "other", "networkMode": "awsvpc",
            "containerDefinitions": [
                {"name": "web", "image": "old", "portMappings": [{"containerPort": 8080}],
                 "environment": [{"name": "SERVER_GROUP", "value": "stale"}, {"name": "K", "value": "V"}]},
                {"name": "sidecar", "image": "envoy"}
            ]}, "tags": [{"key": "team", "value": "a"}]}))
        .unwrap()
    }

    #[test]
    fn describe_output_is_accepted_and_read_only_keys_dropped() {
        let a = artifact();
        assert!(!a.contains_key("revision") && !a.contains_key("taskDefinitionArn"));
        assert_eq!(a["tags"], json!([{"key": "team", "value": "a"}]));
        assert_eq!(container_names(&a), vec!["web", "sidecar"]);
        assert_eq!(container_ports(&a, "web"), vec![8080]);
    }

    #[test]
    fn artifact_mode_rules() {
        let m = Moniker::new("app", Some("prod"), None);
        let (family, sg) = names(&m);
        let n = Names { moniker: &m, family: &family, server_group: &sg, container: "v008" };
        let roles = Roles { execution_role_fallback: Some("arn:account-role".into()), task_role_arn: Some("arn:task".into()) };
        let d = desc(json!({"networkMode": "awsvpc", "launchType": "FARGATE", "containerToImageMap": {"web": "new:1"}}));
        let td = from_artifact(&artifact(), &ContainerSpec::of(&d).images, platform(&d), &n, &roles).unwrap();
        assert_eq!(td["family"], "app-prod");
        assert_eq!(td["containerDefinitions"][0]["image"], "new:1");
        assert_eq!(td["containerDefinitions"][1]["image"], "envoy");
        let env = td["containerDefinitions"][0]["environment"].as_array().unwrap();
        assert_eq!(env.iter().filter(|e| e["name"] == "SERVER_GROUP").count(), 1);
        assert!(env.contains(&json!({"name": "SERVER_GROUP", "value": "app-prod-v008"})));
        assert!(env.contains(&json!({"name": "K", "value": "V"})));
        assert_eq!(td["containerDefinitions"][1]["dockerLabels"]["spinnaker.servergroup"], "app-prod-v008");
        assert_eq!(td["executionRoleArn"], "arn:account-role");
        assert_eq!(td["taskRoleArn"], "arn:task");

        // Mismatching network mode; a mapping that matches no container.
        let d = desc(json!({"networkMode": "bridge", "containerToImageMap": {"nope": "x"}}));
        let errors = from_artifact(&artifact(), &ContainerSpec::of(&d).images, platform(&d), &n, &roles).unwrap_err();
        assert!(errors.iter().any(|e| e.message.contains("Found 'awsvpc' but expected 'bridge'")));
        assert!(errors.iter().any(|e| e.message.contains("mapping 'nope'. Have 0 but expected 1")));

        // The artifact's own roles win; a missing networkMode takes the description's.
        let mut a = artifact();
        a.remove("networkMode");
        a.insert("executionRoleArn".into(), json!("arn:own-exec"));
        a.insert("taskRoleArn".into(), json!("arn:own-task"));
        let d = desc(json!({"networkMode": "bridge", "launchType": "FARGATE"}));
        let td = from_artifact(&a, &ContainerSpec::of(&d).images, platform(&d), &n, &roles).unwrap();
        assert_eq!(td["networkMode"], "bridge");
        assert_eq!(td["executionRoleArn"], "arn:own-exec");
        assert_eq!(td["taskRoleArn"], "arn:own-task");
    }

    #[test]
    fn artifact_semantic_checks() {
        let errors = load_artifact(json!({"containerDefinitions": [
            {"name": "a b", "image": "x"}, {"name": "c", "image": "x", "portMappings": [{"containerPort": 70000}]},
            {"name": "c", "image": "x"}], "networkMode": "aws-vpc"}))
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"taskDefinitionArtifact.containerDefinitions[0].name"), "{fields:?}");
        assert!(fields.contains(&"taskDefinitionArtifact.containerDefinitions[1].portMappings[0].containerPort"));
        assert!(fields.contains(&"taskDefinitionArtifact.containerDefinitions[2].name"));
        assert!(fields.contains(&"taskDefinitionArtifact.networkMode"));
        assert!(load_artifact(json!({"containerDefinitions": []})).is_err());
    }
}
