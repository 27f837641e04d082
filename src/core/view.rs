//! Clouddriver's read model of ECS, the part that judges (`clouddriver-read-api.md` §3–§4 and its
//! Decisions D2, D3, D6): an instance's `healthState` and its two `health[]` entries, a server
//! group's `instanceCounts`, `capacity`, `disabled` and `taskDefinition`. Built from what AWS reports of a task, so
//! the read endpoints (#17) can assemble the JSON Orca reads. Pure.

use serde::Serialize;
use serde_json::{Value, json};

use crate::core::model::{ScalableTarget, ServiceState, TargetHealth};
use crate::core::moniker::Moniker;

/// A health state as Orca and Deck read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HealthState {
    Up,
    Down,
    Starting,
    Draining,
    Unknown,
}

impl HealthState {
    /// The worse of two states, for a task behind several target groups: Down, Draining,
    /// Starting, Unknown, Up, in that order.
    fn worse(self, other: HealthState) -> HealthState {
        let rank = |s: HealthState| match s {
            HealthState::Down => 0,
            HealthState::Draining => 1,
            HealthState::Starting => 2,
            HealthState::Unknown => 3,
            HealthState::Up => 4,
        };
        if rank(other) < rank(self) { other } else { self }
    }
}

/// What AWS reports of one task, as the health rules need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskStatus {
    /// The task id (the last segment of its ARN).
    pub id: String,
    pub last_status: String,
    pub desired_status: String,
    /// The task's container health (`HEALTHY`, `UNHEALTHY`, `UNKNOWN`), when ECS reports one.
    pub health_status: Option<String>,
    /// This task's own target in each of the service's target groups (`healthy`, `initial`, …).
    pub target_states: Vec<String>,
}

/// `EcsTask.calculateHealthState` (§4.1): the first rule that matches. `has_health_check`: a
/// container of the service's current task definition has a `healthCheck.command`.
pub fn health_state(task: &TaskStatus, has_health_check: bool) -> HealthState {
    let health = task.health_status.as_deref();
    if has_health_check && health == Some("UNKNOWN") {
        HealthState::Starting
    } else if health == Some("UNHEALTHY") {
        HealthState::Down
    } else if task.desired_status == "RUNNING" && task.last_status == "PENDING" {
        HealthState::Starting
    } else if task.last_status == "RUNNING" {
        HealthState::Up
    } else if task.desired_status == "STOPPED" {
        HealthState::Down
    } else {
        HealthState::Unknown
    }
}

/// The load-balancer entry (Decisions D2): from the task's own targets — healthy Up, initial
/// Starting, unhealthy Down, draining Draining, anything else Unknown; the worst wins; no
/// target group, Unknown.
pub fn load_balancer_state(task: &TaskStatus) -> HealthState {
    let state = |s: &str| match s {
        "healthy" => HealthState::Up,
        "initial" => HealthState::Starting,
        "unhealthy" => HealthState::Down,
        "draining" => HealthState::Draining,
        _ => HealthState::Unknown,
    };
    task.target_states.iter().map(|s| state(s)).reduce(HealthState::worse).unwrap_or(HealthState::Unknown)
}

/// The platform entry (Decisions D3): from the task alone — a pending container health check is
/// Starting, unhealthy Down, then by its last status.
pub fn platform_state(task: &TaskStatus, has_health_check: bool) -> HealthState {
    match task.health_status.as_deref() {
        Some("UNKNOWN") if has_health_check => return HealthState::Starting,
        Some("UNHEALTHY") => return HealthState::Down,
        _ => {}
    }
    match task.last_status.as_str() {
        "PROVISIONING" | "PENDING" | "ACTIVATING" => HealthState::Starting,
        "RUNNING" => HealthState::Up,
        _ => HealthState::Down,
    }
}

/// The instance's `health` array: the load-balancer entry and the platform entry.
pub fn health_entries(task: &TaskStatus, has_health_check: bool) -> Value {
    json!([
        {"instanceId": task.id, "type": "loadBalancer", "state": load_balancer_state(task)},
        {"instanceId": task.id, "type": "ecs", "healthClass": "platform", "state": platform_state(task, has_health_check)},
    ])
}

