//! Read-only look-ups a deploy resolves names with: subnets and security groups (EC2), target
//! groups (ELBv2) and IAM roles.

use aws_sdk_ec2::types::Filter;
use futures::future::try_join_all;

use super::{Session, aws_error};
use crate::core::error::AwsError;
use crate::core::model::{Role, SecurityGroup, Subnet};

impl Session {
    /// Subnets in the given availability zones, with their tags.
    pub async fn describe_subnets(&self, zones: &[String]) -> Result<Vec<Subnet>, AwsError> {
        let mut subnets = Vec::new();
        let filter = Filter::builder().name("availability-zone").set_values(Some(zones.to_vec())).build();
        let mut pages = self.ec2.describe_subnets().filters(filter).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("ec2:DescribeSubnets", e))?;
            subnets.extend(page.subnets().iter().map(|s| Subnet {
                subnet_id: s.subnet_id().unwrap_or_default().to_string(),
                vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                availability_zone: s.availability_zone().unwrap_or_default().to_string(),
                tags:
                    s.tags().iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())).collect(),
            }));
        }
        Ok(subnets)
    }

    /// Security groups with any of `names`, in any VPC (the plan keeps those in the subnets' VPCs).
    pub async fn describe_security_groups(&self, names: &[String]) -> Result<Vec<SecurityGroup>, AwsError> {
        let mut groups = Vec::new();
        let filter = Filter::builder().name("group-name").set_values(Some(names.to_vec())).build();
        let mut pages = self.ec2.describe_security_groups().filters(filter).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("ec2:DescribeSecurityGroups", e))?;
            groups.extend(page.security_groups().iter().map(|g| SecurityGroup {
                group_id: g.group_id().unwrap_or_default().to_string(),
                group_name: g.group_name().unwrap_or_default().to_string(),
                vpc_id: g.vpc_id().unwrap_or_default().to_string(),
            }));
        }
        Ok(groups)
    }

    /// ARNs of the target groups named `name` (none when AWS says TargetGroupNotFound).
    pub async fn target_group_arns(&self, name: &str) -> Result<Vec<String>, AwsError> {
        match self.elb.describe_target_groups().names(name).send().await {
            Ok(out) => Ok(out.target_groups().iter().filter_map(|t| t.target_group_arn().map(str::to_string)).collect()),
            Err(e) => {
                let err = aws_error("elasticloadbalancing:DescribeTargetGroups", e);
                if err.is("TargetGroupNotFound") || err.is("TargetGroupNotFoundException") { Ok(Vec::new()) } else { Err(err) }
            }
        }
    }

    /// ARNs of several target groups by name, all looked up at once.
    pub async fn target_groups(&self, names: &[String]) -> Result<Vec<(String, Vec<String>)>, AwsError> {
        try_join_all(names.iter().map(|n| async move { Ok::<_, AwsError>((n.clone(), self.target_group_arns(n).await?)) })).await
    }

    /// The IAM role named `name`, None when it does not exist.
    pub async fn get_role(&self, name: &str) -> Result<Option<Role>, AwsError> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(out) => Ok(out.role().map(|r| Role {
                arn: r.arn().to_string(),
                assume_role_policy_document: r
                    .assume_role_policy_document()
                    .map(|d| percent_encoding::percent_decode_str(d).decode_utf8_lossy().into_owned())
                    .unwrap_or_default(),
            })),
            Err(e) => {
                let err = aws_error("iam:GetRole", e);
                if err.is("NoSuchEntity") { Ok(None) } else { Err(err) }
            }
        }
    }

    /// The targets of a target group and their health.
    pub async fn target_health(&self, target_group_arn: &str) -> Result<Vec<crate::core::model::TargetHealth>, AwsError> {
        let out = self
            .elb
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .map_err(|e| aws_error("elasticloadbalancing:DescribeTargetHealth", e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(|d| crate::core::model::TargetHealth {
                target_group_arn: target_group_arn.to_string(),
                id: d.target().and_then(|t| t.id()).unwrap_or_default().to_string(),
                port: d.target().and_then(|t| t.port()),
                state: d.target_health().and_then(|h| h.state()).map(|s| s.as_str().to_string()).unwrap_or_default(),
            })
            .collect())
    }

    /// The account the session's credentials belong to (STS GetCallerIdentity).
    pub async fn caller_account(&self) -> Result<String, AwsError> {
        let out = self.sts.get_caller_identity().send().await.map_err(|e| aws_error("sts:GetCallerIdentity", e))?;
        Ok(out.account().unwrap_or_default().to_string())
    }

    /// The ECS cluster's status, capacity providers and container instances; None when it does not exist.
    pub async fn describe_ecs_cluster(&self, name: &str) -> Result<Option<crate::core::model::ClusterInfo>, AwsError> {
        let out = self.ecs.describe_clusters().clusters(name).send().await.map_err(|e| aws_error("ecs:DescribeClusters", e))?;
        let Some(c) = out.clusters().first() else { return Ok(None) };
        let mut info = crate::core::model::ClusterInfo {
            status: c.status().unwrap_or_default().to_string(),
            capacity_providers: c.capacity_providers().to_vec(),
            container_instances: Vec::new(),
        };
        let arns = self
            .ecs
            .list_container_instances()
            .cluster(name)
            .send()
            .await
            .map_err(|e| aws_error("ecs:ListContainerInstances", e))?
            .container_instance_arns
            .unwrap_or_default();
        if !arns.is_empty() {
            let out = self
                .ecs
                .describe_container_instances()
                .cluster(name)
                .set_container_instances(Some(arns))
                .send()
                .await
                .map_err(|e| aws_error("ecs:DescribeContainerInstances", e))?;
            let value = |rs: &[aws_sdk_ecs::types::Resource], n: &str| {
                rs.iter().find(|r| r.name() == Some(n)).map(|r| r.integer_value() as i64).unwrap_or(0)
            };
            info.container_instances = out
                .container_instances()
                .iter()
                .filter(|ci| ci.status() == Some("ACTIVE"))
                .map(|ci| {
                    (
                        value(ci.registered_resources(), "CPU"),
                        value(ci.remaining_resources(), "CPU"),
                        value(ci.registered_resources(), "MEMORY"),
                        value(ci.remaining_resources(), "MEMORY"),
                    )
                })
                .collect();
        }
        Ok(Some(info))
    }

    /// The VPC of each of `subnet_ids`.
    pub async fn subnet_vpcs(&self, subnet_ids: &[String]) -> Result<Vec<(String, String)>, AwsError> {
        if subnet_ids.is_empty() {
            return Ok(Vec::new());
        }
        let out = self
            .ec2
            .describe_subnets()
            .set_subnet_ids(Some(subnet_ids.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("ec2:DescribeSubnets", e))?;
        Ok(out.subnets().iter().filter_map(|s| Some((s.subnet_id()?.to_string(), s.vpc_id()?.to_string()))).collect())
    }
}
