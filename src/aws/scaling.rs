//! Application Auto Scaling calls for ECS services: scalable targets, and (for the copy of the
//! previous server group's scaling) policies and scheduled actions.

use crate::core::model::{SCALABLE_DIMENSION, SCALING_NAMESPACE};
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use serde_json::Value;

use super::{CaptureBody, Session, aws_error, send_json};
use crate::core::error::AwsError;
use crate::core::model::ScalableTarget;

fn scalable_target(t: &aws_sdk_applicationautoscaling::types::ScalableTarget) -> ScalableTarget {
    let s = t.suspended_state();
    ScalableTarget {
        resource_id: t.resource_id().to_string(),
        min_capacity: t.min_capacity().into(),
        max_capacity: t.max_capacity().into(),
        dynamic_scaling_in_suspended: s.and_then(|s| s.dynamic_scaling_in_suspended()).unwrap_or(false),
        dynamic_scaling_out_suspended: s.and_then(|s| s.dynamic_scaling_out_suspended()).unwrap_or(false),
        scheduled_scaling_suspended: s.and_then(|s| s.scheduled_scaling_suspended()).unwrap_or(false),
    }
}

/// Pages through an ECS-namespace Describe* call of one resource, collecting the raw JSON
/// entries under `$key` of every page.
macro_rules! raw_pages {
    ($builder:expr, $resource_id:expr, $key:expr, $operation:expr) => {{
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let capture = CaptureBody::default();
            let resp = $builder
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id($resource_id)
                .set_next_token(token.clone())
                .customize()
                .interceptor(capture.clone())
                .send()
                .await
                .map_err(|e| aws_error($operation, e))?;
            out.extend(items(&capture.json(), $key));
            token = resp.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                break Ok(out);
            }
        }
    }};
}

fn items(body: &Value, key: &str) -> Vec<Value> {
    body.get(key).and_then(Value::as_array).cloned().unwrap_or_default()
}

impl Session {
    /// The `ecs:service:DesiredCount` scalable target of `resource_id` (`service/{cluster}/{name}`), if any.
    pub async fn describe_scalable_target(&self, resource_id: &str) -> Result<Option<ScalableTarget>, AwsError> {
        let out = self
            .scaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_ids(resource_id)
            .send()
            .await
            .map_err(|e| aws_error("application-autoscaling:DescribeScalableTargets", e))?;
        Ok(out.scalable_targets().first().map(scalable_target))
    }