/// `instanceCounts` (§3.2): Up → up, Down → down, Starting → outOfService, anything else →
/// unknown; `starting` stays 0, as Clouddriver leaves it.
pub fn instance_counts(states: &[HealthState]) -> Value {
    let count = |f: fn(&HealthState) -> bool| states.iter().filter(|s| f(s)).count();
    json!({
        "total": states.len(),
        "up": count(|s| *s == HealthState::Up),
        "down": count(|s| *s == HealthState::Down),
        "unknown": count(|s| matches!(s, HealthState::Unknown | HealthState::Draining)),
        "outOfService": count(|s| *s == HealthState::Starting),
        "starting": 0,
    })
}

/// `capacity` (§3.2): desired from the service; min and max from the scalable target, or the
/// desired count when there is none (Decisions D4: shown, not hidden); pinned when all are equal.
pub fn capacity(desired: i64, target: Option<(i64, i64)>) -> Value {
    let (min, max) = target.unwrap_or((desired, desired));
    json!({"min": min, "max": max, "desired": desired, "pinned": min == max && max == desired})
}

/// The server group's `taskDefinition` (§3.4) from a task definition in DescribeTaskDefinition's
/// JSON shape: only the first container counts; a role is shown by name, `None` without one.
pub fn task_definition(td: &Value) -> Value {
    let container = td.get("containerDefinitions").and_then(|c| c.get(0)).cloned().unwrap_or(Value::Null);
    let int = |v: Option<&Value>| v.and_then(|n| n.as_i64().or_else(|| n.as_str().and_then(|s| s.parse().ok())));
    let arn = td.get("taskDefinitionArn").and_then(Value::as_str).unwrap_or_default();
    let role = td.get("taskRoleArn").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()).unwrap_or("None");
    let port = container.get("portMappings").and_then(|p| p.get(0)).and_then(|p| p.get("containerPort"));
    json!({
        "taskName": arn.split_once('/').map(|(_, name)| name).unwrap_or(arn),
        "containerImage": container.get("image").and_then(Value::as_str).unwrap_or_default(),
        "iamRole": role,
        "containerPort": int(port).unwrap_or(0),
        "cpuUnits": int(container.get("cpu")).or_else(|| int(td.get("cpu"))).unwrap_or(0),
        "memoryReservation": int(container.get("memoryReservation")).unwrap_or(0),
        "memoryLimit": int(container.get("memory")).or_else(|| int(td.get("memory"))).unwrap_or(0),
        "environmentVariables": container.get("environment").cloned().unwrap_or_else(|| json!([])),
    })
}

/// Each target group of the service with its healthy and registered targets (all of them: what
/// the load balancer sees, the other server groups' targets included).
fn target_group_health(facts: &ServerGroupFacts) -> Vec<Value> {
    facts
        .service
        .target_group_arns
        .iter()
        .map(|arn| {
            let targets: Vec<&TargetHealth> = facts.target_health.iter().filter(|t| &t.target_group_arn == arn).collect();
            let healthy = targets.iter().filter(|t| t.state == "healthy").count();
            json!({"name": target_group_name(arn), "healthy": healthy, "targets": targets.len()})
        })
        .collect()
}

/// Every container of a task definition as the console shows it: name, image, ports, environment,
/// and the names of its secrets — never `valueFrom`, never `repositoryCredentials`.
pub fn containers(td: &Value) -> Vec<Value> {
    td.get("containerDefinitions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let ports: Vec<Value> = c
                .get("portMappings")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|p| p["containerPort"].clone())
                .collect();
            let secrets: Vec<Value> = c
                .get("secrets")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|s| s["name"].clone())
                .collect();
            json!({
                "name": c.get("name").cloned().unwrap_or(Value::Null),
                "image": c.get("image").cloned().unwrap_or(Value::Null),
                "ports": ports,
                "environment": c.get("environment").cloned().unwrap_or_else(|| json!([])),
                "secretNames": secrets,
            })
        })
        .collect()
}

/// `disabled` (§4.2): desired count 0, and nothing else.
pub fn disabled(desired: i64) -> bool {
    desired == 0
}

