//! What the views show of a server group's task definition, read from DescribeTaskDefinition's
//! JSON (the edge where AWS's answer becomes typed values): Clouddriver's `taskDefinition` (§3.4,
//! the first container only, a role by name) and the console's containers (every container,
//! secrets by name — never `valueFrom`, never `repositoryCredentials`). Pure.

use serde::Serialize;
use serde_json::Value;

/// An environment variable as the task definition holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

fn environment(container: &Value) -> Vec<EnvVar> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let list = container.get("environment").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    list.iter().map(|e| EnvVar { name: text(e, "name"), value: text(e, "value") }).collect()
}

/// The server group's `taskDefinition` (§3.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionView {
    pub task_name: String,
    pub container_image: String,
    /// The task role's name, `None` without one.
    pub iam_role: String,
    pub container_port: i64,
    pub cpu_units: i64,
    pub memory_reservation: i64,
    pub memory_limit: i64,
    pub environment_variables: Vec<EnvVar>,
}

/// A number AWS may give as a number or as a string (`"cpu": "512"`).
fn int(v: Option<&Value>) -> Option<i64> {
    v.and_then(|n| n.as_i64().or_else(|| n.as_str().and_then(|s| s.parse().ok())))
}

impl TaskDefinitionView {
    /// From a task definition in DescribeTaskDefinition's JSON shape: only the first container
    /// counts; a role is shown by name, `None` without one.
    pub fn of(td: &Value) -> TaskDefinitionView {
        let container = td.get("containerDefinitions").and_then(|c| c.get(0)).cloned().unwrap_or(Value::Null);
        let arn = td.get("taskDefinitionArn").and_then(Value::as_str).unwrap_or_default();
        let role = td.get("taskRoleArn").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()).unwrap_or("None");
        let port = container.get("portMappings").and_then(|p| p.get(0)).and_then(|p| p.get("containerPort"));
        TaskDefinitionView {
            task_name: arn.split_once('/').map(|(_, name)| name).unwrap_or(arn).to_string(),
            container_image: container.get("image").and_then(Value::as_str).unwrap_or_default().to_string(),
            iam_role: role.to_string(),
            container_port: int(port).unwrap_or(0),
            cpu_units: int(container.get("cpu")).or_else(|| int(td.get("cpu"))).unwrap_or(0),
            memory_reservation: int(container.get("memoryReservation")).unwrap_or(0),
            memory_limit: int(container.get("memory")).or_else(|| int(td.get("memory"))).unwrap_or(0),
            environment_variables: environment(&container),
        }
    }
}

/// One container as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerView {
    pub name: Option<String>,
    pub image: Option<String>,
    pub ports: Vec<Option<i64>>,
    pub environment: Vec<EnvVar>,
    pub secret_names: Vec<Option<String>>,
}

/// Every container of a task definition.
pub fn containers(td: &Value) -> Vec<ContainerView> {
    let list = |v: &Value, k: &str| v.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
    list(td, "containerDefinitions")
        .iter()
        .map(|c| ContainerView {
            name: c.get("name").and_then(Value::as_str).map(str::to_string),
            image: c.get("image").and_then(Value::as_str).map(str::to_string),
            ports: list(c, "portMappings").iter().map(|p| p.get("containerPort").and_then(Value::as_i64)).collect(),
            environment: environment(c),
            secret_names: list(c, "secrets").iter().map(|s| s.get("name").and_then(Value::as_str).map(str::to_string)).collect(),
        })
        .collect()
}

/// Whether a container of the task definition has a health check command.
pub fn has_health_check(task_definition: Option<&Value>) -> bool {
    let containers = task_definition.and_then(|td| td.get("containerDefinitions")).and_then(Value::as_array);
    containers.is_some_and(|cs| {
        cs.iter().any(|c| c.get("healthCheck").and_then(|h| h.get("command")).and_then(Value::as_array).is_some_and(|a| !a.is_empty()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_task_definition_view_reads_the_first_container() {
        let td = json!({
            "taskDefinitionArn": "arn:aws:ecs:us-west-2:123456789012:task-definition/app-prod:7",
            "taskRoleArn": "arn:aws:iam::123456789012:role/app", "cpu": "512", "memory": "1024",
            "containerDefinitions": [
                {"name": "web", "image": "nginx:1", "memoryReservation": 256, "portMappings": [{"containerPort": 80}],
                 "environment": [{"name": "A", "value": "1"}]},
                {"name": "sidecar", "image": "envoy", "cpu": 64}
            ]
        });
        assert_eq!(
            serde_json::to_value(TaskDefinitionView::of(&td)).unwrap(),
            json!({"taskName": "app-prod:7", "containerImage": "nginx:1", "iamRole": "app", "containerPort": 80, "cpuUnits": 512,
                   "memoryReservation": 256, "memoryLimit": 1024, "environmentVariables": [{"name": "A", "value": "1"}]})
        );
        let bare = TaskDefinitionView::of(&json!({"containerDefinitions": [{"image": "x"}]}));
        assert_eq!((bare.iam_role.as_str(), bare.container_port, bare.memory_limit), ("None", 0, 0));
        let listed = containers(&td);
        assert_eq!((listed.len(), listed[1].name.as_deref(), listed[0].ports.as_slice()), (2, Some("sidecar"), &[Some(80)][..]));
    }
}
