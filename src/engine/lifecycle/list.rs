//! Listing the server groups of an account's region: one rule for which services are server
//! groups ([`Selection`]), shared with the read API; each with its scalable target and whether
//! its deploy left it incomplete.

use futures::future::try_join_all;
use serde::Serialize;

use super::resource_id;
use crate::aws::Session;
use crate::core::config::NamingStrategy;
use crate::core::error::{AwsError, Result};
use crate::core::model::{ScalableTarget, ServiceState};
use crate::core::naming::Selection;

/// A server group as `list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerGroupRow {
    pub server_group_name: String,
    pub cluster: String,
    pub version: Option<u32>,
    pub ecs_cluster_name: String,
    pub enabled: bool,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    pub task_definition: String,
    pub min_capacity: Option<i64>,
    pub max_capacity: Option<i64>,
    pub scaling_suspended: bool,
    /// The enabled state and the scaling disagree (see [`crate::core::model::scaling_mismatch`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_mismatch: Option<&'static str>,
    pub created_at: Option<i64>,
    /// Why the server group is incomplete — its deploy never finished — if it is: the crash
    /// marker is still on it, or it has no scalable target (every deploy registers one; this is
    /// how it shows in accounts that cannot tag services).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    /// When the deploy that left it incomplete started (the marker's time, else its creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete_since: Option<i64>,
    /// Its target groups (`loadBalancers[].targetGroupArn`), for traffic operations; not shown.
    #[serde(skip)]
    pub target_group_arns: Vec<String>,
}

impl ServerGroupRow {
    fn of(ecs_cluster: &str, s: &ServiceState, cluster: String, version: u32, target: Option<&ScalableTarget>) -> Self {
        let incomplete = crate::core::naming::incompleteness(s, target.is_some());
        ServerGroupRow {
            incomplete_since: incomplete.as_ref().and_then(|(_, since)| *since),
            incomplete: incomplete.map(|(why, _)| why),
            server_group_name: s.service_name.clone(),
            cluster,
            version: Some(version),
            ecs_cluster_name: ecs_cluster.to_string(),
            enabled: s.desired_count > 0,
            desired_count: s.desired_count,
            running_count: s.running_count,
            pending_count: s.pending_count,
            task_definition: s.task_definition.clone(),
            min_capacity: target.map(|t| t.min_capacity),
            max_capacity: target.map(|t| t.max_capacity),
            scaling_suspended: target.is_some_and(ScalableTarget::fully_suspended),
            scaling_mismatch: crate::core::model::scaling_mismatch(s.desired_count, target),
            created_at: s.created_at,
            target_group_arns: s.target_group_arns.clone(),
        }
    }
}

/// Every server group in the ECS cluster(s) (see [`Selection::member`]), of one Spinnaker
/// cluster when `cluster` is given, sorted by Spinnaker cluster and version.
pub async fn list(
    session: &Session,
    naming: NamingStrategy,
    ecs_cluster: Option<&str>,
    cluster: Option<&str>,
) -> Result<Vec<ServerGroupRow>> {
    let ecs_clusters = match ecs_cluster {
        Some(c) => vec![c.to_string()],
        None => session.list_ecs_clusters().await?,
    };
    let selection = Selection { naming, app: None, cluster };
    let per_cluster = try_join_all(ecs_clusters.iter().map(|c| async move {
        let names: Vec<String> = session.list_service_names(c).await?.into_iter().filter(|n| selection.may_name(n)).collect();
        let services = session.describe_services(c, &names, true).await?;
        let ids: Vec<String> = services.iter().map(|s| resource_id(c, &s.service_name)).collect();
        let targets = session.describe_scalable_targets(&ids).await?;
        Ok::<_, AwsError>((c.clone(), services, targets))
    }))
    .await?;
    let mut rows = Vec::new();
    for (c, services, targets) in per_cluster {
        for s in services {
            let Some((moniker, version)) = selection.member(&s) else { continue };
            let target = targets.iter().find(|t| t.resource_id == resource_id(&c, &s.service_name));
            rows.push(ServerGroupRow::of(&c, &s, moniker.cluster(), version, target));
        }
    }
    rows.sort_by(|a, b| (&a.cluster, a.version, &a.ecs_cluster_name).cmp(&(&b.cluster, b.version, &b.ecs_cluster_name)));
    Ok(rows)
}
