//! How healthy a task is, by Clouddriver's rules (`clouddriver-read-api.md` §4, Decisions D2,
//! D3): an instance's `healthState`, its load-balancer entry (its own targets) and platform entry
//! (the task alone), and a server group's `instanceCounts`. Pure.

use serde::Serialize;

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

/// One entry of an instance's `health` array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthEntry {
    pub instance_id: String,
    /// `loadBalancer` or `ecs`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `platform` on the `ecs` entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_class: Option<&'static str>,
    pub state: HealthState,
}

/// The instance's `health` array: the load-balancer entry and the platform entry.
pub fn health_entries(task: &TaskStatus, has_health_check: bool) -> Vec<HealthEntry> {
    vec![
        HealthEntry { instance_id: task.id.clone(), kind: "loadBalancer", health_class: None, state: load_balancer_state(task) },
        HealthEntry {
            instance_id: task.id.clone(),
            kind: "ecs",
            health_class: Some("platform"),
            state: platform_state(task, has_health_check),
        },
    ]
}

/// `instanceCounts` (§3.2): Up → up, Down → down, Starting → outOfService, Unknown and
/// Draining → unknown; `starting` stays 0, as Clouddriver leaves it. So a task that is starting
/// is counted in `outOfService` — the one meaning the CLI, the API and the console share.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceCounts {
    pub total: usize,
    pub up: usize,
    pub down: usize,
    pub unknown: usize,
    pub out_of_service: usize,
    pub starting: usize,
}

impl InstanceCounts {
    pub fn of(states: &[HealthState]) -> InstanceCounts {
        let count = |f: fn(&HealthState) -> bool| states.iter().filter(|s| f(s)).count();
        InstanceCounts {
            total: states.len(),
            up: count(|s| *s == HealthState::Up),
            down: count(|s| *s == HealthState::Down),
            unknown: count(|s| matches!(s, HealthState::Unknown | HealthState::Draining)),
            out_of_service: count(|s| *s == HealthState::Starting),
            starting: 0,
        }
    }

    /// The tasks that are starting: Clouddriver's `outOfService` (its `starting` is always 0).
    pub fn starting_tasks(&self) -> usize {
        self.out_of_service
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let entries = serde_json::to_value(health_entries(&task("RUNNING", "RUNNING", None, &["initial"]), false)).unwrap();
        assert_eq!(entries[0], json!({"instanceId": "t1", "type": "loadBalancer", "state": "Starting"}));
        assert_eq!(entries[1]["healthClass"], "platform");
    }

    #[test]
    fn counts_put_starting_tasks_in_out_of_service() {
        use HealthState::*;
        let counts = InstanceCounts::of(&[Up, Up, Starting, Down, Unknown, Draining]);
        assert_eq!(
            serde_json::to_value(counts).unwrap(),
            json!({"total": 6, "up": 2, "down": 1, "unknown": 2, "outOfService": 1, "starting": 0})
        );
        assert_eq!(counts.starting_tasks(), 1, "outOfService is the starting tasks, for every reader");
    }
}
