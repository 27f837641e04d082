//! The server group lifecycle (clouddriver-ecs-behaviour.md §7, Decisions #10-#12): list,
//! disable, enable, resize, destroy, rollback, and waiting until a server group is healthy. Each
//! operation reads what it needs, then writes in Clouddriver's order; `destroy` finds what to
//! remove from the service's own scalable target, not by substring. One concept per file: [`list`],
//! [`toggle`] (enable, disable, resize), [`destroy`], [`wait`], [`rollback`]; here what they share.

mod destroy;
mod list;
mod partial;
mod rollback;
mod toggle;
mod wait;

use serde::Serialize;

use crate::aws::Session;
use crate::core::error::{AwsError, Error, Result};
use crate::core::model::ServiceState;
pub use destroy::{Scope, cleanup, destroy, destroy_by_name, locate_remains, undo_create};
pub use list::{ServerGroupRow, list};
pub use partial::{disable_partly, end_rolling};
pub use rollback::rollback;
pub use toggle::{disable, enable, resize, state_line};
pub use wait::{Progress, Quiet, WaitOptions, wait_healthy};

/// The result of a lifecycle operation: what was done, step by step.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationResult {
    pub operation: String,
    pub server_group_name: String,
    pub ecs_cluster_name: String,
    pub account: String,
    pub region: String,
    pub steps: Vec<String>,
}

impl OperationResult {
    fn new(operation: &str, session: &Session, ecs_cluster: &str, name: &str) -> Self {
        OperationResult {
            operation: operation.into(),
            server_group_name: name.into(),
            ecs_cluster_name: ecs_cluster.into(),
            account: session.account_name.clone(),
            region: session.region.clone(),
            steps: Vec::new(),
        }
    }

    fn step(&mut self, s: String) {
        crate::engine::journal::status(&s);
        self.steps.push(s);
    }
}

fn resource_id(ecs_cluster: &str, name: &str) -> String {
    crate::core::model::ResourceId::of(ecs_cluster, name).into()
}

/// Finds the ECS cluster that holds server group `name`: the given one, or the only one of the
/// account's clusters in the region that has it. Its tags come with it (no extra request).
pub async fn locate(session: &Session, name: &str, ecs_cluster: Option<&str>) -> Result<(String, ServiceState)> {
    let clusters = match ecs_cluster {
        Some(c) => vec![c.to_string()],
        None => session.list_ecs_clusters().await?,
    };
    let found = session.describe_in_each(&clusters, name, true).await?;
    let mut matches: Vec<(String, ServiceState)> = found.into_iter().filter(|(_, s)| s.status != "INACTIVE").collect();
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(Error::invalid(
            "serverGroupName",
            "serverGroupName.invalid",
            format!(
                "server group `{name}` does not exist in {} ({}/{})",
                ecs_cluster
                    .map(|c| format!("ECS cluster `{c}`"))
                    .unwrap_or_else(|| format!("any of the ECS clusters {}", clusters.join(", "))),
                session.account_name,
                session.region
            ),
        )),
        _ => Err(Error::invalid(
            "ecsClusterName",
            "ecsClusterName.invalid",
            format!(
                "server group `{name}` exists in several ECS clusters ({}); name one with --ecs-cluster",
                matches.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// Takes the lock of the operations on server group `name`: nothing else changes it meanwhile
/// in this process (and, in `serve` on PostgreSQL, on the other replicas).
async fn lock_server_group(session: &Session, ecs_cluster: &str, name: &str) -> Result<crate::engine::locks::Guard> {
    let lock = crate::engine::locks::server_group(&session.account_name, &session.region, ecs_cluster, name);
    crate::engine::locks::take(&lock, &format!("{name} was not changed")).await
}

/// Whether `e` says the object is gone (deleted, or an INACTIVE service).
pub(crate) fn is_gone(e: &AwsError) -> bool {
    ["ObjectNotFoundException", "ServiceNotFoundException", "ServiceNotActiveException"].iter().any(|c| e.is(c))
}

/// A delete whose object is already gone — the SDK's retry after a lost response, a second
/// destroy after a failure — has done its job.
pub(crate) fn gone_is_done(result: std::result::Result<(), AwsError>) -> std::result::Result<(), AwsError> {
    match result {
        Err(e) if is_gone(&e) => Ok(()),
        other => other,
    }
}
