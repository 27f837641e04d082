//! Spinnaker's rolling red/black on ECS (blue-green.md §8.3): a partial disable scales the old
//! server group down by the share of traffic it gives up — on a shared target group traffic
//! follows the task count, and ECS re-registers a task taken out of its target group by hand —
//! after recording its capacity in the `ecs-deployer/rrb` tag (the read API keeps reporting the
//! recorded desired count, as AWS would for instances taken out of a load balancer, so Orca's
//! next step computes from it). The full disable that ends the strategy restores the recorded
//! minimum and removes the tag.

use super::{OperationResult, locate, lock_server_group, resource_id};
use crate::aws::Session;
use crate::core::error::Result;
use crate::core::model::ServiceState;
use crate::core::operation::Operation;
use crate::core::strategy::rolling;

/// Disables `percent` (1-99) of `name`'s traffic: desired = recorded − ⌈recorded × p/100⌉,
/// dynamic scaling suspended, the scalable target's min set to it (max unchanged).
pub async fn disable_partly(session: &Session, ecs_cluster: &str, name: &str, percent: i64) -> Result<OperationResult> {
    let _lock = lock_server_group(session, ecs_cluster, name).await?;
    let mut r = OperationResult::new(Operation::DisableServerGroup.name(), session, ecs_cluster, name);
    let id = resource_id(ecs_cluster, name);
    let ((_, service), target) =
        tokio::try_join!(locate(session, name, Some(ecs_cluster)), async { Ok(session.describe_scalable_target(&id).await?) })?;
    let recorded = match rolling::recorded(&service.tags) {
        Some(recorded) => recorded,
        None => {
            let (min, max) = target.as_ref().map_or((service.desired_count, service.desired_count), |t| (t.min_capacity, t.max_capacity));
            let recorded = (min, max, service.desired_count);
            session.tag_resource(&service.service_arn, &[(rolling::TAG.to_string(), rolling::encode(recorded))]).await?;
            r.step(format!("Recorded the capacity of {name} before its rolling disable: {}.", rolling::encode(recorded)));
            recorded
        }
    };
    let desired = rolling::shrunk(recorded.2, percent);
    r.step(format!("Disabling {percent}% of {name}: {desired} of {} tasks keep serving.", recorded.2));
    if let Some(t) = &target {
        if !t.fully_suspended() {
            session.set_scaling_suspended(&id, true).await?;
        }
        session.set_scalable_capacity(&id, desired.min(t.min_capacity), t.max_capacity).await?;
    }
    session.update_desired_count(ecs_cluster, name, desired).await?;
    if let Some(t) = &target {
        session.set_scalable_capacity(&id, desired, t.max_capacity).await?;
    }
    r.step(format!("Server group {name} disabled {percent}% for {}.", session.account_name));
    Ok(r)
}

/// After the full disable of `service`, when a rolling red/black scaled it down (its tags as read
/// before the disable): the recorded minimum back on its scalable target, the tag removed.
/// Nothing for other groups.
pub async fn end_rolling(session: &Session, ecs_cluster: &str, service: &ServiceState, result: &mut OperationResult) -> Result<()> {
    let Some((min, max, _)) = rolling::recorded(&service.tags) else { return Ok(()) };
    let name = &service.service_name;
    let id = resource_id(ecs_cluster, name);
    if let Some(t) = session.describe_scalable_target(&id).await? {
        session.set_scalable_capacity(&id, min, t.max_capacity.max(max)).await?;
        result.step(format!("Scalable target of {name} back to its recorded min {min}."));
    }
    session.untag_resource(&service.service_arn, rolling::TAG).await?;
    Ok(())
}
