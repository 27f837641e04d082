//! `clone` / `cloneServerGroup`: reads the live server group (its service whole, its task
//! definition, its scalable target), has the core turn it into the next version's description
//! ([`crate::core::clone`]), and deploys that as any deploy with `source` — the settings the
//! description cannot express and the scaling copied, the images the user gave replaced.

use crate::aws::Session;
use crate::core::clone::{self, CloneRequest, Live};
use crate::core::config::Config;
use crate::core::description::{CreateServerGroup, create_server_group_from_json};
use crate::core::error::{Error, Result};
use crate::core::model::ResourceId;
use crate::engine::deploy::{self, DeployOptions, DeployOutcome};
use crate::engine::lifecycle::{self, Progress};

/// The createServerGroup description of the next version of `request`'s server group.
pub async fn describe(request: &CloneRequest) -> Result<CreateServerGroup> {
    let session = Session::connect(&request.account, &request.region).await?;
    let name = &request.server_group;
    let ecs_cluster = match &request.ecs_cluster {
        Some(c) => c.clone(),
        None => lifecycle::locate(&session, name, None).await?.0,
    };
    let resource_id = ResourceId::of(&ecs_cluster, name).to_string();
    let (service, target) =
        tokio::try_join!(session.describe_service_whole(&ecs_cluster, name), session.describe_scalable_target(&resource_id))?;
    let Some((state, raw)) = service else {
        return Err(Error::invalid(
            "source.asgName",
            "cloneServerGroupDescription.source.asgName.invalid",
            format!("server group `{name}` does not exist in ECS cluster {ecs_cluster} ({}/{})", request.account.name, request.region),
        ));
    };
    let task_definition = session.task_definition_json(&state.task_definition).await?;
    let service = raw.as_object().cloned().unwrap_or_default();
    let live = Live { service: &service, task_definition: &task_definition, scalable_target: target.as_ref() };
    let description = clone::description_of(request, &live).map_err(Error::Invalid)?;
    create_server_group_from_json(description)
}

/// Clones the server group: its next version, deployed (or, with `plan_only`, planned).
pub async fn clone(config: &Config, request: &CloneRequest, options: &DeployOptions, progress: &mut dyn Progress) -> Result<DeployOutcome> {
    let description = describe(request).await?;
    deploy::deploy(config, description, options, progress).await
}
