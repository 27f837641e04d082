//! What a deploy reports: the new server group, its scalable target, what was copied of the
//! source's scaling, what the strategy did — as it was applied or, with `--plan`, as it would be.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::core::plan::DeployPlan;
use crate::core::scaling::{ScalingCopyPlan, Skipped};
use crate::core::strategy::Strategy;
use crate::engine::lifecycle::OperationResult;

/// The scalable target registered for the new server group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalableTargetResult {
    pub resource_id: String,
    pub min_capacity: i64,
    pub max_capacity: i64,
}

/// One copied policy, alarm or scheduled action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopiedItem {
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

/// What the copy of the source's scaling did (or, with `plan_only`, would do).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingCopyResult {
    pub copied: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub scaling_policies: Vec<CopiedItem>,
    pub alarms: Vec<CopiedItem>,
    pub scheduled_actions: Vec<CopiedItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

impl ScalingCopyResult {
    /// The copy `copy` as planned (no ARNs yet); None when the deploy has no source.
    pub(super) fn planned(plan: &DeployPlan, copy: Option<&ScalingCopyPlan>) -> Option<Self> {
        plan.source.as_ref()?;
        let item = |from: &str, to: &str| CopiedItem { from: from.into(), to: to.into(), arn: None };
        Some(match copy {
            Some(copy) => ScalingCopyResult {
                copied: true,
                source_resource_id: Some(copy.source_resource_id.clone()),
                note: None,
                scaling_policies: copy.scaling_policies.iter().map(|p| item(&p.from, &p.to)).collect(),
                alarms: copy.alarms.iter().map(|a| item(&a.from, &a.to)).collect(),
                scheduled_actions: copy.scheduled_actions.iter().map(|a| item(&a.from, &a.to)).collect(),
                skipped: copy.skipped.clone(),
            },
            None => ScalingCopyResult {
                copied: false,
                source_resource_id: None,
                note: plan.scaling_copy_note.clone(),
                scaling_policies: Vec::new(),
                alarms: Vec::new(),
                scheduled_actions: Vec::new(),
                skipped: Vec::new(),
            },
        })
    }
}

/// The result of a deploy (or, with `plan_only`, of its plan).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployOutcome {
    pub server_group_names: Vec<String>,
    pub server_group_name_by_region: Map<String, Value>,
    pub server_group_name: String,
    pub region: String,
    pub account: String,
    pub ecs_cluster_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_arn: Option<String>,
    pub desired_count: i64,
    pub scalable_target: ScalableTargetResult,
    /// What was copied from the source server group's scaling (present when there is a source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<ScalingCopyResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// True once the new server group was seen healthy (only when waiting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// What the strategy did to the other server groups, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strategy_steps: Vec<OperationResult>,
    /// What a traffic-managed deploy did with the production rule (planned, with `--plan`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traffic_steps: Vec<String>,
    /// Never read back (a handed-over deploy's outcome has none).
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub plan: Option<DeployPlan>,
}

impl DeployOutcome {
    /// The outcome the plan (with the scaling copy `copy`) leads to, before anything is written.
    pub(super) fn planned(plan: &DeployPlan, copy: Option<&ScalingCopyPlan>) -> Self {
        let mut by_region = Map::new();
        by_region.insert(plan.region.clone(), json!(plan.server_group_name));
        let target = &plan.scalable_target;
        DeployOutcome {
            server_group_names: vec![format!("{}:{}", plan.region, plan.server_group_name)],
            server_group_name_by_region: by_region,
            server_group_name: plan.server_group_name.clone(),
            region: plan.region.clone(),
            account: plan.account.clone(),
            ecs_cluster_name: plan.ecs_cluster_name.clone(),
            task_definition_arn: None,
            service_arn: None,
            desired_count: plan.desired_count,
            scalable_target: ScalableTargetResult {
                resource_id: target.resource_id.to_string(),
                min_capacity: target.min_capacity,
                max_capacity: target.max_capacity,
            },
            scaling: ScalingCopyResult::planned(plan, copy),
            warnings: plan.warnings.clone(),
            healthy: None,
            strategy: None,
            strategy_steps: Vec::new(),
            traffic_steps: Vec::new(),
            plan: None,
        }
    }
}
