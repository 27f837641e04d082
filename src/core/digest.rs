//! Image digests of a server group (blue-green.md §9.1): which digest each container runs —
//! from the service revision ECS pinned, else the `ecs-deployer/digest/<n>` tags ecs-deployer
//! recorded, else an `@sha256:` reference in the task definition — and the verdict of ECR on
//! each. A missing, archived or restoring image refuses traffic to the group; an image outside
//! ECR, or with no digest recorded, is a warning, never a pass. Pure.

use serde_json::Value;

/// The tags recording a server group's digests: `ecs-deployer/digest/<n>` = `<container>@sha256:<hex>`.
pub const TAG_DIGEST: &str = "ecs-deployer/digest/";

/// A container of a server group and the digest it runs, when one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    pub container: String,
    pub image: String,
    pub digest: Option<String>,
}

/// An image in ECR: its registry (account id), region and repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EcrImage {
    pub registry_id: String,
    pub region: String,
    pub repository: String,
}

/// `<registryId>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]`; None for any
/// other registry (Docker Hub, public.ecr.aws, FIPS or dual-stack names).
pub fn ecr_image(image: &str) -> Option<EcrImage> {
    let (host, path) = image.split_once('/')?;
    let rest = host.strip_suffix(".amazonaws.com").or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let mut parts = rest.split('.');
    let (registry_id, dkr, ecr, region) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || dkr != "dkr" || ecr != "ecr" || registry_id.len() != 12 || !registry_id.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let repository = path.split('@').next().unwrap_or(path);
    let repository = match repository.rsplit_once(':') {
        Some((repo, _tag)) => repo,
        None => repository,
    };
    Some(EcrImage { registry_id: registry_id.into(), region: region.into(), repository: repository.into() })
}

/// The `sha256:<64 hex>` an image reference pins with `@`, if it does.
pub fn digest_in_image(image: &str) -> Option<String> {
    let (_, digest) = image.rsplit_once('@')?;
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| digest.to_string())
}

/// The ARNs of the revisions a DescribeServices entry names (`currentServiceRevisions`).
pub fn current_revision_arns(service: &Value) -> Vec<String> {
    let revisions = service.get("currentServiceRevisions").and_then(Value::as_array);
    revisions.into_iter().flatten().filter_map(|r| r.get("arn").and_then(Value::as_str)).map(str::to_string).collect()
}

/// A revision's `containerImages`: (container, digest).
pub fn revision_digests(revision: &Value) -> Vec<(String, String)> {
    let images = revision.get("containerImages").and_then(Value::as_array);
    images
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.get("containerName")?.as_str()?.to_string(), c.get("imageDigest")?.as_str()?.to_string())))
        .collect()
}

/// The digests recorded in the service's tags: (container, digest).
pub fn tag_digests(tags: &[(String, String)]) -> Vec<(String, String)> {
    tags.iter()
        .filter(|(k, _)| k.starts_with(TAG_DIGEST))
        .filter_map(|(_, v)| v.split_once('@').map(|(c, d)| (c.to_string(), d.to_string())))
        .collect()
}

/// The tags that record `pinned` (containers with a digest; a value over 256 characters is skipped).
pub fn digest_tags(pinned: &[Pinned]) -> Vec<(String, String)> {
    pinned
        .iter()
        .filter_map(|p| Some(format!("{}@{}", p.container, p.digest.as_ref()?)))
        .filter(|v| v.len() <= 256)
        .enumerate()
        .map(|(i, v)| (format!("{TAG_DIGEST}{i}"), v))
        .collect()
}

/// Each container of the task definition (name, image) with its digest: the revision's, else a
/// tag's, else the image's own `@sha256:`.
pub fn pinned(containers: &[(String, String)], revision: &[(String, String)], tags: &[(String, String)]) -> Vec<Pinned> {
    let find = |list: &[(String, String)], name: &str| list.iter().find(|(c, _)| c == name).map(|(_, d)| d.clone());
    containers
        .iter()
        .map(|(container, image)| Pinned {
            container: container.clone(),
            image: image.clone(),
            digest: find(revision, container).or_else(|| find(tags, container)).or_else(|| digest_in_image(image)),
        })
        .collect()
}

/// What ECR says of a pinned digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Active,
    Archived,
    Activating,
    Missing,
    /// Not checked, and why (not ECR, another region, access denied, …).
    Unchecked(String),
    /// No digest recorded anywhere.
    Unknown,
}

