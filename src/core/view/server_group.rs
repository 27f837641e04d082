//! The server group as the read API shows it (`EcsServerGroup`, §3.2, with Decisions D4 and
//! D6): every key Orca and Deck read, none null, no `namespace`, and the console's additions
//! (events, containers, target-group health, task counts, a scaling mismatch). A typed value the
//! read cache keeps and the console, `list --view` and target selection read by field; it
//! serialises to the JSON Orca reads, key for key in Clouddriver's order. Pure.

use serde::Serialize;

use super::ServerGroupFacts;
use super::health::{HealthState, InstanceCounts, health_state};
use super::instance::{Empty, InstanceView, instance, task_status};
use super::task_definition::{ContainerView, TaskDefinitionView, containers, has_health_check};
use crate::core::model::{TargetHealth, scaling_mismatch};
use crate::core::moniker::Moniker;

/// `capacity` (§3.2): desired from the service; min and max from the scalable target, or the
/// desired count when there is none (Decisions D4: shown, not hidden); pinned when all are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CapacityView {
    pub min: i64,
    pub max: i64,
    pub desired: i64,
    pub pinned: bool,
}

impl CapacityView {
    pub fn of(desired: i64, target: Option<(i64, i64)>) -> CapacityView {
        let (min, max) = target.unwrap_or((desired, desired));
        CapacityView { min, max, desired, pinned: min == max && max == desired }
    }
}

/// The moniker as Clouddriver shows it: app, cluster, stack, detail, sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonikerView {
    pub app: String,
    pub cluster: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u32>,
}

impl MonikerView {
    pub fn of(moniker: &Moniker, version: Option<u32>) -> MonikerView {
        MonikerView {
            app: moniker.app.clone(),
            cluster: moniker.cluster(),
            stack: moniker.stack.clone(),
            detail: moniker.detail.clone(),
            sequence: version,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageView {
    pub image_id: String,
    pub name: String,
}

/// A service event as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub created_at: Option<i64>,
    pub message: String,
}

/// A target group of the service with its healthy and registered targets (all of them: what
/// the load balancer sees, the other server groups' targets included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetGroupHealth {
    pub name: String,
    pub healthy: usize,
    pub targets: usize,
}

/// ECS's own task counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TaskCounts {
    pub desired: i64,
    pub running: i64,
    pub pending: i64,
}

/// The server group (§3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerGroupView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub cloud_provider: &'static str,
    pub account: String,
    pub credentials: String,
    pub region: String,
    /// The moniker's cluster (`app-stack-detail`).
    pub cluster: String,
    /// `disabled` (§4.2): desired count 0, and nothing else.
    pub disabled: bool,
    pub is_disabled: bool,
    /// Epoch ms.
    pub created_time: i64,
    pub capacity: CapacityView,
    pub moniker: MonikerView,
    pub instances: Vec<InstanceView>,
    pub instance_counts: InstanceCounts,
    pub image: ImageView,
    pub ecs_cluster: String,
    pub vpc_id: String,
    pub security_groups: Vec<String>,
    pub target_groups: Vec<String>,
    pub load_balancers: Vec<String>,
    pub metric_alarms: Vec<String>,
    pub server_group_managers: Vec<String>,
    pub labels: Empty,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<TaskDefinitionView>,
    pub service_events: Vec<EventView>,
    pub containers: Vec<ContainerView>,
    pub target_group_health: Vec<TargetGroupHealth>,
    pub task_counts: TaskCounts,
    /// The enabled state and the scaling disagree ([`crate::core::model::scaling_mismatch`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_mismatch: Option<&'static str>,
    /// Why it is shown with less than Clouddriver would know (Decisions D4).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl ServerGroupView {
    /// Whether it serves (not disabled).
    pub fn enabled(&self) -> bool {
        !self.is_disabled
    }
}

/// `disabled` (§4.2): desired count 0, and nothing else.
pub fn disabled(desired: i64) -> bool {
    desired == 0
}

/// A target group's name, from its ARN (`…:targetgroup/NAME/ID`).
pub fn target_group_name(arn: &str) -> &str {
    arn.split("targetgroup/").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or(arn)
}

fn target_group_health(facts: &ServerGroupFacts) -> Vec<TargetGroupHealth> {
    let of = |arn: &String| {
        let targets: Vec<&TargetHealth> = facts.target_health.iter().filter(|t| &t.target_group_arn == arn).collect();
        let healthy = targets.iter().filter(|t| t.state == "healthy").count();
        TargetGroupHealth { name: target_group_name(arn).to_string(), healthy, targets: targets.len() }
    };
    facts.service.target_group_arns.iter().map(of).collect()
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
    if let Some(mismatch) = scaling_mismatch(facts.service.desired_count, facts.scalable_target.as_ref()) {
        out.push(format!("{mismatch}: a disable or enable did not finish; disable or enable it again"));
    }
    out
}

/// The server group of `facts`.
pub fn server_group(facts: &ServerGroupFacts) -> ServerGroupView {
    let service = &facts.service;
    let check = has_health_check(facts.task_definition.as_ref());
    let states: Vec<HealthState> = facts.tasks.iter().map(|t| health_state(&task_status(facts, t), check)).collect();
    let td = facts.task_definition.as_ref().map(TaskDefinitionView::of);
    let image = td.as_ref().map(|td| td.container_image.clone()).unwrap_or_default();
    let disabled = disabled(service.desired_count);
    let has_tasks = !facts.tasks.is_empty();
    ServerGroupView {
        name: service.service_name.clone(),
        kind: "ecs",
        cloud_provider: "ecs",
        account: facts.account.clone(),
        credentials: facts.account.clone(),
        region: facts.region.clone(),
        cluster: facts.moniker.cluster(),
        disabled,
        is_disabled: disabled,
        created_time: service.created_at_ms.unwrap_or_default(),
        // A rolling red/black's partly disabled group keeps its recorded desired count (§8.3).
        capacity: CapacityView::of(
            crate::core::strategy::rolling::recorded(&service.tags).map_or(service.desired_count, |(_, _, desired)| desired),
            facts.scalable_target.as_ref().map(|t| (t.min_capacity, t.max_capacity)),
        ),
        moniker: MonikerView::of(&facts.moniker, facts.version),
        instances: facts.tasks.iter().map(|t| instance(facts, t)).collect(),
        instance_counts: InstanceCounts::of(&states),
        image: ImageView { image_id: image.clone(), name: image },
        ecs_cluster: facts.ecs_cluster.clone(),
        vpc_id: if has_tasks { facts.vpc_id.clone().unwrap_or_else(|| "None".into()) } else { "None".into() },
        security_groups: if has_tasks { service.security_groups.clone() } else { Vec::new() },
        target_groups: service.target_group_arns.iter().map(|a| target_group_name(a).to_string()).collect(),
        load_balancers: Vec::new(),
        metric_alarms: facts.alarms.clone(),
        server_group_managers: Vec::new(),
        labels: Empty {},
        task_definition: td,
        service_events: service
            .events
            .iter()
            .take(10)
            .map(|e| EventView { created_at: e.created_at, message: e.message.clone() })
            .collect(),
        containers: facts.task_definition.as_ref().map(containers).unwrap_or_default(),
        target_group_health: target_group_health(facts),
        task_counts: TaskCounts { desired: service.desired_count, running: service.running_count, pending: service.pending_count },
        scaling_mismatch: scaling_mismatch(service.desired_count, facts.scalable_target.as_ref()),
        warnings: warnings(facts),
    }
}
