//! Observing AWS for a deploy: every read the plan needs, all at once, reads only — the ECS
//! cluster's taken names, the source server group, the task role, subnets, security groups,
//! target groups and whether the account can tag services.

use super::source::SourceReads;
use crate::aws::Session;
use crate::core::config::NamingStrategy;
use crate::core::error::AwsError;
use crate::core::model::{Alarm, ResourceId, ScalableTarget, ServiceState};
use crate::core::naming;
use crate::core::plan::merge::Revision;
use crate::core::plan::{Observed, SourceService};
use crate::core::request::{DeployRequest, SourceRef};

/// The ECS cluster's services as the namer needs them: the listed names, and for the tags
/// namer the tags of those that may belong to the cluster.
type Services = (Vec<String>, Vec<(String, Vec<(String, String)>)>);

/// Lists the ECS cluster's services (and, for the tags namer, describes the ones that may carry
/// moniker tags). ListServices returns exactly the ACTIVE and DRAINING services — the names that
/// are taken — so no per-candidate probe is needed; a name taken between this list and
/// CreateService is caught by CreateService's "not idempotent" answer.
async fn observe_services(session: &Session, req: &DeployRequest) -> Result<Services, AwsError> {
    let strategy = req.account.naming_strategy;
    if let Some(indexed) = session.application_index(strategy, &req.moniker.app).await {
        return indexed_services(session, req, indexed).await;
    }
    let listed = session.list_service_names(&req.ecs_cluster).await?;
    let tagged = match strategy {
        NamingStrategy::Default => Vec::new(),
        NamingStrategy::Tags => {
            let maybe: Vec<String> = listed.iter().filter(|n| naming::may_belong(&req.moniker, strategy, n)).cloned().collect();
            session.describe_services(&req.ecs_cluster, &maybe, true).await?.into_iter().map(|s| (s.service_name, s.tags)).collect()
        }
    };
    Ok((listed, tagged))
}

/// Under the tags namer, the cluster's services from the tag index (issue #30): the services
/// tagged with the application (GetResources, a page per 100), their versions, and the next
/// candidates checked in one DescribeServices — two dependent round trips however many services
/// the ECS cluster has. A name taken meanwhile (the index lags) is caught by CreateService's
/// "not idempotent" answer and the name race.
async fn indexed_services(session: &Session, req: &DeployRequest, found: Vec<crate::aws::Indexed>) -> Result<Services, AwsError> {
    let mut tagged: Vec<(String, Vec<(String, String)>)> =
        found.into_iter().filter(|(cluster, _, _)| *cluster == req.ecs_cluster).map(|(_, name, tags)| (name, tags)).collect();
    let taken = naming::taken_versions(&req.moniker, NamingStrategy::Tags, tagged.iter().map(|(n, t)| (n.as_str(), t.as_slice())));
    let candidates: Vec<String> =
        crate::core::moniker::candidate_versions(&taken).into_iter().map(|v| req.moniker.server_group(v)).collect();
    let live = session.describe_services(&req.ecs_cluster, &candidates, true).await?;
    for s in live.into_iter().filter(|s| s.status != "INACTIVE") {
        if !tagged.iter().any(|(n, _)| *n == s.service_name) {
            tagged.push((s.service_name, s.tags));
        }
    }
    Ok((tagged.iter().map(|(n, _)| n.clone()).collect(), tagged))
}

/// What is read of the source server group: its scalable target, its service (typed), and the
/// service read whole for the merge (its revision still being read).
type Source = (Option<ScalableTarget>, Option<ServiceState>, Option<SourceService>, Vec<Alarm>);

/// Reads the source server group: its scalable target, and its service read whole (shared with
/// the read of its revision, which runs on beside what follows).
async fn observe_source(session: &Session, src: &SourceRef, reads: &SourceReads<'_>) -> Result<Source, AwsError> {
    let resource_id = ResourceId::of(&src.ecs_cluster_name, &src.server_group_name).to_string();
    let (target, service, alarms) =
        tokio::try_join!(session.describe_scalable_target(&resource_id), reads.service.clone(), reads.deployment_alarms.clone())?;
    let (state, whole) = match service {
        Some((state, raw)) => {
            (Some(state), Some(SourceService { service: raw.as_object().cloned().unwrap_or_default(), revision: Revision::Pending }))
        }
        None => (None, None),
    };
    Ok((target, state, whole, alarms))
}

/// Observes everything the plan needs, all reads at once.
pub(super) async fn observe(
    session: &Session,
    source_session: Option<&Session>,
    reads: &SourceReads<'_>,
    req: &DeployRequest,
) -> Result<Observed, AwsError> {
    let d = &req.service;
    let awsvpc = req.is_awsvpc();
    let source = async {
        match (source_session, &req.source) {
            (Some(s), Some(src)) => observe_source(s, src, reads).await,
            _ => Ok((None, None, None, Vec::new())),
        }
    };
    let role = async {
        match req.iam_role_to_resolve() {
            Some(name) => session.get_role(name).await.map(Some),
            None => Ok(None),
        }
    };
    let awsvpc = awsvpc && d.network_configuration.is_none();
    let subnets = async { if awsvpc && !d.subnet_purposes.is_empty() { session.describe_subnets(&d.zones).await } else { Ok(Vec::new()) } };
    let security_groups = async {
        if awsvpc && !d.security_group_names.is_empty() {
            session.describe_security_groups(&d.security_group_names).await
        } else {
            Ok(Vec::new())
        }
    };
    let target_group_names = req.target_group_names();
    let (
        (listed_services, tagged_services),
        (source_target, source_service, source_whole, source_deployment_alarms),
        task_role,
        tagging_enabled,
        target_groups,
        subnets,
        security_groups,
    ) = tokio::try_join!(
        observe_services(session, req),
        source,
        role,
        session.tagging_enabled(),
        session.target_groups(&target_group_names),
        subnets,
        security_groups,
    )?;
    let started_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default();
    Ok(Observed {
        started_at,
        deploy_id: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
        listed_services,
        tagged_services,
        source_service,
        source_whole,
        source_deployment_alarms,
        source_target,
        task_role,
        tagging_enabled,
        target_groups,
        subnets,
        security_groups,
    })
}