impl Found {
    /// ECR's `imageStatus` (absent: ACTIVE, as before archiving existed).
    pub fn of_status(status: Option<&str>) -> Found {
        match status {
            Some("ARCHIVED") => Found::Archived,
            Some("ACTIVATING") => Found::Activating,
            _ => Found::Active,
        }
    }
}

/// A refusal naming every container whose image cannot be pulled, with the remedy; None when
/// every image can be.
pub fn refusal(server_group: &str, checked: &[(Pinned, Found)]) -> Option<String> {
    let lines: Vec<String> = checked
        .iter()
        .filter_map(|(p, found)| {
            let what = format!("container {} ({}, {})", p.container, p.image, p.digest.as_deref().unwrap_or("?"));
            let repository = ecr_image(&p.image).map(|e| e.repository).unwrap_or_default();
            let digest = p.digest.as_deref().unwrap_or_default();
            match found {
                Found::Missing => Some(format!("{what}: the image is gone from ECR; redeploy {server_group}'s version from its artifact")),
                Found::Archived => Some(format!(
                    "{what}: the image is archived; restore it with `aws ecr update-image-storage-class --repository-name {repository} --image-id imageDigest={digest} --target-storage-class STANDARD`, then wait until it is ACTIVE"
                )),
                Found::Activating => Some(format!("{what}: the image is being restored from the archive; wait until it is ACTIVE")),
                _ => None,
            }
        })
        .collect();
    (!lines.is_empty()).then(|| format!("{server_group} cannot serve: {}; or --force", lines.join("; ")))
}

/// The warnings of a check: images not checked, digests unknown.
pub fn warnings(server_group: &str, checked: &[(Pinned, Found)]) -> Vec<String> {
    checked
        .iter()
        .filter_map(|(p, found)| match found {
            Found::Unchecked(why) => Some(format!("{server_group}: image of container {} ({}) unchecked: {why}", p.container, p.image)),
            Found::Unknown => Some(format!("{server_group}: no digest recorded for container {} ({}); not checked", p.container, p.image)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn ecr_images_are_told_from_others() {
        let e = ecr_image("123456789012.dkr.ecr.us-west-2.amazonaws.com/team/web:1.2").unwrap();
        assert_eq!((e.registry_id.as_str(), e.region.as_str(), e.repository.as_str()), ("123456789012", "us-west-2", "team/web"));
        assert_eq!(ecr_image(&format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com.cn/web@sha256:{HEX}")).unwrap().repository, "web");
        for other in ["nginx:1", "public.ecr.aws/nginx/nginx", "ghcr.io/a/b", "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/web"] {
            assert_eq!(ecr_image(other), None, "{other}");
        }
        assert_eq!(digest_in_image(&format!("web@sha256:{HEX}")), Some(format!("sha256:{HEX}")));
        assert_eq!(digest_in_image("web@sha256:abc"), None);
    }

    #[test]
    fn the_digest_comes_from_the_revision_then_the_tags_then_the_image() {
        let containers =
            [("web".to_string(), "r/web:1".to_string()), ("log".into(), format!("r/log@sha256:{HEX}")), ("x".into(), "x".into())];
        let revision =
            revision_digests(&json!({"containerImages": [{"containerName": "web", "image": "r/web:1", "imageDigest": "sha256:aa"}]}));
        let tags = tag_digests(&[("ecs-deployer/digest/0".into(), "web@sha256:bb".into()), ("team".into(), "a".into())]);
        let p = pinned(&containers, &revision, &tags);
        assert_eq!(p[0].digest.as_deref(), Some("sha256:aa"), "the revision wins");
        assert_eq!(p[1].digest, Some(format!("sha256:{HEX}")));
        assert_eq!(p[2].digest, None);
        assert_eq!(pinned(&containers[..1], &[], &tags)[0].digest.as_deref(), Some("sha256:bb"));
        assert_eq!(
            digest_tags(&p),
            [
                ("ecs-deployer/digest/0".to_string(), "web@sha256:aa".to_string()),
                ("ecs-deployer/digest/1".into(), format!("log@sha256:{HEX}"))
            ]
        );
        let checked = vec![(p[0].clone(), Found::Missing), (p[1].clone(), Found::Archived), (p[2].clone(), Found::Unknown)];
        let refused = refusal("app-v001", &checked).unwrap();
        assert!(
            refused.contains("container web (r/web:1, sha256:aa): the image is gone from ECR")
                && refused.contains("update-image-storage-class"),
            "{refused}"
        );
        assert_eq!(warnings("app-v001", &checked).len(), 1);
        assert_eq!(refusal("app-v001", &[(p[0].clone(), Found::Active)]), None);
    }
}
