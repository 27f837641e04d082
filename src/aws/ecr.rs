//! ECR: the status of pinned image digests (blue-green.md §9.1) — DescribeImages by digest with
//! `imageStatus: ANY` (archived images included), re-asked one digest at a time when ECR fails
//! the whole call for one missing image.

use aws_sdk_ecr::types::{DescribeImagesFilter, ImageIdentifier, ImageStatusFilter};

use super::{Session, aws_error};
use crate::core::error::AwsError;

impl Session {
    /// The status of each digest in `repository` of `registry_id` (this session's region): None
    /// when ECR does not have it, else `Some(imageStatus)` (`Some(None)`: ECR reports no status).
    pub async fn image_statuses(
        &self,
        registry_id: &str,
        repository: &str,
        digests: &[String],
    ) -> Result<Vec<(String, Option<Option<String>>)>, AwsError> {
        match self.describe_digests(registry_id, repository, digests).await {
            Ok(found) => Ok(digests.iter().map(|d| (d.clone(), found.iter().find(|(f, _)| f == d).map(|(_, s)| s.clone()))).collect()),
            Err(e) if e.is("RepositoryNotFoundException") => Ok(digests.iter().map(|d| (d.clone(), None)).collect()),
            Err(e) if e.is("ImageNotFoundException") => {
                let mut out = Vec::new();
                for d in digests {
                    let one = match self.describe_digests(registry_id, repository, std::slice::from_ref(d)).await {
                        Ok(found) => found.into_iter().next().map(|(_, s)| s),
                        Err(e) if e.is("ImageNotFoundException") => None,
                        Err(e) => return Err(e),
                    };
                    out.push((d.clone(), one));
                }
                Ok(out)
            }
            Err(e) => Err(e),
        }
    }

    async fn describe_digests(
        &self,
        registry_id: &str,
        repository: &str,
        digests: &[String],
    ) -> Result<Vec<(String, Option<String>)>, AwsError> {
        let ids: Vec<ImageIdentifier> = digests.iter().map(|d| ImageIdentifier::builder().image_digest(d).build()).collect();
        let out = self
            .ecr
            .describe_images()
            .registry_id(registry_id)
            .repository_name(repository)
            .set_image_ids(Some(ids))
            .filter(DescribeImagesFilter::builder().image_status(ImageStatusFilter::Any).build())
            .send()
            .await
            .map_err(|e| aws_error("ecr:DescribeImages", e))?;
        Ok(out
            .image_details()
            .iter()
            .filter_map(|i| Some((i.image_digest()?.to_string(), i.image_status().map(|s| s.as_str().to_string()))))
            .collect())
    }
}