    /// Sends a RegisterScalableTarget request `body`.
    pub async fn register_scalable_target(&self, body: &Value) -> Result<(), AwsError> {
        super::fence::check("application-autoscaling:RegisterScalableTarget")?;
        let builder = self
            .scaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount);
        send_json!(builder, body).map_err(|e| aws_error("application-autoscaling:RegisterScalableTarget", e))?;
        Ok(())
    }

    /// Deregisters the scalable target of `resource_id`; AWS deletes its policies with it.
    pub async fn deregister_scalable_target(&self, resource_id: &str) -> Result<(), AwsError> {
        super::fence::check("application-autoscaling:DeregisterScalableTarget")?;
        self.scaling
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(resource_id)
            .send()
            .await
            .map_err(|e| aws_error("application-autoscaling:DeregisterScalableTarget", e))?;
        Ok(())
    }

    /// Every scaling policy of `resource_id`, as the JSON AWS returned.
    pub async fn describe_scaling_policies(&self, resource_id: &str) -> Result<Vec<Value>, AwsError> {
        raw_pages!(
            self.scaling.describe_scaling_policies(),
            resource_id,
            "ScalingPolicies",
            "application-autoscaling:DescribeScalingPolicies"
        )
    }

    /// Every scheduled action of `resource_id`, as the JSON AWS returned.
    pub async fn describe_scheduled_actions(&self, resource_id: &str) -> Result<Vec<Value>, AwsError> {
        raw_pages!(
            self.scaling.describe_scheduled_actions(),
            resource_id,
            "ScheduledActions",
            "application-autoscaling:DescribeScheduledActions"
        )
    }

    /// Sends a PutScalingPolicy request `body`; returns the policy ARN.
    pub async fn put_scaling_policy(&self, body: &Value) -> Result<String, AwsError> {
        super::fence::check("application-autoscaling:PutScalingPolicy")?;
        let name = body.get("PolicyName").and_then(Value::as_str).unwrap_or_default().to_string();
        let builder = self.scaling.put_scaling_policy().policy_name(name).service_namespace(ServiceNamespace::Ecs);
        let out = send_json!(builder, body).map_err(|e| aws_error("application-autoscaling:PutScalingPolicy", e))?;
        Ok(out.policy_arn().to_string())
    }

    /// Sends a PutScheduledAction request `body`.
    pub async fn put_scheduled_action(&self, body: &Value) -> Result<(), AwsError> {
        super::fence::check("application-autoscaling:PutScheduledAction")?;
        let name = body.get("ScheduledActionName").and_then(Value::as_str).unwrap_or_default().to_string();
        let builder = self.scaling.put_scheduled_action().scheduled_action_name(name).service_namespace(ServiceNamespace::Ecs);
        send_json!(builder, body).map_err(|e| aws_error("application-autoscaling:PutScheduledAction", e))?;
        Ok(())
    }

    /// Sets the suspended state of a scalable target without touching its capacity.
    pub async fn set_scaling_suspended(&self, resource_id: &str, suspended: bool) -> Result<(), AwsError> {
        super::fence::check("application-autoscaling:RegisterScalableTarget")?;
        let body = serde_json::json!({
            "ServiceNamespace": SCALING_NAMESPACE,
            "ResourceId": resource_id,
            "ScalableDimension": SCALABLE_DIMENSION,
            "SuspendedState": {
                "DynamicScalingInSuspended": suspended,
                "DynamicScalingOutSuspended": suspended,
                "ScheduledScalingSuspended": suspended,
            }
        });
        self.register_scalable_target(&body).await
    }

    /// The scalable targets of several services (`service/{cluster}/{name}`), 50 per call.
    pub async fn describe_scalable_targets(&self, resource_ids: &[String]) -> Result<Vec<ScalableTarget>, AwsError> {
        let calls = resource_ids.chunks(50).map(|chunk| {
            let req = self
                .scaling
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .set_resource_ids(Some(chunk.to_vec()));
            async move { req.send().await.map_err(|e| aws_error("application-autoscaling:DescribeScalableTargets", e)) }
        });
        let outs = futures::future::try_join_all(calls).await?;
        Ok(outs.iter().flat_map(|o| o.scalable_targets()).map(scalable_target).collect())
    }

    /// Deletes a scheduled action.
    pub async fn delete_scheduled_action(&self, resource_id: &str, name: &str) -> Result<(), AwsError> {
        super::fence::check("application-autoscaling:DeleteScheduledAction")?;
        self.scaling
            .delete_scheduled_action()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(resource_id)
            .scheduled_action_name(name)
            .send()
            .await
            .map_err(|e| aws_error("application-autoscaling:DeleteScheduledAction", e))?;
        Ok(())
    }

    /// Deletes a scaling policy (AWS deletes the target-tracking alarms it created with it).
    pub async fn delete_scaling_policy(&self, resource_id: &str, name: &str) -> Result<(), AwsError> {
        super::fence::check("application-autoscaling:DeleteScalingPolicy")?;
        self.scaling
            .delete_scaling_policy()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(resource_id)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| aws_error("application-autoscaling:DeleteScalingPolicy", e))?;
        Ok(())
    }

    /// Sets min and max of a scalable target, leaving its suspended state as it is.
    pub async fn set_scalable_capacity(&self, resource_id: &str, min: i64, max: i64) -> Result<(), AwsError> {
        super::fence::check("application-autoscaling:RegisterScalableTarget")?;
        let body = serde_json::json!({
            "ServiceNamespace": SCALING_NAMESPACE,
            "ResourceId": resource_id,
            "ScalableDimension": SCALABLE_DIMENSION,
            "MinCapacity": min,
            "MaxCapacity": max,
        });
        self.register_scalable_target(&body).await
    }
}
