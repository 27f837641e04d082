//! The AWS requests a [`DeployPlan`] sends, rendered from the plan's values: the crash marker,
//! the new service's identity and count, the scalable target's resource id and capacity are
//! each held once and written into CreateService, RegisterScalableTarget and `--plan`'s JSON here.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::DeployPlan;
use super::merge::{Origin, RevisionMembers};
use crate::core::model::{ResourceId, SCALABLE_DIMENSION, SCALING_NAMESPACE, ScalableTarget};
use crate::core::moniker::Moniker;
use crate::core::naming::TAG_INCOMPLETE;
use crate::core::request::SourceRef;
use crate::core::scaling::ScalingCopyPlan;

/// Where CreateService's `taskDefinition` goes before RegisterTaskDefinition has returned the ARN.
pub const TASK_DEFINITION_ARN: &str = "${taskDefinitionArn}";

/// CreateService, decided: its settings besides the service's identity, count and task
/// definition (which the plan holds), in the order they are sent, and the crash marker.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRequest {
    pub settings: Map<String, Value>,
    /// The crash marker CreateService tags the new server group with (when the account can tag
    /// services); apply removes it as its last step.
    pub incomplete_marker: Option<String>,
    /// Where each member comes from (`deploymentConfiguration.…` for the ones inside it).
    pub origins: Vec<(String, Origin)>,
}

/// RegisterScalableTarget, decided: the capacity's min and max, not suspended; the account role
/// in legacy mode.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalableTargetRequest {
    pub resource_id: ResourceId,
    pub min_capacity: i64,
    pub max_capacity: i64,
    pub role_arn: Option<String>,
}

impl ScalableTargetRequest {
    /// The RegisterScalableTarget body.
    pub fn body(&self) -> Value {
        let mut target = json!({
            "ServiceNamespace": SCALING_NAMESPACE,
            "ResourceId": self.resource_id.as_str(),
            "ScalableDimension": SCALABLE_DIMENSION,
            "MinCapacity": self.min_capacity,
            "MaxCapacity": self.max_capacity,
            "SuspendedState": {"DynamicScalingInSuspended": false, "DynamicScalingOutSuspended": false, "ScheduledScalingSuspended": false},
        });
        if let Some(role) = &self.role_arn {
            target["RoleARN"] = json!(role);
        }
        target
    }
}

impl DeployPlan {
    /// The crash marker (see [`ServiceRequest::incomplete_marker`]).
    pub fn incomplete_marker(&self) -> Option<&str> {
        self.create_service.incomplete_marker.as_deref()
    }

    /// The CreateService body naming `task_definition_arn` ([`TASK_DEFINITION_ARN`] in `--plan`).
    pub fn create_service_body(&self, task_definition_arn: &str) -> Value {
        let mut body = Map::new();
        body.insert("cluster".into(), json!(self.ecs_cluster_name));
        body.insert("serviceName".into(), json!(self.server_group_name));
        body.insert("taskDefinition".into(), json!(task_definition_arn));
        body.insert("desiredCount".into(), json!(self.desired_count));
        body.extend(self.create_service.settings.clone());
        if let Some(marker) = self.incomplete_marker()
            && let Some(Value::Array(tags)) = body.get_mut("tags")
        {
            tags.push(json!({"key": TAG_INCOMPLETE, "value": marker}));
        }
        Value::Object(body)
    }

    /// The CreateService request apply sends once the task definition is registered and the
    /// source's revision read (`late`): the body with a client token that is the same for every
    /// retry of this deploy's request, so a retry after a lost response returns the service
    /// instead of creating a second one.
    pub fn create_service_request(&self, task_definition_arn: &str, late: &RevisionMembers) -> Value {
        let mut body = self.create_service_body(task_definition_arn);
        if let Value::Object(b) = &mut body {
            b.extend(late.members.iter().cloned());
        }
        body["clientToken"] = json!(self.client_token(task_definition_arn));
        body
    }

    /// The plan with the members of the source's revision in (`--plan` shows them).
    pub fn complete(&mut self, late: RevisionMembers) {
        self.create_service.settings.extend(late.members);
        self.create_service.origins.extend(late.origins);
        self.warnings.extend(late.warnings);
    }

    fn client_token(&self, task_definition_arn: &str) -> String {
        let mut h = Sha256::new();
        for part in [&self.account, &self.region, &self.ecs_cluster_name, &self.server_group_name, task_definition_arn] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

/// `--plan`'s JSON of a plan: its values, and the requests rendered from them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanJson<'a> {
    account: &'a str,
    account_id: &'a str,
    region: &'a str,
    ecs_cluster_name: &'a str,
    server_group_name: &'a str,
    version: u32,
    family: &'a str,
    moniker: &'a Moniker,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a SourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_scalable_target: Option<&'a ScalableTarget>,
    desired_count: i64,
    min_capacity: i64,
    max_capacity: i64,
    scalable_target_resource_id: &'a str,
    register_task_definition: &'a Value,
    create_service: Value,
    register_scalable_target: Value,
    /// Where each member of CreateService comes from.
    create_service_origins: Map<String, Value>,
    /// PutMetricAlarm of each per-version deployment alarm, before CreateService.
    #[serde(skip_serializing_if = "<[crate::core::model::Alarm]>::is_empty")]
    deployment_alarms: &'a [crate::core::model::Alarm],
    #[serde(skip_serializing_if = "Option::is_none")]
    scaling_copy: Option<&'a ScalingCopyPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scaling_copy_note: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

impl Serialize for DeployPlan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PlanJson {
            account: &self.account,
            account_id: &self.account_id,
            region: &self.region,
            ecs_cluster_name: &self.ecs_cluster_name,
            server_group_name: &self.server_group_name,
            version: self.version,
            family: &self.family,
            moniker: &self.moniker,
            source: self.source.as_ref(),
            source_scalable_target: self.source_scalable_target.as_ref(),
            desired_count: self.desired_count,
            min_capacity: self.scalable_target.min_capacity,
            max_capacity: self.scalable_target.max_capacity,
            scalable_target_resource_id: self.scalable_target.resource_id.as_str(),
            register_task_definition: &self.register_task_definition,
            create_service: self.create_service_body(TASK_DEFINITION_ARN),
            register_scalable_target: self.scalable_target.body(),
            create_service_origins: self.create_service.origins.iter().map(|(m, o)| (m.clone(), json!(o))).collect(),
            deployment_alarms: &self.deployment_alarms,
            scaling_copy: self.scaling_copy.as_ref(),
            scaling_copy_note: self.scaling_copy_note.as_deref(),
            warnings: &self.warnings,
        }
        .serialize(serializer)
    }
}