/// Everything read from AWS about one server group, for its view.
#[derive(Debug, Clone, Default)]
pub struct ServerGroupFacts {
    pub account: String,
    pub region: String,
    pub ecs_cluster: String,
    pub moniker: Moniker,
    pub version: Option<u32>,
    pub service: ServiceState,
    pub scalable_target: Option<ScalableTarget>,
    /// The service's task definition as DescribeTaskDefinition returned it; None when unreadable.
    pub task_definition: Option<Value>,
    /// The service's RUNNING-desired tasks as DescribeTasks returned them.
    pub tasks: Vec<Value>,
    /// The targets of every target group of the service.
    pub target_health: Vec<TargetHealth>,
    /// Container instance ARN → EC2 instance id, for `bridge`/`host` tasks.
    pub hosts: Vec<(String, String)>,
    /// The alarms of the service's scaling policies.
    pub alarms: Vec<String>,
    /// The VPC of the service's `awsvpc` subnets.
    pub vpc_id: Option<String>,
}

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// AWS JSON timestamps are epoch seconds (with a fraction); Clouddriver shows epoch ms.
fn epoch_ms(v: Option<&Value>) -> Option<i64> {
    v.and_then(Value::as_f64).map(|secs| (secs * 1000.0).round() as i64)
}

/// The task's ENI attachment: (attachment id, private IPv4 address), for `awsvpc` tasks.
fn eni(task: &Value) -> Option<(String, String)> {
    let attachment = task.get("attachments")?.as_array()?.iter().find(|a| str_at(a, "type") == "ElasticNetworkInterface")?;
    let details = attachment.get("details")?.as_array()?;
    let ip = details.iter().find(|d| str_at(d, "name") == "privateIPv4Address")?;
    Some((str_at(attachment, "id").to_string(), str_at(ip, "value").to_string()))
}

/// The host ports the task's containers are bound to (`bridge`/`host`).
fn host_ports(task: &Value) -> Vec<i64> {
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
    let host = facts.hosts.iter().find(|(arn, _)| arn == str_at(task, "containerInstanceArn")).map(|(_, id)| id)?;
    let ports = host_ports(task);
    in_group.into_iter().find(|t| &t.id == host && t.port.is_some_and(|p| ports.contains(&(p as i64))))
}

/// What the health rules need of a task.
pub fn task_status(facts: &ServerGroupFacts, task: &Value) -> TaskStatus {
    let arn = str_at(task, "taskArn");
    TaskStatus {
        id: arn.rsplit('/').next().unwrap_or(arn).to_string(),
        last_status: str_at(task, "lastStatus").to_string(),
        desired_status: str_at(task, "desiredStatus").to_string(),
        health_status: task.get("healthStatus").and_then(Value::as_str).map(str::to_string),
        target_states: facts
            .service
            .target_group_arns
            .iter()
            .map(|tg| own_target(facts, task, tg).map(|t| t.state.clone()).unwrap_or_default())
            .collect(),
    }
}

/// Whether a container of the task definition has a health check command.
pub fn has_health_check(task_definition: Option<&Value>) -> bool {
    let containers = task_definition.and_then(|td| td.get("containerDefinitions")).and_then(Value::as_array);
    containers.is_some_and(|cs| {
        cs.iter().any(|c| c.get("healthCheck").and_then(|h| h.get("command")).and_then(Value::as_array).is_some_and(|a| !a.is_empty()))
    })
}

/// An instance (`EcsTask`, §3.3): the task id as its name, its health state and `health[]`.
pub fn instance(facts: &ServerGroupFacts, task: &Value) -> Value {
    let status = task_status(facts, task);
    let check = has_health_check(facts.task_definition.as_ref());
    let mut out = json!({
        "name": status.id,
        "humanReadableName": status.id,
        "healthState": health_state(&status, check),
        "health": health_entries(&status, check),
        "providerType": "ecs",
        "cloudProvider": "ecs",
        "labels": {},
    });
    if let Some(ms) = epoch_ms(task.get("startedAt")) {
        out["launchTime"] = json!(ms);
    }
    for key in ["lastStatus", "stoppedReason"] {
        if let Some(text) = task.get(key).and_then(Value::as_str) {
            out[key] = json!(text);
        }
    }
    if let Some(zone) = task.get("availabilityZone").and_then(Value::as_str) {
        out["zone"] = json!(zone);
        out["availabilityZone"] = json!(zone);
    }
    if let Some((attachment_id, ip)) = eni(task) {
        out["networkInterface"] = json!({"attachmentId": attachment_id, "privateIpv4Address": ip});
        out["privateIpAddress"] = json!(ip);
    }
    out
}

/// A target group's name, from its ARN (`…:targetgroup/NAME/ID`).
fn target_group_name(arn: &str) -> &str {
    arn.split("targetgroup/").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or(arn)
}

