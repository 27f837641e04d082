//! Orca's explicit rollback (§9.3): enable the server group to restore, wait until it is
//! healthy, then disable the current one — refused before any write when it cannot work.

use std::time::Duration;

use super::{OperationResult, Progress, WaitOptions, disable, enable, locate, resize, resource_id, wait_healthy};
use crate::aws::Session;
use crate::core::error::{Error, Result};

/// Orca's explicit rollback (§9.3): enable `restore` (sized up to `current`'s capacity when
/// that is larger), wait until it is healthy, then disable `current`. Refuses, before changing
/// anything, to restore a server group whose task definition or images no longer exist (unless
/// forced past the images).
pub async fn rollback(
    session: &Session,
    ecs_cluster: Option<&str>,
    restore: &str,
    current: &str,
    timeout: Duration,
    force: bool,
    progress: &mut dyn Progress,
) -> Result<Vec<OperationResult>> {
    let ((restore_cluster, restore_service), (current_cluster, current_service)) =
        tokio::try_join!(locate(session, restore, ecs_cluster), locate(session, current, ecs_cluster))?;
    if restore_cluster != current_cluster {
        return Err(Error::invalid(
            "rollbackContext",
            "rollbackServerGroupDescription.invalid",
            format!(
                "{restore} is in ECS cluster {restore_cluster} and {current} in {current_cluster}; a rollback stays in one ECS cluster"
            ),
        ));
    }
    match session.task_definition_status(&restore_service.task_definition).await? {
        Some(status) if status != "DELETE_IN_PROGRESS" => {}
        _ => {
            return Err(Error::invalid(
                "restoreServerGroupName",
                "rollbackServerGroup.restoreServerGroupName.invalid",
                format!(
                    "cannot restore {restore}: its task definition {} no longer exists; deploy that version again instead",
                    restore_service.task_definition
                ),
            ));
        }
    }
    crate::engine::images::check(session, &restore_cluster, restore, force).await?;
    let (restore_id, current_id) = (resource_id(&restore_cluster, restore), resource_id(&current_cluster, current));
    let (restore_target, current_target) =
        tokio::try_join!(session.describe_scalable_target(&restore_id), session.describe_scalable_target(&current_id))?;
    let mut results = Vec::new();
    let restore_max = restore_target.as_ref().map(|t| t.max_capacity).unwrap_or(1);
    let desired = restore_max.max(current_service.desired_count);
    results.push(enable(session, &restore_cluster, restore, Some(desired), Some(restore_service.desired_count)).await?);
    if let Some(t) = &restore_target {
        let max = t.max_capacity.max(current_target.as_ref().map(|c| c.max_capacity).unwrap_or(0)).max(desired);
        if max != t.max_capacity {
            results.push(resize(session, &restore_cluster, restore, (t.min_capacity, max, desired), Some(desired)).await?);
        }
    }
    wait_healthy(session, &restore_cluster, restore, &restore_service.task_definition, WaitOptions::new(timeout), progress).await?;
    crate::engine::traffic::check_disable(session, &current_cluster, &current_service, force).await?;
    results.push(disable(session, &current_cluster, current).await?);
    Ok(results)
}
