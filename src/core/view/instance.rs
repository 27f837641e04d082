//! An instance — a task ECS means to keep running in the service (`EcsTask`, §3.3) — from what
//! DescribeTasks returned: its id, health state and `health[]`, launch time, zone and network
//! interface; and which target of the service's target groups is the task's own (by ENI address
//! for `awsvpc`, by EC2 instance and host port for `bridge`/`host`). Pure.

use serde::Serialize;
use serde_json::Value;

use super::ServerGroupFacts;
use super::health::{HealthEntry, HealthState, TaskStatus, health_entries, health_state};
use super::task_definition::has_health_check;
use crate::core::model::TargetHealth;

/// `{}`: a map Clouddriver shows and ecs-deployer leaves empty (`labels`, `tags`, …).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Empty {}

/// The task's network interface (`awsvpc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    pub attachment_id: String,
    pub private_ipv4_address: String,
}

/// One instance of a server group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceView {
    /// The task id.
    pub name: String,
    pub human_readable_name: String,
    pub health_state: HealthState,
    pub health: Vec<HealthEntry>,
    pub provider_type: &'static str,
    pub cloud_provider: &'static str,
    pub labels: Empty,
    /// Epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_interface: Option<NetworkInterface>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_ip_address: Option<String>,
}

/// An instance with where it is: what `GET /instances/{account}/{region}/{id}` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceAt {
    #[serde(flatten)]
    pub instance: InstanceView,
    pub account: String,
    pub region: String,
    pub server_group: String,
}

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn text_at(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// AWS JSON timestamps are epoch seconds (with a fraction); Clouddriver shows epoch ms.
fn epoch_ms(v: Option<&Value>) -> Option<i64> {
    v.and_then(Value::as_f64).map(|secs| (secs * 1000.0).round() as i64)
}

/// The task's ENI attachment: (attachment id, private IPv4 address), for `awsvpc` tasks.
pub(crate) fn eni(task: &Value) -> Option<(String, String)> {
    let attachment = task.get("attachments")?.as_array()?.iter().find(|a| str_at(a, "type") == "ElasticNetworkInterface")?;
    let details = attachment.get("details")?.as_array()?;
    let ip = details.iter().find(|d| str_at(d, "name") == "privateIPv4Address")?;
    Some((str_at(attachment, "id").to_string(), str_at(ip, "value").to_string()))
}

/// The host ports the task's containers are bound to (`bridge`/`host`).
pub(crate) fn host_ports(task: &Value) -> Vec<i64> {
    let containers = task.get("containers").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    containers
        .iter()
        .flat_map(|c| c.get("networkBindings").and_then(Value::as_array).cloned().unwrap_or_default())
        .filter_map(|b| b.get("hostPort").and_then(Value::as_i64))
        .collect()
}

/// The task's own target in `target_group_arn`: by ENI address (`awsvpc`), else by its EC2
/// instance and one of its host ports.
fn own_target<'a>(facts: &'a ServerGroupFacts, task: &Value, target_group_arn: &str) -> Option<&'a TargetHealth> {
    let in_group = facts.target_health.iter().filter(|t| t.target_group_arn == target_group_arn);
    if let Some((_, ip)) = eni(task) {
        return in_group.into_iter().find(|t| t.id == ip);
    }
    let host = facts.hosts.iter().find(|(arn, _)| Some(arn.as_str()) == container_instance_arn(task)).map(|(_, id)| id)?;
    let ports = host_ports(task);
    in_group.into_iter().find(|t| &t.id == host && t.port.is_some_and(|p| ports.contains(&(p as i64))))
}

/// The container instance a `bridge`/`host` task runs on.
pub fn container_instance_arn(task: &Value) -> Option<&str> {
    task.get("containerInstanceArn").and_then(Value::as_str)
}

/// What the health rules need of a task.
pub fn task_status(facts: &ServerGroupFacts, task: &Value) -> TaskStatus {
    let arn = str_at(task, "taskArn");
    TaskStatus {
        id: arn.rsplit('/').next().unwrap_or(arn).to_string(),
        last_status: str_at(task, "lastStatus").to_string(),
        desired_status: str_at(task, "desiredStatus").to_string(),
        health_status: text_at(task, "healthStatus"),
        target_states: facts
            .service
            .target_group_arns
            .iter()
            .map(|tg| own_target(facts, task, tg).map(|t| t.state.clone()).unwrap_or_default())
            .collect(),
    }
}

/// An instance (`EcsTask`, §3.3): the task id as its name, its health state and `health[]`.
pub fn instance(facts: &ServerGroupFacts, task: &Value) -> InstanceView {
    let status = task_status(facts, task);
    let check = has_health_check(facts.task_definition.as_ref());
    let network = eni(task);
    let zone = text_at(task, "availabilityZone");
    InstanceView {
        name: status.id.clone(),
        human_readable_name: status.id.clone(),
        health_state: health_state(&status, check),
        health: health_entries(&status, check),
        provider_type: "ecs",
        cloud_provider: "ecs",
        labels: Empty {},
        launch_time: epoch_ms(task.get("startedAt")),
        last_status: text_at(task, "lastStatus"),
        stopped_reason: text_at(task, "stoppedReason"),
        zone: zone.clone(),
        availability_zone: zone,
        private_ip_address: network.as_ref().map(|(_, ip)| ip.clone()),
        network_interface: network.map(|(attachment_id, ip)| NetworkInterface { attachment_id, private_ipv4_address: ip }),
    }
}