/// The moniker as Clouddriver shows it: app, cluster, stack, detail, sequence.
pub fn moniker(moniker: &Moniker, version: Option<u32>) -> Value {
    let mut out = json!({"app": moniker.app, "cluster": moniker.cluster()});
    if let Some(stack) = &moniker.stack {
        out["stack"] = json!(stack);
    }
    if let Some(detail) = &moniker.detail {
        out["detail"] = json!(detail);
    }
    if let Some(version) = version {
        out["sequence"] = json!(version);
    }
    out
}

/// Why a server group is shown with less than Clouddriver would know (Decisions D4).
fn warnings(facts: &ServerGroupFacts) -> Vec<String> {
    let mut out = Vec::new();
    if facts.scalable_target.is_none() {
        out.push("no Application Auto Scaling scalable target: capacity min and max are the desired count".to_string());
    }
    if facts.task_definition.is_none() {
        out.push(format!("task definition {} could not be read", facts.service.task_definition));
    }
    if let Some(mismatch) = crate::core::model::scaling_mismatch(facts.service.desired_count, facts.scalable_target.as_ref()) {
        out.push(format!("{mismatch}: a disable or enable did not finish; disable or enable it again"));
    }
    out
}

/// The server group (`EcsServerGroup`, §3.2, with Decisions D4 and D6): every key Orca and Deck
/// read, none null, no `namespace`.
pub fn server_group(facts: &ServerGroupFacts) -> Value {
    let service = &facts.service;
    let instances: Vec<Value> = facts.tasks.iter().map(|t| instance(facts, t)).collect();
    let states: Vec<HealthState> =
        facts.tasks.iter().map(|t| health_state(&task_status(facts, t), has_health_check(facts.task_definition.as_ref()))).collect();
    let td = facts.task_definition.as_ref().map(task_definition);
    let image = td.as_ref().map(|td| td["containerImage"].clone()).unwrap_or_else(|| json!(""));
    let disabled = disabled(service.desired_count);
    let mut out = json!({
        "name": service.service_name,
        "type": "ecs",
        "cloudProvider": "ecs",
        "account": facts.account,
        "credentials": facts.account,
        "region": facts.region,
        "cluster": facts.moniker.cluster(),
        "disabled": disabled,
        "isDisabled": disabled,
        "createdTime": service.created_at_ms.unwrap_or_default(),
        "capacity": capacity(service.desired_count, facts.scalable_target.as_ref().map(|t| (t.min_capacity, t.max_capacity))),
        "moniker": moniker(&facts.moniker, facts.version),
        "instances": instances,
        "instanceCounts": instance_counts(&states),
        "image": {"imageId": image, "name": image},
        "ecsCluster": facts.ecs_cluster,
        "vpcId": if facts.tasks.is_empty() { "None" } else { facts.vpc_id.as_deref().unwrap_or("None") },
        "securityGroups": if facts.tasks.is_empty() { Vec::new() } else { service.security_groups.clone() },
        "targetGroups": service.target_group_arns.iter().map(|a| target_group_name(a)).collect::<Vec<_>>(),
        "loadBalancers": [],
        "metricAlarms": facts.alarms,
        "serverGroupManagers": [],
        "labels": {},
    });
    if let Some(td) = td {
        out["taskDefinition"] = td;
    }
    // Additions for the console (Orca and Deck ignore keys they do not know).
    out["serviceEvents"] =
        json!(service.events.iter().take(10).map(|e| json!({"createdAt": e.created_at, "message": e.message})).collect::<Vec<_>>());
    out["containers"] = json!(facts.task_definition.as_ref().map(containers).unwrap_or_default());
    out["targetGroupHealth"] = json!(target_group_health(facts));
    out["taskCounts"] = json!({"desired": service.desired_count, "running": service.running_count, "pending": service.pending_count});
    if let Some(mismatch) = crate::core::model::scaling_mismatch(facts.service.desired_count, facts.scalable_target.as_ref()) {
        out["scalingMismatch"] = json!(mismatch);
    }
    let warnings = warnings(facts);
    if !warnings.is_empty() {
        out["warnings"] = json!(warnings);
    }
    out
}

