//! What goes into a request besides the description's own settings: the CLI's `--image` and
//! `--artifact` (and what Orca folds in: `imageDescription`, `containerMappings`) merged into the
//! description, and where an artifact-mode task definition comes from (§3.2).

use super::{Download, Inputs};
use crate::core::artifact;
use crate::core::config::Config;
use crate::core::description::{CreateServerGroup, ImageDescription};
use crate::core::error::FieldError;
use serde_json::Value;

/// Where an artifact-mode description's task definition is.
pub(super) enum ArtifactInput {
    Document(Value),
    Download(Box<Download>),
}

pub(super) fn merge_inputs(d: &mut CreateServerGroup, options: &Inputs) {
    if d.docker_image_address.as_deref().is_none_or(str::is_empty)
        && let Some(image) = d.image_description.as_ref().and_then(ImageDescription::image)
    {
        d.docker_image_address = Some(image);
    }
    if d.container_to_image_map.is_none()
        && let Some(mappings) = &d.container_mappings
    {
        d.container_to_image_map =
            Some(mappings.iter().filter_map(|m| Some((m.container_name.clone()?, m.image_description.as_ref()?.image()?))).collect());
    }
    if !options.images.is_empty() {
        let map = d.container_to_image_map.get_or_insert_with(Vec::new);
        for (container, image) in &options.images {
            map.retain(|(c, _)| c != container);
            map.push((container.clone(), image.clone()));
        }
    }
    if options.artifact.is_some() {
        d.use_task_definition_artifact = Some(true);
    }
}

/// Where an artifact-mode description's task definition is (§3.2): `--artifact`, the
/// SpEL-processed inline object, an `embedded/base64` artifact (JSON or YAML), or a reference
/// to download with one of the configured artifact accounts.
pub(super) fn artifact_input(config: &Config, d: &CreateServerGroup, options: &Inputs) -> Result<Option<ArtifactInput>, FieldError> {
    if let Some(doc) = &options.artifact {
        return Ok(Some(ArtifactInput::Document(doc.clone())));
    }
    if !d.artifact_mode() {
        return Ok(None);
    }
    if d.evaluate_task_definition_artifact_expressions == Some(true) {
        return match &d.spel_processed_task_definition_artifact {
            Some(v) if !v.is_null() => Ok(Some(ArtifactInput::Document(v.clone()))),
            _ => Err(FieldError::new(
                "spelProcessedTaskDefinitionArtifact",
                "createServerGroupDescription.spelProcessedTaskDefinitionArtifact.not.nullable",
                "Task definition artifact can not be null: evaluateTaskDefinitionArtifactExpressions is set but spelProcessedTaskDefinitionArtifact is missing",
            )),
        };
    }
    let field = "resolvedTaskDefinitionArtifact";
    let stage_artifact = d.task_definition_artifact.as_ref().and_then(|t| t.artifact.as_ref());
    let Some(artifact) = d.resolved_task_definition_artifact.as_ref().or(stage_artifact) else {
        return Err(FieldError::new(
            field,
            "createServerGroupDescription.resolvedTaskDefinitionArtifact.not.nullable",
            "useTaskDefinitionArtifact is set but there is no artifact: give resolvedTaskDefinitionArtifact, spelProcessedTaskDefinitionArtifact or --artifact FILE",
        ));
    };
    if artifact.kind.as_deref() == Some("embedded/base64") {
        let reference = artifact.reference.as_deref().unwrap_or_default();
        let code = crate::core::artifact::INVALID_CODE;
        let bytes = artifact::embedded_bytes(reference).map_err(|e| FieldError::new(format!("{field}.reference"), code, e))?;
        return artifact::parse_document(&bytes, "embedded/base64 artifact", &format!("{field}.reference"))
            .map(|v| Some(ArtifactInput::Document(v)));
    }
    let accounts = config.artifact_accounts().map_err(|problems| {
        let text = crate::core::config::describe(&problems);
        FieldError::new("artifacts", crate::core::artifact::INVALID_CODE, format!("the artifacts configuration is invalid: {text}"))
    })?;
    let account = artifact::choose_account(&accounts, artifact, d.task_definition_artifact_account.as_deref(), field)?;
    let fetch = artifact::fetch_of(account, artifact, field)?;
    Ok(Some(ArtifactInput::Download(Box::new(Download { artifact: artifact.clone(), account: account.clone(), fetch }))))
}
