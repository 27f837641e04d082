//! One attempt at creating the server group: under the cluster's allocation lock, observe, plan,
//! check the copies' names, and apply under the new server group's lock. A lost race for the
//! name comes back as [`Next::NameTaken`] with nothing left behind.

use tracing::warn;

use super::DeployOptions;
use super::apply::{ApplyFailure, apply};
use super::download::Download;
use super::observe::observe;
use super::outcome::DeployOutcome;
use super::source::{SourceReads, driving};
use crate::aws::Session;
use crate::core::error::{Error, Result};
use crate::core::plan::{self, DeployPlan, Observed};
use crate::core::request::DeployRequest;
use crate::engine::locks;

/// What one attempt at creating the server group came to.
pub(super) enum Next {
    /// `--plan`: the plan, nothing written.
    Planned(Box<DeployOutcome>),
    /// Created (with its plan, for what follows).
    Created(Box<DeployOutcome>, Box<DeployPlan>),
    /// Another deploy took this name first; nothing is left of this attempt.
    NameTaken(String),
}

/// What every attempt of one deploy shares.
pub(super) struct Attempt<'a, 'd, 'r> {
    pub(super) session: &'a Session,
    pub(super) source_session: Option<&'a Session>,
    pub(super) download: &'a Download<'d>,
    pub(super) reads: &'a SourceReads<'r>,
    pub(super) options: &'a DeployOptions,
}

impl Attempt<'_, '_, '_> {
    /// What AWS holds, read for the prepared request while its artifact downloads; read again
    /// for the downloaded one only when the artifact changes what is read.
    async fn observe(&self) -> Result<(Observed, DeployRequest)> {
        let scaling = || self.reads.scaling.clone();
        let observing = async {
            driving(observe(self.session, self.source_session, self.reads, self.download.prepared), scaling()).await.map_err(Error::from)
        };
        let (observed, req) = tokio::try_join!(observing, self.download.request())?;
        if self.download.same_observation(&req) {
            return Ok((observed, req));
        }
        Ok((driving(observe(self.session, self.source_session, self.reads, &req), scaling()).await?, req))
    }

    pub(super) async fn run(&self) -> Result<Next> {
        let (prepared, options) = (self.download.prepared, self.options);
        // One version allocation at a time per cluster (`serve` runs many deploys, maybe on several
        // replicas): from the read of the taken names until CreateService has taken the new one.
        let allocation_lock =
            locks::allocation(&prepared.account.name, &prepared.region, &prepared.ecs_cluster, &prepared.moniker.cluster());
        let allocation = if options.plan_only { None } else { Some(locks::take(&allocation_lock, "nothing was created").await?) };
        // The source's scaling is read on meanwhile (a shared future progresses only when polled).
        let (observed, req) = self.observe().await?;
        let mut plan = plan::plan(&req, &observed).map_err(Error::Invalid)?;
        for w in &plan.warnings {
            warn!("{w}");
        }
        self.reads.check_copy(&req, &observed, &plan).await?;
        let late = async { self.reads.revision_members(&req, &observed).await };
        if options.plan_only {
            plan.complete(late.await?);
            plan.scaling_copy = self.reads.copy_plan(&observed, &plan).await?;
            let mut outcome = DeployOutcome::planned(&plan, plan.scaling_copy.as_ref());
            outcome.plan = Some(plan);
            return Ok(Next::Planned(Box::new(outcome)));
        }
        // No other operation on the new server group (a destroy, a disable) until it is complete.
        let group_lock = locks::server_group(&plan.account, &plan.region, &plan.ecs_cluster_name, &plan.server_group_name);
        let group_lock = locks::take(&group_lock, "nothing was created").await?;
        let applied = apply(self.session, &plan, options, self.reads.copy_plan(&observed, &plan), late, allocation).await;
        drop(group_lock);
        match applied {
            Ok(outcome) => Ok(Next::Created(Box::new(outcome), Box::new(plan))),
            Err(ApplyFailure::NameTaken) => Ok(Next::NameTaken(plan.server_group_name)),
            Err(ApplyFailure::Error(e)) => Err(e),
        }
    }
}
