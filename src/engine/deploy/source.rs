//! The reads of the source server group's scaling, started once and shared: they begin with the
//! other observations (they are the longest chain of reads) and are awaited only by what needs
//! them — the check of the copies' names before the first write, and the copy plan after the
//! scalable target exists. A shared read only progresses while polled: [`driving`] polls it
//! alongside the work that comes first.

use futures::FutureExt;

use crate::aws::Session;
use crate::core::error::{AwsError, Error, Result};
use crate::core::model::ServiceState;
use crate::core::model::{Alarm, ResourceId};
use crate::core::plan::merge::{Revision, RevisionMembers};
use crate::core::plan::{self, DeployPlan, Observed, alarms, merge};
use crate::core::request::{DeployRequest, SourceRef};
use crate::core::scaling::{self, ScalingCopyPlan, SourceScaling};
use serde_json::Value;

/// A read started once and awaited by several.
pub(super) type SharedRead<'a, T> = futures::future::Shared<futures::future::LocalBoxFuture<'a, std::result::Result<T, AwsError>>>;

/// The source's scaling: `copy_names` (policies and scheduled actions: the names of everything
/// the copy creates — AWS lists a step policy's alarms in its `Alarms`) and `scaling`
/// (everything, with the alarms of its step policies). None when nothing is copied.
pub(super) struct SourceReads<'a> {
    copy_names: SharedRead<'a, Option<SourceScaling>>,
    pub(super) scaling: SharedRead<'a, Option<SourceScaling>>,
    /// The source's service read whole (typed, and its raw DescribeServices entry).
    pub(super) service: SharedRead<'a, Option<(ServiceState, Value)>>,
    /// Its current service revision, read once the service is (when its settings are copied).
    revision: SharedRead<'a, Revision>,
    /// The metric alarms its enabled deployment alarms name (when its settings are copied and the
    /// description does not set its own).
    pub(super) deployment_alarms: SharedRead<'a, Vec<Alarm>>,
}

fn resource_id(src: &SourceRef) -> String {
    ResourceId::of(&src.ecs_cluster_name, &src.server_group_name).to_string()
}

/// What is read of the source's scaling, as one value.
fn source_scaling(src: &SourceRef, policies: Vec<Value>, alarms: Vec<Alarm>, scheduled_actions: Vec<Value>) -> SourceScaling {
    SourceScaling {
        resource_id: resource_id(src),
        service_name: src.server_group_name.clone(),
        region: src.region.clone(),
        account_id: src.account_id.clone(),
        policies,
        alarms,
        scheduled_actions,
    }
}

/// The alarms that drive the source's step policies.
async fn source_alarms(session: &Session, policies: &[Value]) -> std::result::Result<Vec<Alarm>, AwsError> {
    let (alarm_names, action_prefixes) = scaling::alarm_lookups(policies);
    if alarm_names.is_empty() && action_prefixes.is_empty() {
        return Ok(Vec::new());
    }
    session.describe_alarms(&alarm_names, &action_prefixes).await
}

/// The source's current service revision: `Missing` when AWS has none (a service from before
/// revisions), `Unreadable` when the API refuses (the merge says once what that leaves unknown).
async fn revision(session: &Session, service: &Value) -> Revision {
    let arns = merge::revision_arns(service);
    if arns.is_empty() {
        return Revision::Missing;
    }
    match session.describe_service_revisions(&arns[..1]).await {
        Ok((found, _)) => match found.into_iter().next().and_then(|r| r.as_object().cloned()) {
            Some(r) => Revision::Read(r),
            None => Revision::Missing,
        },
        Err(e) => Revision::Unreadable(e.to_string()),
    }
}

