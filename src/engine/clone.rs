//! `clone` / `cloneServerGroup`: reads the live server group (its service whole, its task
//! definition, its scalable target), has the core turn it into the next version's description
//! ([`crate::core::clone`]), and deploys that as any deploy with `source` — the settings the
//! description cannot express and the scaling copied, the images the user gave replaced.

use crate::aws::Session;
use crate::core::clone::{self, CloneRequest, Live};
use crate::core::config::Config;
use crate::core::description::{CreateServerGroup, create_server_group_from_json};
use crate::core::error::AwsError;
use crate::core::error::{Error, Result};
use crate::core::model::ResourceId;
use crate::core::model::ServiceState;
use crate::engine::deploy::{self, DeployOptions, DeployOutcome};
use crate::engine::lifecycle::Progress;
use futures::future::try_join_all;
use serde_json::Value;

/// The createServerGroup description of the next version of `request`'s server group.
pub async fn describe(request: &CloneRequest) -> Result<CreateServerGroup> {
    let session = Session::connect(&request.account, &request.region).await?;
    let name = &request.server_group;
    let (ecs_cluster, state, raw) = live_service(&session, request).await?;
    let resource_id = ResourceId::of(&ecs_cluster, name).to_string();
    let (task_definition, target) =
        tokio::try_join!(session.task_definition_json(&state.task_definition), session.describe_scalable_target(&resource_id))?;
    let service = raw.as_object().cloned().unwrap_or_default();
    let live = Live { service: &service, task_definition: &task_definition, scalable_target: target.as_ref() };
    let description = clone::description_of(request, &live).map_err(Error::Invalid)?;
    create_server_group_from_json(description)
}

/// The server group's service read whole, in its ECS cluster: the one given, else the only one of
/// the region's that has it (read in all of them at once).
async fn live_service(session: &Session, request: &CloneRequest) -> Result<(String, ServiceState, Value)> {
    let name = &request.server_group;
    let clusters = match &request.ecs_cluster {
        Some(c) => vec![c.clone()],
        None => session.list_ecs_clusters().await?,
    };
    let reads = clusters.iter().map(|c| async move { Ok::<_, AwsError>((c.clone(), session.describe_service_whole(c, name).await?)) });
    let found = try_join_all(reads).await?;
    let mut found: Vec<(String, ServiceState, Value)> =
        found.into_iter().filter_map(|(c, s)| s.map(|(state, raw)| (c, state, raw))).collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::invalid(
            "source.asgName",
            "cloneServerGroupDescription.source.asgName.invalid",
            format!("server group `{name}` does not exist in {} ({}/{})", clusters.join(", "), request.account.name, request.region),
        )),
        _ => {
            let names: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
            Err(Error::invalid(
                "source.ecsClusterName",
                "cloneServerGroupDescription.source.ecsClusterName.invalid",
                format!("server group `{name}` exists in several ECS clusters ({}); name one with --ecs-cluster", names.join(", ")),
            ))
        }
    }
}

/// Clones the server group: its next version, deployed (or, with `plan_only`, planned).
pub async fn clone(config: &Config, request: &CloneRequest, options: &DeployOptions, progress: &mut dyn Progress) -> Result<DeployOutcome> {
    let description = describe(request).await?;
    deploy::deploy(config, description, options, progress).await
}