/// The cluster (`EcsServerCluster`, §3.1): its server groups of every region.
pub fn cluster(account: &str, name: &str, server_groups: Vec<Value>) -> Value {
    let app = server_groups.first().and_then(|sg| sg["moniker"]["app"].as_str()).map(str::to_string);
    let mut out = json!({"type": "ecs", "name": name, "accountName": account, "serverGroups": server_groups, "loadBalancers": [], "targetGroups": []});
    if let Some(app) = app {
        out["moniker"] = json!({"app": app, "cluster": name});
    }
    out
}

/// The list view of a server group (`ServerGroupViewModel`, §3.5, what Deck lists): `isDisabled`,
/// instances without `healthClass`.
pub fn list_entry(sg: &Value) -> Value {
    let instances: Vec<Value> = sg["instances"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|i| {
            let health: Vec<Value> = i["health"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|h| json!({"type": h["type"], "state": h["state"]}))
                .collect();
            let mut out = json!({"id": i["name"], "name": i["name"], "health": health, "healthState": i["healthState"]});
            for key in ["launchTime", "availabilityZone"] {
                if let Some(v) = i.get(key) {
                    out[key] = v.clone();
                }
            }
            out
        })
        .collect();
    let mut out = json!({"instances": instances, "application": sg["moniker"]["app"], "tags": {}, "providerMetadata": {}});
    for key in [
        "name",
        "account",
        "region",
        "cluster",
        "vpcId",
        "type",
        "cloudProvider",
        "isDisabled",
        "moniker",
        "createdTime",
        "capacity",
        "loadBalancers",
        "targetGroups",
        "securityGroups",
        "instanceCounts",
        "labels",
        "serverGroupManagers",
    ] {
        out[key] = sg[key].clone();
    }
    out
}

/// Which server group a dynamic target names (`TargetServerGroup`, §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Current,
    Previous,
    Oldest,
    Largest,
    Fail,
}

impl Target {
    /// Case-insensitive, `_asg` and `_asg_dynamic` suffixes stripped; `newest` is current,
    /// `ancestor` previous.
    pub fn parse(text: &str) -> Option<Target> {
        let lower = text.to_ascii_lowercase();
        let bare = lower.strip_suffix("_asg_dynamic").or_else(|| lower.strip_suffix("_asg")).unwrap_or(&lower);
        match bare {
            "current" | "newest" => Some(Target::Current),
            "previous" | "ancestor" => Some(Target::Previous),
            "oldest" => Some(Target::Oldest),
            "largest" => Some(Target::Largest),
            "fail" => Some(Target::Fail),
            _ => None,
        }
    }
}

