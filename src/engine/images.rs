//! Before traffic goes to a server group — enable, a resize up from 0, a rollback onto it, a
//! shift towards it — its images must still exist (blue-green.md §9.1): the digests it runs
//! (`core::digest`) are checked with ECR. A missing, archived or restoring image refuses the
//! operation before any write, naming container, image and digest; `force` goes on, and the
//! task's history says what was overridden.

use std::collections::BTreeMap;

use tracing::warn;

use crate::aws::Session;
use crate::core::digest::{self, EcrImage, Found, Pinned};
use crate::core::error::{Error, Result};
use crate::engine::journal as status;

/// Checks the images of `name`; the warnings (images not checked, digests unknown, a refusal
/// forced past), or the refusal.
pub async fn check(session: &Session, ecs_cluster: &str, name: &str, force: bool) -> Result<Vec<String>> {
    let Some((service, raw)) = session.describe_service_whole(ecs_cluster, name).await? else { return Ok(Vec::new()) };
    let revisions = digest::current_revision_arns(&raw);
    let revision = async {
        if revisions.is_empty() {
            return Vec::new();
        }
        // No revision (refused, missing): the tags and the task definition still answer.
        match session.describe_service_revisions(&revisions).await {
            Ok((found, _)) => found.iter().flat_map(digest::revision_digests).collect(),
            Err(_) => Vec::new(),
        }
    };
    let (containers, revision) = tokio::join!(session.task_definition_images(&service.task_definition), revision);
    let pinned = digest::pinned(&containers?, &revision, &digest::tag_digests(&service.tags));
    let checked = in_ecr(session, pinned).await;
    let mut warnings = digest::warnings(name, &checked);
    if let Some(refusal) = digest::refusal(name, &checked) {
        if !force {
            return Err(Error::invalid("serverGroupName", "image.unavailable", refusal));
        }
        let line = format!("forced past the image check: {refusal}");
        warn!("{line}");
        status::status(&line);
        warnings.push(line);
    }
    for w in &warnings {
        warn!("{w}");
    }
    Ok(warnings)
}

/// Records the digests a new server group runs once it is healthy (`ecs-deployer/digest/<n>`
/// tags from its service revision), so a later enable can check them after the revision is gone
/// or unreadable; the warnings when it cannot.
pub async fn record(session: &Session, ecs_cluster: &str, name: &str) -> Vec<String> {
    let result = async {
        let Some((service, raw)) = session.describe_service_whole(ecs_cluster, name).await? else { return Ok(0) };
        let revisions = digest::current_revision_arns(&raw);
        if revisions.is_empty() {
            return Ok(0);
        }
        let (found, _) = session.describe_service_revisions(&revisions).await?;
        let pinned: Vec<Pinned> = found
            .iter()
            .flat_map(digest::revision_digests)
            .map(|(container, d)| Pinned { container, image: String::new(), digest: Some(d) })
            .collect();
        let tags = digest::digest_tags(&pinned);
        if !tags.is_empty() {
            session.tag_resource(&service.service_arn, &tags).await?;
        }
        Ok::<_, crate::core::error::AwsError>(tags.len())
    };
    match result.await {
        Ok(_) => Vec::new(),
        Err(e) => vec![format!("could not record the image digests of {name} ({e}); a later enable checks its task definition's images")],
    }
}

/// ECR's verdict on each pinned digest, one DescribeImages per repository (all at once).
async fn in_ecr(session: &Session, pinned: Vec<Pinned>) -> Vec<(Pinned, Found)> {
    let mut by_repository: BTreeMap<EcrImage, Vec<String>> = BTreeMap::new();
    for p in &pinned {
        if let (Some(e), Some(d)) = (digest::ecr_image(&p.image), &p.digest)
            && e.region == session.region
        {
            by_repository.entry(e).or_default().push(d.clone());
        }
    }
    let answers = futures::future::join_all(
        by_repository
            .iter()
            .map(|(e, digests)| async move { (e.clone(), session.image_statuses(&e.registry_id, &e.repository, digests).await) }),
    )
    .await;
    pinned
        .into_iter()
        .map(|p| {
            let found = match (digest::ecr_image(&p.image), &p.digest) {
                (None, _) => Found::Unchecked("not an ECR image".into()),
                (Some(_), None) => Found::Unknown,
                (Some(e), Some(_)) if e.region != session.region => Found::Unchecked(format!("in ECR of {}", e.region)),
                (Some(e), Some(d)) => match answers.iter().find(|(r, _)| *r == e).map(|(_, a)| a) {
                    Some(Ok(statuses)) => match statuses.iter().find(|(s, _)| s == d) {
                        Some((_, Some(status))) => Found::of_status(status.as_deref()),
                        _ => Found::Missing,
                    },
                    Some(Err(error)) => Found::Unchecked(error.to_string()),
                    None => Found::Unknown,
                },
            };
            (p, found)
        })
        .collect()
}
