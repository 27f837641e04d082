//! The check before a disable (blue-green.md §9.2): for each target group of the server group
//! that a rule of its load balancers sends traffic to, something other than the group's own
//! tasks must be healthy in it; otherwise the disable is refused before any write, unless forced.

use futures::future::try_join_all;

use crate::aws::Session;
use crate::core::error::{Error, Result};
use crate::core::model::ServiceState;
use crate::core::traffic::serving::{disable_refusal, own_targets};
use crate::engine::journal as status;

/// Refuses to disable `service` when it is the last healthy server of a target group that still
/// gets traffic; with `force`, goes on and says so.
pub async fn check_disable(session: &Session, ecs_cluster: &str, service: &ServiceState, force: bool) -> Result<()> {
    if service.target_group_arns.is_empty() || service.desired_count == 0 {
        return Ok(());
    }
    let forwards = try_join_all(service.target_group_arns.iter().map(|tg| session.forwards_to(tg))).await?;
    if forwards.iter().all(Vec::is_empty) {
        return Ok(());
    }
    let tasks = session.running_tasks(ecs_cluster, &service.service_name).await?;
    let instances: Vec<String> =
        tasks.iter().filter_map(|t| crate::core::view::instance::container_instance_arn(t).map(str::to_string)).collect();
    let hosts = if instances.is_empty() { Vec::new() } else { session.container_instance_hosts(ecs_cluster, &instances).await? };
    let own = own_targets(&tasks, &hosts);
    for (tg, forwards) in service.target_group_arns.iter().zip(&forwards) {
        if forwards.is_empty() {
            continue;
        }
        let targets = session.target_health(tg).await?;
        if let Some(refusal) = disable_refusal(&service.service_name, tg, forwards, &targets, &own) {
            if !force {
                return Err(Error::invalid("serverGroupName", "traffic.last.healthy", refusal));
            }
            status::status(format!("forced past the traffic check: {refusal}"));
            tracing::warn!("forced past the traffic check: {refusal}");
        }
    }
    Ok(())
}