/// Clouddriver's selection (`ClusterController.getTargetServerGroup`): candidates in `region`
/// (enabled ones only with `only_enabled`), newest first; None when none or ambiguous.
pub fn select_target<'a>(
    groups: &'a [Value],
    region: &str,
    target: Target,
    only_enabled: bool,
    validate_oldest: bool,
) -> Option<&'a Value> {
    let created = |sg: &Value| sg["createdTime"].as_i64().unwrap_or_default();
    let mut candidates: Vec<&Value> =
        groups.iter().filter(|sg| sg["region"] == region && !(only_enabled && sg["disabled"] == true)).collect();
    candidates.sort_by_key(|sg| std::cmp::Reverse(created(sg)));
    match target {
        Target::Current => candidates.first().copied(),
        Target::Previous => candidates.get(1).copied(),
        Target::Oldest if validate_oldest && candidates.len() < 2 => None,
        Target::Oldest => candidates.last().copied(),
        Target::Largest => {
            let size = |sg: &Value| sg["instances"].as_array().map_or(0, Vec::len);
            candidates.iter().copied().reduce(|best, sg| if size(sg) > size(best) { sg } else { best })
        }
        Target::Fail if candidates.len() == 1 => candidates.first().copied(),
        Target::Fail => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(last: &str, desired: &str, health: Option<&str>, targets: &[&str]) -> TaskStatus {
        TaskStatus {
            id: "t1".into(),
            last_status: last.into(),
            desired_status: desired.into(),
            health_status: health.map(str::to_string),
            target_states: targets.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn health_state_follows_clouddrivers_rules_in_order() {
        use HealthState::*;
        let table = [
            (task("RUNNING", "RUNNING", Some("UNKNOWN"), &[]), true, Starting),
            (task("RUNNING", "RUNNING", Some("UNKNOWN"), &[]), false, Up),
            (task("RUNNING", "RUNNING", Some("UNHEALTHY"), &[]), false, Down),
            (task("PENDING", "RUNNING", None, &[]), false, Starting),
            (task("RUNNING", "RUNNING", None, &[]), false, Up),
            (task("DEPROVISIONING", "STOPPED", None, &[]), false, Down),
            (task("PROVISIONING", "RUNNING", None, &[]), false, Unknown),
        ];
        for (i, (t, check, expected)) in table.iter().enumerate() {
            assert_eq!(health_state(t, *check), *expected, "case {i}");
        }
    }

    #[test]
    fn the_load_balancer_entry_is_the_tasks_own_and_the_worst_target_wins() {
        use HealthState::*;
        let table: [(&[&str], HealthState); 7] = [
            (&[], Unknown),
            (&["healthy"], Up),
            (&["initial"], Starting),
            (&["unhealthy"], Down),
            (&["draining"], Draining),
            (&["healthy", "initial"], Starting),
            (&["healthy", "unused"], Unknown),
        ];
        for (targets, expected) in table {
            assert_eq!(load_balancer_state(&task("RUNNING", "RUNNING", None, targets)), expected, "{targets:?}");
        }
    }

    #[test]
    fn the_platform_entry_reads_the_task_alone() {
        use HealthState::*;
        assert_eq!(platform_state(&task("RUNNING", "RUNNING", Some("UNKNOWN"), &["healthy"]), true), Starting);
        assert_eq!(platform_state(&task("RUNNING", "RUNNING", Some("UNHEALTHY"), &[]), false), Down);
        assert_eq!(platform_state(&task("ACTIVATING", "RUNNING", None, &[]), false), Starting);
        assert_eq!(platform_state(&task("RUNNING", "RUNNING", None, &["initial"]), false), Up);
        assert_eq!(platform_state(&task("STOPPED", "STOPPED", None, &[]), false), Down);
        let entries = health_entries(&task("RUNNING", "RUNNING", None, &["initial"]), false);
        assert_eq!(entries[0], json!({"instanceId": "t1", "type": "loadBalancer", "state": "Starting"}));
        assert_eq!(entries[1]["healthClass"], "platform");
    }

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
            task_definition(&td),
            json!({"taskName": "app-prod:7", "containerImage": "nginx:1", "iamRole": "app", "containerPort": 80, "cpuUnits": 512,
                   "memoryReservation": 256, "memoryLimit": 1024, "environmentVariables": [{"name": "A", "value": "1"}]})
        );
        let bare = task_definition(&json!({"containerDefinitions": [{"image": "x"}]}));
        assert_eq!(
            (bare["iamRole"].clone(), bare["containerPort"].clone(), bare["memoryLimit"].clone()),
            (json!("None"), json!(0), json!(0))
        );
    }

    #[test]
    fn counts_capacity_and_disabled() {
        use HealthState::*;
        let counts = instance_counts(&[Up, Up, Starting, Down, Unknown, Draining]);
        assert_eq!(counts, json!({"total": 6, "up": 2, "down": 1, "unknown": 2, "outOfService": 1, "starting": 0}));
        assert_eq!(capacity(2, Some((1, 4))), json!({"min": 1, "max": 4, "desired": 2, "pinned": false}));
        assert_eq!(capacity(3, None), json!({"min": 3, "max": 3, "desired": 3, "pinned": true}));
        assert!(disabled(0) && !disabled(1));
    }

    fn facts() -> ServerGroupFacts {
        ServerGroupFacts {
            account: "prod".into(),
            region: "us-west-2".into(),
            ecs_cluster: "main".into(),
            moniker: Moniker::new("app", Some("web"), None),
            version: Some(4),
            service: ServiceState {
                service_name: "app-web-v004".into(),
                desired_count: 2,
                created_at_ms: Some(1_700_000_000_123),
                task_definition: "arn:aws:ecs:us-west-2:1:task-definition/app-web:3".into(),
                target_group_arns: vec!["arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/web-tg/abc".into()],
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn bridge_task(id: &str, instance: &str, port: i64) -> Value {
        json!({"taskArn": format!("arn:aws:ecs:us-west-2:1:task/main/{id}"), "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
               "containerInstanceArn": instance, "containers": [{"networkBindings": [{"containerPort": 80, "hostPort": port}]}]})
    }

    #[test]
    fn bridge_tasks_match_their_target_by_host_instance_and_port() {
        let mut f = facts();
        let tg = f.service.target_group_arns[0].clone();
        f.hosts = vec![("ci-1".into(), "i-1".into())];
        let target =
            |port, state: &str| TargetHealth { target_group_arn: tg.clone(), id: "i-1".into(), port: Some(port), state: state.into() };
        f.target_health = vec![target(32768, "healthy"), target(32769, "initial")];
        assert_eq!(task_status(&f, &bridge_task("a", "ci-1", 32768)).target_states, vec!["healthy"]);
        assert_eq!(task_status(&f, &bridge_task("b", "ci-1", 32769)).target_states, vec!["initial"]);
        assert_eq!(task_status(&f, &bridge_task("c", "ci-2", 32768)).target_states, vec![""], "another host's target is not its own");
    }

    #[test]
    fn a_server_group_without_scalable_target_or_task_definition_is_shown_with_warnings() {
        let sg = server_group(&facts());
        assert_eq!(sg["capacity"], json!({"min": 2, "max": 2, "desired": 2, "pinned": true}), "Decisions D4");
        assert_eq!(sg["warnings"].as_array().map(Vec::len), Some(2), "{sg}");
        assert_eq!(
            (sg["createdTime"].clone(), sg["disabled"].clone(), sg["isDisabled"].clone()),
            (json!(1_700_000_000_123i64), json!(false), json!(false))
        );
        assert_eq!(sg["moniker"], json!({"app": "app", "cluster": "app-web", "stack": "web", "sequence": 4}));
        assert_eq!((sg["vpcId"].clone(), sg["targetGroups"].clone()), (json!("None"), json!(["web-tg"])));
        assert!(sg.get("namespace").is_none() && sg.get("taskDefinition").is_none());
        let mut f = facts();
        f.scalable_target = Some(ScalableTarget { min_capacity: 1, max_capacity: 5, ..Default::default() });
        f.task_definition = Some(json!({"containerDefinitions": [{"image": "nginx"}]}));
        let sg = server_group(&f);
        assert!(sg.get("warnings").is_none(), "{sg}");
        assert_eq!(sg["image"], json!({"imageId": "nginx", "name": "nginx"}));
        let entry = list_entry(&sg);
        assert_eq!((entry["isDisabled"].clone(), entry["application"].clone()), (json!(false), json!("app")));
        assert!(entry.get("disabled").is_none());
    }

    #[test]
    fn targets_parse_and_select_by_clouddrivers_rules() {
        let parsed: Vec<Option<Target>> =
            ["current_asg_dynamic", "NEWEST", "ancestor_asg", "Previous", "oldest_asg_dynamic", "largest", "fail", "biggest"]
                .iter()
                .map(|t| Target::parse(t))
                .collect();
        use Target::*;
        assert_eq!(
            parsed,
            vec![Some(Current), Some(Current), Some(Previous), Some(Previous), Some(Oldest), Some(Largest), Some(Fail), None]
        );
        let sg = |name: &str, created: i64, disabled: bool, instances: usize, region: &str| json!({"name": name, "createdTime": created, "disabled": disabled, "instances": vec![json!({}); instances], "region": region});
        let groups = vec![sg("v1", 1, false, 3, "r"), sg("v2", 2, false, 3, "r"), sg("v3", 3, true, 0, "r"), sg("x", 9, false, 9, "other")];
        let pick =
            |t, only_enabled, validate| select_target(&groups, "r", t, only_enabled, validate).map(|sg| sg["name"].as_str().unwrap());
        assert_eq!(pick(Current, false, true), Some("v3"));
        assert_eq!(pick(Current, true, true), Some("v2"));
        assert_eq!(pick(Previous, false, true), Some("v2"));
        assert_eq!(pick(Oldest, false, true), Some("v1"));
        assert_eq!(pick(Largest, false, true), Some("v2"), "ties go to the newest");
        assert_eq!(pick(Fail, false, true), None, "ambiguous");
        let one = vec![sg("v1", 1, false, 1, "r")];
        assert_eq!(select_target(&one, "r", Oldest, false, true), None, "validateOldest needs two");
        assert_eq!(select_target(&one, "r", Oldest, false, false).map(|s| s["name"].clone()), Some(json!("v1")));
        assert_eq!(select_target(&one, "r", Previous, false, true), None);
        assert_eq!(select_target(&one, "r", Fail, false, true).map(|s| s["name"].clone()), Some(json!("v1")));
        assert_eq!(select_target(&one, "elsewhere", Current, false, true), None);
    }

    /// A server group with everything the views show: an `awsvpc` task with its ENI and target,
    /// a `bridge` task on an EC2 instance, a task definition with two containers (a secret, a
    /// health check), events, a scalable target with its scaling suspended while enabled.
    fn rich_facts() -> ServerGroupFacts {
        let mut f = facts();
        let tg = f.service.target_group_arns[0].clone();
        f.service.running_count = 2;
        f.service.pending_count = 1;
        f.service.security_groups = vec!["sg-1".into()];
        f.service.subnets = vec!["subnet-1".into()];
        f.service.events = vec![crate::core::model::ServiceEvent { id: "e1".into(), created_at: Some(1_700_000_100), message: "has reached a steady state.".into() }];
        f.vpc_id = Some("vpc-1".into());
        f.alarms = vec!["app-web-v004-cpu-high".into()];
        f.hosts = vec![("ci-1".into(), "i-1".into())];
        f.scalable_target = Some(ScalableTarget {
            resource_id: "service/main/app-web-v004".into(),
            min_capacity: 1,
            max_capacity: 4,
            dynamic_scaling_in_suspended: true,
            dynamic_scaling_out_suspended: true,
            scheduled_scaling_suspended: true,
        });
        f.task_definition = Some(json!({
            "taskDefinitionArn": "arn:aws:ecs:us-west-2:1:task-definition/app-web:3", "taskRoleArn": "arn:aws:iam::1:role/app",
            "cpu": "256", "memory": "512",
            "containerDefinitions": [
                {"name": "web", "image": "nginx:1.27", "portMappings": [{"containerPort": 80}], "environment": [{"name": "A", "value": "1"}],
                 "secrets": [{"name": "TOKEN", "valueFrom": "arn:aws:ssm:us-west-2:1:parameter/token"}],
                 "healthCheck": {"command": ["CMD", "true"]}},
                {"name": "sidecar", "image": "envoy:1"}
            ]
        }));
        f.target_health = vec![
            TargetHealth { target_group_arn: tg.clone(), id: "10.0.0.5".into(), port: Some(80), state: "healthy".into() },
            TargetHealth { target_group_arn: tg.clone(), id: "i-1".into(), port: Some(32768), state: "initial".into() },
            TargetHealth { target_group_arn: tg, id: "10.0.0.9".into(), port: Some(80), state: "unhealthy".into() },
        ];
        f.tasks = vec![
            json!({"taskArn": "arn:aws:ecs:us-west-2:1:task/main/aaa", "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
                   "healthStatus": "HEALTHY", "startedAt": 1_700_000_050.5, "availabilityZone": "us-west-2a",
                   "attachments": [{"id": "att-1", "type": "ElasticNetworkInterface", "details": [{"name": "privateIPv4Address", "value": "10.0.0.5"}]}]}),
            json!({"taskArn": "arn:aws:ecs:us-west-2:1:task/main/bbb", "lastStatus": "PENDING", "desiredStatus": "RUNNING",
                   "healthStatus": "UNKNOWN", "containerInstanceArn": "ci-1",
                   "containers": [{"networkBindings": [{"containerPort": 80, "hostPort": 32768}]}]}),
            json!({"taskArn": "arn:aws:ecs:us-west-2:1:task/main/ccc", "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
                   "stoppedReason": "Essential container exited"}),
        ];
        f
    }

    #[test]
    fn the_views_serialise_to_the_read_apis_json_byte_for_byte() {
        let sg = server_group(&rich_facts());
        let text = serde_json::to_string_pretty(&sg).unwrap();
        insta::assert_snapshot!("server_group_view", text);
        let entry = serde_json::to_string_pretty(&list_entry(&sg)).unwrap();
        insta::assert_snapshot!("list_entry_view", entry);
        let cluster = serde_json::to_string_pretty(&cluster("prod", "app-web", vec![sg.clone()])).unwrap();
        insta::assert_snapshot!("cluster_view", cluster);
        let bare = serde_json::to_string_pretty(&server_group(&facts())).unwrap();
        insta::assert_snapshot!("bare_server_group_view", bare);
    }
}
