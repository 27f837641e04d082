//! Clouddriver's read model of ECS, the part that judges (`clouddriver-read-api.md` §3–§4 and its
//! Decisions D2, D3, D6): an instance's `healthState` and its two `health[]` entries, a server
//! group's `instanceCounts`, `capacity`, `disabled` and `taskDefinition`. Built from what AWS reports of a task, so
//! the read endpoints (#17) can assemble the JSON Orca reads. Pure.

use serde::Serialize;
use serde_json::{Value, json};

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

/// `disabled` (§4.2): desired count 0, and nothing else.
pub fn disabled(desired: i64) -> bool {
    desired == 0
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
}