/// Starts (lazily: on the first poll) the reads of the source: its service and revision, and
/// its scaling.
pub(super) fn source_reads<'a>(req: &'a DeployRequest, session: Option<&'a Session>) -> SourceReads<'a> {
    let of_source = session.zip(req.source.as_ref());
    let service: SharedRead<'a, Option<(ServiceState, Value)>> = async move {
        match of_source {
            Some((s, src)) => s.describe_service_whole(&src.ecs_cluster_name, &src.server_group_name).await,
            None => Ok(None),
        }
    }
    .boxed_local()
    .shared();
    let deployment_alarms = {
        let service = service.clone();
        let copies = req.service.copy_source_settings && req.service.explicit("deploymentConfiguration.alarms").is_none();
        async move {
            let names = match (of_source, service.await?) {
                (Some((s, _)), Some((_, raw))) if copies => Some((s, alarms::enabled_alarm_names(&raw))),
                _ => None,
            };
            match names {
                Some((s, names)) if !names.is_empty() => s.describe_alarms(&names, &[]).await,
                _ => Ok(Vec::new()),
            }
        }
        .boxed_local()
        .shared()
    };
    let revision = {
        let service = service.clone();
        let copies = req.service.copy_source_settings;
        async move {
            Ok(match (of_source, service.await?) {
                (Some((s, _)), Some((_, raw))) if copies => self::revision(s, &raw).await,
                _ => Revision::Unknown,
            })
        }
        .boxed_local()
        .shared()
    };
    let from = session.filter(|_| req.copies_scaling).zip(req.source.as_ref());
    let policies: SharedRead<'a, Option<Vec<Value>>> = async move {
        match from {
            Some((s, src)) => s.describe_scaling_policies(&resource_id(src)).await.map(Some),
            None => Ok(None),
        }
    }
    .boxed_local()
    .shared();
    let scheduled: SharedRead<'a, Vec<Value>> = async move {
        match from {
            Some((s, src)) => s.describe_scheduled_actions(&resource_id(src)).await,
            None => Ok(Vec::new()),
        }
    }
    .boxed_local()
    .shared();
    let alarms: SharedRead<'a, Vec<Alarm>> = {
        let policies = policies.clone();
        async move {
            match (from, policies.await?) {
                (Some((s, _)), Some(policies)) => source_alarms(s, &policies).await,
                _ => Ok(Vec::new()),
            }
        }
        .boxed_local()
        .shared()
    };
    let copy_names = {
        let (policies, scheduled) = (policies.clone(), scheduled.clone());
        async move {
            let (policies, scheduled) = tokio::try_join!(policies, scheduled)?;
            Ok(policies.zip(from).map(|(policies, (_, src))| source_scaling(src, policies, Vec::new(), scheduled)))
        }
        .boxed_local()
        .shared()
    };
    let scaling = async move {
        let (policies, alarms, scheduled) = tokio::try_join!(policies, alarms, scheduled)?;
        Ok(policies.zip(from).map(|(policies, (_, src))| source_scaling(src, policies, alarms, scheduled)))
    }
    .boxed_local()
    .shared();
    SourceReads { copy_names, scaling, service, revision, deployment_alarms }
}

impl SourceReads<'_> {
    /// The members of the source's revision for `plan` (see [`merge::revision_members`]), once
    /// it is read.
    pub(super) async fn revision_members(
        &self,
        req: &DeployRequest,
        observed: &Observed,
    ) -> std::result::Result<RevisionMembers, AwsError> {
        let revision = self.revision.clone().await?;
        Ok(merge::revision_members(&req.service, observed.source_whole.as_ref(), &revision))
    }

    /// Refuses, before the first write, a copy whose name would break an AWS limit, or whose
    /// 20-second target tracking the new version would not publish the metrics for (only then
    /// is the source's revision awaited before the first write).
    pub(super) async fn check_copy(&self, req: &DeployRequest, observed: &Observed, plan: &DeployPlan) -> Result<()> {
        if observed.source_target.is_none() {
            return Ok(());
        }
        if let Some(source) = driving(self.copy_names.clone(), self.scaling.clone()).await? {
            let mut errors = scaling::name_limit_errors(&source, &plan.server_group_name);
            if merge::tracks_high_resolution(&source.policies) {
                let late = driving(self.revision_members(req, observed), self.scaling.clone()).await?;
                errors.extend(merge::monitoring_problems(&plan.create_service.settings, &late, &source.policies));
            }
            if !errors.is_empty() {
                return Err(Error::Invalid(errors));
            }
        }
        Ok(())
    }

    /// The copy of the source's scaling onto `plan`'s server group, computed by the core once
    /// the source's scaling is read; None when there is nothing to copy.
    pub(super) async fn copy_plan(&self, observed: &Observed, plan: &DeployPlan) -> std::result::Result<Option<ScalingCopyPlan>, AwsError> {
        if observed.source_target.is_none() {
            return Ok(None);
        }
        Ok(self.scaling.clone().await?.map(|source| plan::scaling_copy(plan, &source)))
    }
}

/// Awaits `main` while also polling `alongside` (a shared read that is awaited later).
pub(super) async fn driving<T>(main: impl Future<Output = T>, alongside: impl Future) -> T {
    tokio::pin!(main);
    tokio::pin!(alongside);
    let mut done = false;
    loop {
        tokio::select! {
            out = &mut main => return out,
            _ = &mut alongside, if !done => done = true,
        }
    }
}
