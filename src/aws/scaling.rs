//! Application Auto Scaling calls for ECS services: scalable targets, and (for the copy of the
//! previous server group's scaling) policies and scheduled actions.

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use serde_json::Value;

use super::{Session, aws_error, send_json};
use crate::error::AwsError;
use crate::model::ScalableTarget;

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
        Ok(out.scalable_targets().first().map(|t| {
            let s = t.suspended_state();
            ScalableTarget {
                resource_id: t.resource_id().to_string(),
                min_capacity: t.min_capacity().into(),
                max_capacity: t.max_capacity().into(),
                dynamic_scaling_in_suspended: s.and_then(|s| s.dynamic_scaling_in_suspended()).unwrap_or(false),
                dynamic_scaling_out_suspended: s.and_then(|s| s.dynamic_scaling_out_suspended()).unwrap_or(false),
                scheduled_scaling_suspended: s.and_then(|s| s.scheduled_scaling_suspended()).unwrap_or(false),
            }
        }))
    }

    /// Sends a RegisterScalableTarget request `body`.
    pub async fn register_scalable_target(&self, body: &Value) -> Result<(), AwsError> {
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
}
