//! The Resource Groups Tagging API as an index of ECS services by tag (issue #30): a Spinnaker
//! cluster's services found by their moniker tags in a few GetResources pages instead of listing
//! every service of the ECS cluster.

use super::{Session, aws_error};
use crate::core::config::NamingStrategy;
use crate::core::error::AwsError;

/// A service the index found: (ECS cluster, service name, tags).
pub type Indexed = (String, String, Vec<(String, String)>);

/// The ECS cluster and service name of a long-format service ARN
/// (`arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME`); None for the short format.
fn cluster_and_name(arn: &str) -> Option<(String, String)> {
    let path = arn.split_once(":service/")?.1;
    let (cluster, name) = path.split_once('/')?;
    Some((cluster.to_string(), name.to_string()))
}

impl Session {
    /// The services the index finds tagged with application `app`, for the `tags` namer (the
    /// deploy's next version, the read API's application and cluster views). None — list the ECS
    /// cluster instead — under another namer, with the index turned off
    /// (`ECS_DEPLOYER_TAG_INDEX=off`), when the index refuses (a warning says why), or when it
    /// finds a short-format ARN.
    pub async fn application_index(&self, naming: NamingStrategy, app: &str) -> Option<Vec<Indexed>> {
        if naming != NamingStrategy::Tags || crate::core::settings::get().tag_index == crate::core::settings::TagIndex::Off {
            return None;
        }
        match self.services_tagged(crate::core::naming::TAG_APPLICATION, app).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!("the tag index did not answer ({e}); listing the ECS cluster's services instead");
                None
            }
        }
    }

    /// The ECS services carrying `key` = `value` (every page). None when one of them has a
    /// short-format ARN (its ECS cluster cannot be told: list instead).
    pub async fn services_tagged(&self, key: &str, value: &str) -> Result<Option<Vec<Indexed>>, AwsError> {
        use aws_sdk_resourcegroupstagging::types::TagFilter;
        let filter = TagFilter::builder().key(key).values(value).build();
        let mut pages = self
            .tagging
            .get_resources()
            .resource_type_filters("ecs:service")
            .tag_filters(filter)
            .resources_per_page(100)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("tag:GetResources", e))?;
            for resource in page.resource_tag_mapping_list() {
                let Some((cluster, name)) = resource.resource_arn().and_then(cluster_and_name) else { return Ok(None) };
                let tags = resource.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
                out.push((cluster, name, tags));
            }
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ecs_cluster_comes_from_a_long_arn_only() {
        let long = "arn:aws:ecs:us-west-2:123456789012:service/main/app-prod-v003";
        assert_eq!(super::cluster_and_name(long), Some(("main".into(), "app-prod-v003".into())));
        assert_eq!(super::cluster_and_name("arn:aws:ecs:us-west-2:123456789012:service/app-prod-v003"), None);
    }
}
