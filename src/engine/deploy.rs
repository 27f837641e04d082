//! The createServerGroup operation, as an imperative shell around the pure core: validate the
//! description, open the AWS sessions, observe (reads only, all at once), `plan`, and apply the
//! plan in order — register the task definition, create the service, register the scalable
//! target. A failure after anything was created removes what this deploy created (unless the
//! user keeps it) and says exactly what exists. The previous server group is only ever read.

use std::time::Duration;

use futures::FutureExt;
use futures::future::try_join_all;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::aws::Session;
use crate::core::config::{Account, Config};
use crate::core::description::CreateServerGroup;
use crate::core::error::{AwsError, Error, Result};
use crate::core::model::ResourceId;
use crate::core::model::{ScalableTarget, ServiceState};
use crate::core::plan::{self, DeployPlan, Observed, TASK_DEFINITION_ARN};
use crate::core::request::{self, DeployRequest, Inputs, SourceRef};
use crate::core::scaling::{self, ScalingCopyPlan, Skipped, SourceScaling};
use crate::core::strategy::{self, Peer, Step, Strategy, StrategyOptions};
use crate::engine::artifacts;
use crate::engine::journal;
use crate::engine::lifecycle::{self, OperationResult, Progress};
use crate::engine::locks;

/// How a deploy runs.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// Compute and return the plan; write nothing.
    pub plan_only: bool,
    /// Leave a server group that failed half-way in place instead of removing it.
    pub keep_failed: bool,
    /// `--artifact FILE`'s JSON.
    pub artifact: Option<Value>,
    /// `--image CONTAINER=IMAGE` entries.
    pub images: Vec<(String, String)>,
    /// `--strategy`; else the description's `strategy`.
    pub strategy: Option<String>,
    /// Wait until the new server group is healthy (the strategies always do).
    pub wait: bool,
    /// How long to wait; zero means the default of 10 minutes.
    pub timeout: Duration,
}

/// The scalable target registered for the new server group.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalableTargetResult {
    pub resource_id: String,
    pub min_capacity: i64,
    pub max_capacity: i64,
}

/// One copied policy, alarm or scheduled action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopiedItem {
    pub from: String,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

/// What the copy of the source's scaling did (or, with `plan_only`, would do).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingCopyResult {
    pub copied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub scaling_policies: Vec<CopiedItem>,
    pub alarms: Vec<CopiedItem>,
    pub scheduled_actions: Vec<CopiedItem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

impl ScalingCopyResult {
    fn from_plan(plan: &DeployPlan) -> Option<Self> {
        plan.source.as_ref()?;
        let item = |from: &str, to: &str| CopiedItem { from: from.into(), to: to.into(), arn: None };
        Some(match &plan.scaling_copy {
            Some(copy) => ScalingCopyResult {
                copied: true,
                source_resource_id: Some(copy.source_resource_id.clone()),
                note: None,
                scaling_policies: copy.scaling_policies.iter().map(|p| item(&p.from, &p.to)).collect(),
                alarms: copy.alarms.iter().map(|a| item(&a.from, &a.to)).collect(),
                scheduled_actions: copy.scheduled_actions.iter().map(|a| item(&a.from, &a.to)).collect(),
                skipped: copy.skipped.clone(),
            },
            None => ScalingCopyResult {
                copied: false,
                source_resource_id: None,
                note: plan.scaling_copy_note.clone(),
                scaling_policies: Vec::new(),
                alarms: Vec::new(),
                scheduled_actions: Vec::new(),
                skipped: Vec::new(),
            },
        })
    }
}

/// The result of a deploy (or, with `plan_only`, of its plan).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployOutcome {
    pub server_group_names: Vec<String>,
    pub server_group_name_by_region: Map<String, Value>,
    pub server_group_name: String,
    pub region: String,
    pub account: String,
    pub ecs_cluster_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_arn: Option<String>,
    pub desired_count: i64,
    pub scalable_target: ScalableTargetResult,
    /// What was copied from the source server group's scaling (present when there is a source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling: Option<ScalingCopyResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// True once the new server group was seen healthy (only when waiting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// What the strategy did to the other server groups, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub strategy_steps: Vec<OperationResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<DeployPlan>,
}

impl DeployOutcome {
    fn from_plan(plan: &DeployPlan) -> Self {
        let mut by_region = Map::new();
        by_region.insert(plan.region.clone(), json!(plan.server_group_name));
        DeployOutcome {
            server_group_names: vec![format!("{}:{}", plan.region, plan.server_group_name)],
            server_group_name_by_region: by_region,
            server_group_name: plan.server_group_name.clone(),
            region: plan.region.clone(),
            account: plan.account.clone(),
            ecs_cluster_name: plan.ecs_cluster_name.clone(),
            task_definition_arn: None,
            service_arn: None,
            desired_count: plan.desired_count,
            scalable_target: ScalableTargetResult {
                resource_id: plan.scalable_target_resource_id.clone(),
                min_capacity: plan.min_capacity,
                max_capacity: plan.max_capacity,
            },
            scaling: ScalingCopyResult::from_plan(plan),
            warnings: plan.warnings.clone(),
            healthy: None,
            strategy: None,
            strategy_steps: Vec::new(),
            plan: None,
        }
    }
}

/// A createServerGroup description validated and resolved: everything a deploy needs before
/// its first AWS call. Made once per operation ([`prepare`]) and run by [`deploy_prepared`].
pub struct Prepared {
    req: DeployRequest,
    source_account: Option<Account>,
    run: StrategyRun,
}

impl Prepared {
    /// The request the plan is computed from.
    pub fn request(&self) -> &DeployRequest {
        &self.req
    }
}

/// Validates and resolves a description (and the strategy options) for a deploy; every problem
/// at once, nothing read from AWS.
pub fn prepare(config: &Config, description: CreateServerGroup, options: &DeployOptions) -> Result<Prepared> {
    let run = StrategyRun::new(&description, options)?;
    let (req, source_account) = prepare_request(config, description, options)?;
    Ok(Prepared { req, source_account, run })
}

fn prepare_request(config: &Config, description: CreateServerGroup, options: &DeployOptions) -> Result<(DeployRequest, Option<Account>)> {
    let inputs = Inputs { artifact: options.artifact.clone(), images: options.images.clone() };
    let v = request::validate(config, description, &inputs).map_err(Error::Invalid)?;
    Ok((v.request, v.source_account))
}

/// Lists the ECS cluster's services (and, for the tags namer, describes the ones that may carry
/// moniker tags). ListServices returns exactly the ACTIVE and DRAINING services — the names that
/// are taken — so no per-candidate probe is needed; a name taken between this list and
/// CreateService is caught by CreateService's "not idempotent" answer.
async fn observe_services(
    session: &Session,
    req: &DeployRequest,
) -> std::result::Result<(Vec<String>, Vec<(String, Vec<(String, String)>)>), AwsError> {
    let naming = req.account.naming_strategy;
    let listed = session.list_service_names(&req.ecs_cluster).await?;
    let tagged = match naming {
        crate::core::config::NamingStrategy::Default => Vec::new(),
        crate::core::config::NamingStrategy::Tags => {
            let maybe: Vec<String> = listed.iter().filter(|n| crate::core::naming::may_belong(&req.moniker, naming, n)).cloned().collect();
            session.describe_services(&req.ecs_cluster, &maybe, true).await?.into_iter().map(|s| (s.service_name, s.tags)).collect()
        }
    };
    Ok((listed, tagged))
}

/// Reads the source server group's scalable target and service.
async fn observe_source(
    session: &Session,
    src: &SourceRef,
) -> std::result::Result<(Option<ScalableTarget>, Option<ServiceState>), AwsError> {
    let resource_id = ResourceId::of(&src.ecs_cluster_name, &src.server_group_name).to_string();
    let names = [src.server_group_name.clone()];
    let (target, service) =
        tokio::try_join!(session.describe_scalable_target(&resource_id), session.describe_services(&src.ecs_cluster_name, &names, true))?;
    Ok((target, service.into_iter().find(|s| s.status != "INACTIVE")))
}

/// What is read of the source's scaling, each part as soon as it can be: its policies and its
/// scheduled actions with the other observations (the names of everything the copy will create
/// are known from them — AWS lists a step policy's alarms in its `Alarms` — and are checked
/// against AWS's limits before the first write), the alarms of its step policies as soon as the
/// policies are in, going on while the new server group is created.
fn read_source_scaling(
    src: &SourceRef,
    policies: Vec<Value>,
    alarms: Vec<crate::core::model::Alarm>,
    scheduled_actions: Vec<Value>,
) -> SourceScaling {
    SourceScaling {
        resource_id: ResourceId::of(&src.ecs_cluster_name, &src.server_group_name).into(),
        service_name: src.server_group_name.clone(),
        region: src.region.clone(),
        account_id: src.account_id.clone(),
        policies,
        alarms,
        scheduled_actions,
    }
}

/// The alarms that drive the source's step policies.
async fn observe_source_alarms(session: &Session, policies: &[Value]) -> std::result::Result<Vec<crate::core::model::Alarm>, AwsError> {
    let (alarm_names, action_prefixes) = scaling::alarm_lookups(policies);
    if alarm_names.is_empty() && action_prefixes.is_empty() {
        return Ok(Vec::new());
    }
    session.describe_alarms(&alarm_names, &action_prefixes).await
}

/// Observes everything the plan needs, all reads at once.
async fn observe(session: &Session, source_session: Option<&Session>, req: &DeployRequest) -> std::result::Result<Observed, AwsError> {
    let d = &req.description;
    let awsvpc = req.is_awsvpc();
    let source = async {
        match (source_session, &req.source) {
            (Some(s), Some(src)) => observe_source(s, src).await,
            _ => Ok((None, None)),
        }
    };
    let role = async {
        match req.iam_role_to_resolve() {
            Some(name) => session.get_role(name).await.map(Some),
            None => Ok(None),
        }
    };
    let subnets =
        async { if awsvpc && !d.subnet_purposes().is_empty() { session.describe_subnets(&d.zones()).await } else { Ok(Vec::new()) } };
    let security_groups = async {
        match &d.security_group_names {
            Some(names) if awsvpc && !names.is_empty() => session.describe_security_groups(names).await,
            _ => Ok(Vec::new()),
        }
    };
    let target_group_names = req.target_group_names();
    let (
        (listed_services, tagged_services),
        (source_target, source_service),
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
        source_target,
        task_role,
        tagging_enabled,
        target_groups,
        subnets,
        security_groups,
    })
}

/// A client token for CreateService: the same for every SDK retry of this deploy's request, so
/// a retry after a lost response returns the service instead of creating a second one.
fn client_token(plan: &DeployPlan, task_definition_arn: &str) -> String {
    let mut h = Sha256::new();
    for part in [&plan.account, &plan.region, &plan.ecs_cluster_name, &plan.server_group_name, task_definition_arn] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// What a deploy created so far, so a failure can say it and remove it.
#[derive(Debug, Default)]
struct Created {
    task_definition_arn: Option<String>,
    service: Option<(String, String)>,
    scalable_target: Option<String>,
    /// Alarms this deploy put (or tried to): deleting a missing alarm is a no-op.
    alarms: Vec<String>,
    /// What a failed write may have created that could not be read back.
    may_exist: Vec<String>,
}

impl Created {
    fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(arn) = &self.task_definition_arn {
            out.push(format!("task definition {arn}"));
        }
        if let Some((cluster, name)) = &self.service {
            out.push(format!("service {name} in ECS cluster {cluster}"));
        }
        if let Some(id) = &self.scalable_target {
            out.push(format!("scalable target {id} (with the policies and scheduled actions copied onto it)"));
        }
        for name in &self.alarms {
            out.push(format!("alarm {name}"));
        }
        out.extend(self.may_exist.iter().map(|m| format!("may exist: {m}")));
        out
    }

    /// Removes what was created, newest first; returns one report line per resource.
    async fn remove(&self, session: &Session) -> Vec<String> {
        let mut report = Vec::new();
        if !self.alarms.is_empty() {
            match session.delete_alarms(&self.alarms).await {
                Ok(()) => {
                    report.push(format!("removed alarms {} (each that had been created: none of them is left)", self.alarms.join(", ")))
                }
                Err(e) => report.push(format!("could not remove alarms {}: {e}", self.alarms.join(", "))),
            }
        }
        if let Some(id) = &self.scalable_target {
            match session.deregister_scalable_target(id).await {
                Ok(()) => report.push(format!("removed scalable target {id} (AWS removes its policies and scheduled actions with it)")),
                Err(e) if lifecycle::is_gone(&e) => {
                    report.push(format!("scalable target {id} was already gone (another operation removed it)"))
                }
                Err(e) => report.push(format!("could not remove scalable target {id}: {e}")),
            }
        }
        if let Some((cluster, name)) = &self.service {
            // Read back first: another operation may have deleted it already.
            let names = [name.clone()];
            let live = |s: &ServiceState| s.status == "ACTIVE" || s.status == "DRAINING";
            let result = async {
                if !session.describe_services(cluster, &names, false).await?.iter().any(live) {
                    return Ok(false);
                }
                session.update_desired_count(cluster, name, 0).await?;
                session.delete_service(cluster, name).await.map(|_| true)
            };
            match result.await {
                Ok(true) => report.push(format!("removed service {name} (scaled to 0, deleted)")),
                Ok(false) => report.push(format!("service {name} was already deleted (by another operation)")),
                Err(e) if lifecycle::is_gone(&e) => report.push(format!("service {name} was already deleted (by another operation)")),
                Err(e) => report.push(format!("could not remove service {name}: {e}; it still exists")),
            }
        }
        if let Some(arn) = &self.task_definition_arn {
            match session.deregister_task_definition(arn).await {
                Ok(()) => report.push(format!("deregistered task definition {arn}")),
                Err(e) => report.push(format!("could not deregister task definition {arn}: {e}; it is still ACTIVE")),
            }
        }
        report.extend(self.may_exist.iter().map(|m| format!("may exist: {m}: it could not be read back; check and remove it by hand")));
        report
    }
}

/// The right to allocate the next version of one cluster, held from the read of the taken names
/// until CreateService took the new one (or failed).
type Allocation = locks::Guard;

/// How long a deploy that lost the race for a name waits before it reads the names again: a
/// random time up to 50 ms x 2^attempt (at most 3.2 s), so deploys that collided once spread out
/// instead of colliding again in lockstep ("full jitter").
fn race_backoff(attempt: u32, random: u64) -> Duration {
    let ceiling_ms = 50u64 << attempt.clamp(1, 6);
    Duration::from_millis(random % ceiling_ms + 1)
}

/// RegisterScalableTarget right after CreateService can fail while ECS is eventually
/// consistent ("ECS service doesn't exist"); retry that error only, with a bound.
pub fn retry_delays() -> impl Iterator<Item = Duration> {
    [500u64, 1000, 2000, 4000, 8000].into_iter().map(Duration::from_millis)
}

fn is_service_not_yet_visible(e: &AwsError) -> bool {
    e.is("ValidationException") && e.message.contains("doesn't exist")
}

/// True when CreateService failed because another deploy took the name first.
fn is_name_taken(e: &AwsError) -> bool {
    e.is("InvalidParameterException") && e.message.contains("not idempotent")
}

async fn register_scalable_target(session: &Session, body: &Value) -> std::result::Result<(), AwsError> {
    let mut delays = retry_delays();
    loop {
        match session.register_scalable_target(body).await {
            Err(e) if is_service_not_yet_visible(&e) => match delays.next() {
                Some(delay) => {
                    warn!("the new service is not visible to Application Auto Scaling yet; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(e),
            },
            other => return other,
        }
    }
}

/// How the deploy strategy runs: the command line's, else the description's.
struct StrategyRun {
    strategy: Strategy,
    options: StrategyOptions,
    destroy_latest: bool,
}

impl StrategyRun {
    fn new(description: &CreateServerGroup, options: &DeployOptions) -> Result<Self> {
        let d = description;
        Ok(StrategyRun {
            strategy: Strategy::parse(options.strategy.as_deref().or(d.strategy.as_deref()).unwrap_or(""))?,
            options: StrategyOptions {
                max_remaining_asgs: d.max_remaining_asgs.filter(|n| *n > 0).map(|n| n as usize),
                scale_down: d.scale_down == Some(true),
                delay_before_disable: Duration::from_secs(d.delay_before_cleanup.or(d.delay_before_disable_sec).unwrap_or(0).max(0) as u64),
            },
            destroy_latest: d.rollback.as_ref().and_then(|r| r.destroy_latest) == Some(true),
        })
    }
}

/// The account's session, and the source's when it is another account or region (both at once).
async fn connect(req: &DeployRequest, source_account: Option<&Account>) -> Result<(Session, Option<Session>)> {
    let same_session = |a: &Account, region: &str| a.name == req.account.name && region == req.region;
    Ok(match (source_account, &req.source) {
        (Some(a), Some(src)) if !same_session(a, &src.region) => {
            let (s, src_s) = tokio::try_join!(Session::connect(&req.account, &req.region), Session::connect(a, &src.region))?;
            (s, Some(src_s))
        }
        _ => (Session::connect(&req.account, &req.region).await?, None),
    })
}

/// A read started once and awaited by several.
type SharedRead<'a, T> = futures::future::Shared<futures::future::LocalBoxFuture<'a, std::result::Result<T, AwsError>>>;

/// The reads of the source's scaling. They start with the other observations (they are the
/// longest chain of reads) and are awaited only by what needs them: the check of the copies'
/// names (policies and scheduled actions) before the first write, the copy (everything) after
/// the scalable target exists. None when nothing is copied.
struct SourceReads<'a> {
    copy_names: SharedRead<'a, Option<SourceScaling>>,
    scaling: SharedRead<'a, Option<SourceScaling>>,
}

fn source_reads<'a>(req: &'a DeployRequest, session: Option<&'a Session>) -> SourceReads<'a> {
    let from = session.filter(|_| req.copies_scaling()).zip(req.source.as_ref());
    let resource_id = |src: &SourceRef| ResourceId::of(&src.ecs_cluster_name, &src.server_group_name).to_string();
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
    let alarms: SharedRead<'a, Vec<crate::core::model::Alarm>> = {
        let policies = policies.clone();
        async move {
            match (from, policies.await?) {
                (Some((s, _)), Some(policies)) => observe_source_alarms(s, &policies).await,
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
            Ok(policies.zip(from).map(|(policies, (_, src))| read_source_scaling(src, policies, Vec::new(), scheduled)))
        }
        .boxed_local()
        .shared()
    };
    let scaling = async move {
        let (policies, alarms, scheduled) = tokio::try_join!(policies, alarms, scheduled)?;
        Ok(policies.zip(from).map(|(policies, (_, src))| read_source_scaling(src, policies, alarms, scheduled)))
    }
    .boxed_local()
    .shared();
    SourceReads { copy_names, scaling }
}

/// Refuses, before the first write, a copy whose name would break an AWS limit.
async fn check_copy_names(reads: &SourceReads<'_>, observed: &Observed, plan: &DeployPlan) -> Result<()> {
    if observed.source_target.is_none() {
        return Ok(());
    }
    if let Some(source) = driving(reads.copy_names.clone(), reads.scaling.clone()).await? {
        let errors = scaling::name_limit_errors(&source, &plan.server_group_name);
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
    }
    Ok(())
}

/// Waits until the new server group is healthy (when asked to, or for a strategy), then runs
/// the strategy; an unhealthy one is handled as the strategy says.
async fn after_created(
    session: &Session,
    req: &DeployRequest,
    plan: &DeployPlan,
    mut outcome: DeployOutcome,
    run: &StrategyRun,
    options: &DeployOptions,
    progress: &mut dyn Progress,
) -> Result<DeployOutcome> {
    if run.strategy != Strategy::None || options.wait {
        let timeout = if options.timeout.is_zero() { Duration::from_secs(600) } else { options.timeout };
        let td = outcome.task_definition_arn.clone().unwrap_or_default();
        let wait = lifecycle::WaitOptions::new(timeout);
        if let Err(e) = lifecycle::wait_healthy(session, &plan.ecs_cluster_name, &plan.server_group_name, &td, wait, progress).await {
            return Err(e.with_report(unhealthy(session, plan, run.strategy, run.destroy_latest).await));
        }
        outcome.healthy = Some(true);
    }
    if run.strategy != Strategy::None {
        outcome.strategy = Some(run.strategy);
        outcome.strategy_steps = run_strategy(session, req, plan, run.strategy, &run.options).await?;
    }
    Ok(outcome)
}

/// Runs createServerGroup, then waits and runs the deploy strategy when asked to.
pub async fn deploy(
    config: &Config,
    description: CreateServerGroup,
    options: &DeployOptions,
    progress: &mut dyn Progress,
) -> Result<DeployOutcome> {
    let prepared = prepare(config, description, options)?;
    deploy_prepared(prepared, options, progress).await
}

/// Downloads a prepared deploy's referenced artifact and reads it in (nothing to do without one).
pub async fn resolve_prepared(prepared: &mut Prepared) -> Result<()> {
    if prepared.req.pending_download().is_some() {
        prepared.req = artifacts::resolve(prepared.req.clone()).await?;
    }
    Ok(())
}

/// Runs a prepared deploy (see [`deploy`]).
pub async fn deploy_prepared(prepared: Prepared, options: &DeployOptions, progress: &mut dyn Progress) -> Result<DeployOutcome> {
    journal::status("Initializing Create Amazon ECS Server Group Operation...");
    let Prepared { req, source_account, run } = prepared;
    let source_account = source_account.filter(|_| req.source.is_some());
    // The artifact download depends on nothing AWS says: it runs while the sessions open and the
    // first attempt observes.
    let download = Download::start(&req);
    let (session, source_session) = connect(&req, source_account.as_ref()).await?;
    let source_session = source_session.as_ref().or(req.source.as_ref().map(|_| &session));
    let reads = source_reads(&req, source_session);

    // Each lost race re-reads the cluster and takes the next free name; with N concurrent
    // deploys of one cluster, the last one loses at most N - 1 races.
    const MAX_NAME_RACES: u32 = 12;
    let attempt = Attempt { session: &session, source_session, prepared: &req, download: &download, reads: &reads, options };
    let plan = 'races: {
        for race in 1..=MAX_NAME_RACES {
            match attempt.run().await? {
                Next::Planned(outcome) => return Ok(*outcome),
                Next::Created(outcome, plan) => break 'races (outcome, plan),
                Next::NameTaken(name) if race < MAX_NAME_RACES => {
                    warn!("{name} was created by another deploy at the same time; choosing the next version");
                    tokio::time::sleep(race_backoff(race, uuid::Uuid::new_v4().as_u128() as u64)).await;
                }
                Next::NameTaken(_) => {}
            }
        }
        return Err(Error::Failed {
            message: format!("other deploys kept taking the next name of {} ({MAX_NAME_RACES} tries)", req.moniker.cluster()),
            report: vec!["nothing was left behind by this deploy".into()],
        });
    };
    let (outcome, plan) = plan;
    let req = attempt.request().await?;
    after_created(&session, req, &plan, *outcome, &run, options, progress).await
}

/// A referenced artifact being downloaded (a task of its own, aborted if the deploy is dropped)
/// and, once awaited, the request with it read in.
struct Download {
    running: std::sync::Mutex<Option<tokio::task::JoinHandle<Result<DeployRequest>>>>,
    resolved: tokio::sync::OnceCell<DeployRequest>,
}

impl Download {
    fn start(req: &DeployRequest) -> Download {
        let running = req.pending_download().map(|_| tokio::spawn(artifacts::resolve(req.clone())));
        Download { running: std::sync::Mutex::new(running), resolved: tokio::sync::OnceCell::new() }
    }
}

impl Drop for Download {
    fn drop(&mut self) {
        if let Some(handle) = self.running.lock().unwrap_or_else(|e| e.into_inner()).take() {
            handle.abort();
        }
    }
}

/// Whether observing AWS for `b` reads what observing for `a` read (an artifact's network mode
/// or task role can change that).
fn same_observation(a: &DeployRequest, b: &DeployRequest) -> bool {
    a.is_awsvpc() == b.is_awsvpc() && a.iam_role_to_resolve() == b.iam_role_to_resolve()
}

/// What one attempt at creating the server group came to.
enum Next {
    /// `--plan`: the plan, nothing written.
    Planned(Box<DeployOutcome>),
    /// Created (with its plan, for what follows).
    Created(Box<DeployOutcome>, Box<DeployPlan>),
    /// Another deploy took this name first; nothing is left of this attempt.
    NameTaken(String),
}

/// One attempt: observe, plan, apply, under the cluster's allocation lock and the new group's lock.
struct Attempt<'a, 'r> {
    session: &'a Session,
    source_session: Option<&'a Session>,
    /// The request as prepared: its artifact may still be downloading.
    prepared: &'a DeployRequest,
    download: &'a Download,
    reads: &'a SourceReads<'r>,
    options: &'a DeployOptions,
}

impl Attempt<'_, '_> {
    /// The request to plan with: the prepared one, with its artifact once downloaded.
    async fn request(&self) -> Result<&DeployRequest> {
        let Some(handle) = self.download.running.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Ok(self.download.resolved.get().unwrap_or(self.prepared));
        };
        let resolved = handle.await.map_err(|e| Error::Failed {
            message: format!("the artifact download stopped: {e}"),
            report: vec!["nothing was written".into()],
        })??;
        Ok(self.download.resolved.get_or_init(|| async { resolved }).await)
    }

    /// What AWS holds, read for the prepared request while its artifact downloads; read again
    /// for the downloaded one only when the artifact changes what is read.
    async fn observe(&self) -> Result<(Observed, &DeployRequest)> {
        let observing = async {
            driving(observe(self.session, self.source_session, self.prepared), self.reads.scaling.clone()).await.map_err(Error::from)
        };
        let (observed, req) = tokio::try_join!(observing, self.request())?;
        if same_observation(self.prepared, req) {
            return Ok((observed, req));
        }
        Ok((driving(observe(self.session, self.source_session, req), self.reads.scaling.clone()).await?, req))
    }

    async fn run(&self) -> Result<Next> {
        let (req, options) = (self.prepared, self.options);
        // One version allocation at a time per cluster (`serve` runs many deploys, maybe on several
        // replicas): from the read of the taken names until CreateService has taken the new one.
        let allocation_lock = locks::allocation(&req.account.name, &req.region, &req.ecs_cluster, &req.moniker.cluster());
        let allocation = if options.plan_only { None } else { Some(locks::take(&allocation_lock, "nothing was created").await?) };
        // The source's scaling is read on meanwhile (a shared future progresses only when polled).
        let (observed, req) = self.observe().await?;
        let mut plan = plan::plan(req, &observed).map_err(Error::Invalid)?;
        for w in &plan.warnings {
            warn!("{w}");
        }
        check_copy_names(self.reads, &observed, &plan).await?;
        let scaling_source = async {
            match observed.source_target {
                Some(_) => self.reads.scaling.clone().await,
                None => Ok(None),
            }
        };
        if options.plan_only {
            if let Some(source) = scaling_source.await? {
                plan.scaling_copy = Some(plan::scaling_copy(&plan, &source));
            }
            let mut outcome = DeployOutcome::from_plan(&plan);
            outcome.plan = Some(plan);
            return Ok(Next::Planned(Box::new(outcome)));
        }
        // No other operation on the new server group (a destroy, a disable) until it is complete.
        let group_lock = locks::server_group(&plan.account, &plan.region, &plan.ecs_cluster_name, &plan.server_group_name);
        let group_lock = locks::take(&group_lock, "nothing was created").await?;
        let applied = apply(self.session, &mut plan, options, scaling_source, allocation).await;
        drop(group_lock);
        match applied {
            Ok(outcome) => Ok(Next::Created(Box::new(outcome), Box::new(plan))),
            Err(ApplyFailure::NameTaken) => Ok(Next::NameTaken(plan.server_group_name)),
            Err(ApplyFailure::Error(e)) => Err(e),
        }
    }
}

/// Awaits `main` while also polling `alongside` (a shared read that is awaited later).
async fn driving<T>(main: impl Future<Output = T>, alongside: impl Future) -> T {
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

/// What happens to a new server group that did not become healthy: with a strategy it is
/// disabled (and destroyed with `rollback.destroyLatest`) and the others keep serving.
async fn unhealthy(session: &Session, plan: &DeployPlan, strategy: Strategy, destroy_latest: bool) -> Vec<String> {
    let name = &plan.server_group_name;
    let mut report = Vec::new();
    if strategy == Strategy::None {
        report.push(format!("{name} was created and left as it is"));
        return report;
    }
    match lifecycle::disable(session, &plan.ecs_cluster_name, name).await {
        Ok(_) => report.push(format!("disabled {name}")),
        Err(e) => report.push(format!("could not disable {name}: {e}")),
    }
    if destroy_latest {
        match lifecycle::destroy_by_name(session, &plan.ecs_cluster_name, name).await {
            Ok(_) => report.push(format!("destroyed {name} (rollback.destroyLatest)")),
            Err(e) => report.push(format!("could not destroy {name}: {e}")),
        }
    }
    report.push(format!("the other server groups of {} were not touched and keep serving", plan.family));
    report
}

/// Runs the strategy's steps on the other server groups of the cluster, in the same ECS cluster.
async fn run_strategy(
    session: &Session,
    req: &DeployRequest,
    plan: &DeployPlan,
    strategy: Strategy,
    options: &StrategyOptions,
) -> Result<Vec<OperationResult>> {
    let rows = lifecycle::list(session, req.account.naming_strategy, Some(&plan.ecs_cluster_name), Some(&plan.family)).await?;
    let peers: Vec<Peer> = rows
        .iter()
        .filter(|r| r.server_group_name != plan.server_group_name)
        .map(|r| Peer { name: r.server_group_name.clone(), enabled: r.enabled, created_at: r.created_at })
        .collect();
    let mut done = Vec::new();
    for step in strategy::after_healthy(strategy, &peers, options) {
        if crate::engine::interrupt::requested() {
            let mut report: Vec<String> =
                done.iter().map(|r: &OperationResult| format!("done: {} {}", r.operation, r.server_group_name)).collect();
            report.push(format!("{} is deployed and healthy; interrupted before {step:?}", plan.server_group_name));
            return Err(Error::Failed { message: "interrupted".into(), report });
        }
        let result = match &step {
            Step::Wait(secs) => {
                info!("waiting {secs}s before disabling the other server groups");
                tokio::time::sleep(Duration::from_secs(*secs)).await;
                continue;
            }
            Step::Disable(name) => lifecycle::disable(session, &plan.ecs_cluster_name, name).await,
            // Disabled first, so its desired count is already 0.
            Step::ScaleDown(name) => lifecycle::resize(session, &plan.ecs_cluster_name, name, (0, 0, 0), Some(0)).await,
            Step::Destroy(name) => lifecycle::destroy_by_name(session, &plan.ecs_cluster_name, name).await,
        };
        match result {
            Ok(r) => done.push(r),
            Err(e) => {
                let mut report: Vec<String> =
                    done.iter().map(|r: &OperationResult| format!("done: {} {}", r.operation, r.server_group_name)).collect();
                report.push(format!("{} is deployed and healthy; the strategy stopped at {step:?}", plan.server_group_name));
                return Err(e.with_report(report));
            }
        }
    }
    Ok(done)
}

enum ApplyFailure {
    /// CreateService lost a race for the name; what this attempt created was removed.
    NameTaken,
    Error(Error),
}

/// Puts the copied policies and scheduled actions (all at once) and each alarm as soon as the
/// policies it names exist (their ARNs go into its actions). Scheduled actions never hold up an
/// alarm, nor one policy the alarms of another.
async fn copy_scaling(
    session: &Session,
    plan: &DeployPlan,
    copy: &ScalingCopyPlan,
    created: &mut Created,
) -> std::result::Result<ScalingCopyResult, AwsError> {
    // One put per policy, shared by `policy_arns` and the alarms that wait for it.
    let policy_puts: Vec<_> = copy.scaling_policies.iter().map(|p| session.put_scaling_policy(&p.request).boxed_local().shared()).collect();
    let policy_arns = all_settled(policy_puts.iter().cloned());
    let scheduled = all_settled(copy.scheduled_actions.iter().map(|a| session.put_scheduled_action(&a.request)));
    // Every alarm is counted as created from the start: a failure removes all of them by name.
    created.alarms = copy.alarms.iter().map(|a| a.to.clone()).collect();
    let puts = &policy_puts;
    let alarms = all_settled(copy.alarms.iter().map(|a| async move {
        let named = copy.scaling_policies.iter().zip(puts).filter(|(p, _)| scaling::alarm_names_policy(&a.request, &p.to));
        let arns = try_join_all(named.map(|(p, put)| async move { put.clone().await.map(|arn| (p.to.clone(), arn)) })).await?;
        if crate::engine::interrupt::requested() {
            return Err(crate::engine::interrupt::error());
        }
        session.put_metric_alarm(&scaling::fill_policy_arns(&a.request, &arns)).await
    }));
    let (policy_arns, scheduled, alarms) = tokio::join!(policy_arns, scheduled, alarms);
    let (policy_arns, _, _) = (policy_arns?, scheduled?, alarms?);
    let partition = crate::core::config::partition(&plan.region);
    let mut result = ScalingCopyResult::from_plan(plan).expect("a copy has a source");
    for (item, arn) in result.scaling_policies.iter_mut().zip(policy_arns) {
        item.arn = Some(arn);
    }
    for item in &mut result.alarms {
        item.arn = Some(format!("arn:{partition}:cloudwatch:{}:{}:alarm:{}", plan.region, session.account_id, item.to));
    }
    Ok(result)
}

/// Runs the writes concurrently and waits for every one before reporting the first error: a
/// request dropped in flight could still land after the cleanup and leave an orphan behind.
async fn all_settled<T>(
    writes: impl IntoIterator<Item = impl Future<Output = std::result::Result<T, AwsError>>>,
) -> std::result::Result<Vec<T>, AwsError> {
    futures::future::join_all(writes).await.into_iter().collect()
}

/// Reports a failed apply: what was created, and what was removed again.
async fn failure(session: &Session, plan: &DeployPlan, options: &DeployOptions, error: AwsError, created: &Created) -> ApplyFailure {
    let mut report = Vec::new();
    if created.describe().is_empty() {
        report.push("nothing was created".to_string());
    } else if options.keep_failed {
        report.push("kept (--keep-failed):".to_string());
        report.extend(created.describe().into_iter().map(|l| format!("  {l}")));
    } else {
        report.extend(created.remove(session).await);
    }
    report.push(format!("the previous server groups of {} were not touched", plan.family));
    ApplyFailure::Error(Error::from(error).with_report(report))
}

/// Applies the plan in order: task definition, service, scalable target — while the source's
/// scaling is still being read — then the copy of that scaling. Decides nothing: on failure it
/// removes what it created.
async fn apply(
    session: &Session,
    plan: &mut DeployPlan,
    options: &DeployOptions,
    scaling_source: impl std::future::Future<Output = std::result::Result<Option<SourceScaling>, AwsError>>,
    allocation: Option<Allocation>,
) -> std::result::Result<DeployOutcome, ApplyFailure> {
    let mut created = Created::default();
    let core = create_server_group(session, plan, &mut created, allocation);
    let (core, scaling_source) = tokio::join!(core, scaling_source);
    let (task_definition_arn, service) = match core {
        Ok(done) => done,
        Err(None) => return Err(ApplyFailure::NameTaken),
        Err(Some(e)) => return Err(failure(session, plan, options, e, &created).await),
    };
    let source = match scaling_source {
        Ok(source) => source,
        Err(e) => return Err(failure(session, plan, options, e, &created).await),
    };
    if crate::engine::interrupt::requested() {
        return Err(failure(session, plan, options, crate::engine::interrupt::error(), &created).await);
    }
    if let Some(source) = source {
        plan.scaling_copy = Some(plan::scaling_copy(plan, &source));
    }
    let mut outcome = DeployOutcome::from_plan(plan);
    if let Some(copy) = &plan.scaling_copy {
        journal::status("Copying scaling policies...");
        match copy_scaling(session, plan, copy, &mut created).await {
            Ok(result) => outcome.scaling = Some(result),
            Err(e) => return Err(failure(session, plan, options, e, &created).await),
        }
        journal::status("Done copying scaling policies...");
    }
    // Every step is done: the crash marker goes, and beside it (one round trip for both) a read
    // makes sure the service still exists: a destroy that ran meanwhile fails the deploy.
    let unmark = async {
        match plan.incomplete_marker() {
            Some(_) => session.untag_resource(&service.service_arn, crate::core::naming::TAG_INCOMPLETE).await,
            None => Ok(()),
        }
    };
    if let Err(e) = tokio::try_join!(unmark, still_active(session, plan)) {
        return Err(failure(session, plan, options, e, &created).await);
    }
    outcome.task_definition_arn = Some(task_definition_arn);
    outcome.service_arn = Some(service.service_arn);
    Ok(outcome)
}

/// Fails when the new service is no longer ACTIVE: another operation deleted it meanwhile.
async fn still_active(session: &Session, plan: &DeployPlan) -> std::result::Result<(), AwsError> {
    let names = [plan.server_group_name.clone()];
    match session.describe_services(&plan.ecs_cluster_name, &names, false).await?.first() {
        Some(s) if s.status == "ACTIVE" => Ok(()),
        found => Err(AwsError {
            operation: "ecs:DescribeServices".into(),
            code: Some("ServiceNotActiveException".into()),
            message: format!(
                "{} is {} after its scaling was copied: another operation deleted it while this deploy was creating it",
                plan.server_group_name,
                found.map_or("gone", |s| s.status.as_str())
            ),
        }),
    }
}

/// Registers the task definition, creates the service and registers its scalable target,
/// recording each in `created`. Err(None): another deploy took the name first (what this one
/// registered is deregistered again).
async fn create_server_group(
    session: &Session,
    plan: &DeployPlan,
    created: &mut Created,
    allocation: Option<Allocation>,
) -> std::result::Result<(String, ServiceState), Option<AwsError>> {
    let stop = || if crate::engine::interrupt::requested() { Err(Some(crate::engine::interrupt::error())) } else { Ok(()) };
    stop()?;
    let creating = journal::Creating {
        account: plan.account.clone(),
        region: plan.region.clone(),
        ecs_cluster: plan.ecs_cluster_name.clone(),
        server_group: plan.server_group_name.clone(),
        marker: plan.incomplete_marker().map(str::to_string),
    };
    journal::creating(creating).await.map_err(|message| {
        Some(AwsError {
            operation: "task store".into(),
            code: None,
            message: format!("what this deploy is about to create could not be recorded, so nothing was created: {message}"),
        })
    })?;
    journal::status("Creating Amazon ECS Task Definition...");
    let task_definition_arn = match session.register_task_definition(&plan.register_task_definition).await {
        Ok(arn) => arn,
        Err(e) => {
            // Every attempt failed, yet the last may have been applied: read it back by its containers.
            match session.find_registered(&plan.family, &plan.register_task_definition).await {
                Ok(found) => created.task_definition_arn = found,
                Err(read) => created.may_exist.push(format!("a task definition revision of family {} ({read})", plan.family)),
            }
            return Err(Some(e));
        }
    };
    created.task_definition_arn = Some(task_definition_arn.clone());
    journal::status(format!("Done creating Amazon ECS Task Definition... {task_definition_arn}"));
    stop()?;

    let mut service_request = plan.create_service.clone();
    service_request["taskDefinition"] = json!(task_definition_arn);
    service_request["clientToken"] = json!(client_token(plan, &task_definition_arn));
    debug_assert_ne!(service_request["taskDefinition"], json!(TASK_DEFINITION_ARN));
    journal::status(format!(
        "Creating {} of {} with {} for {}.",
        plan.desired_count, plan.server_group_name, task_definition_arn, plan.account
    ));
    let service = match session.create_service(&service_request).await {
        Ok(s) => s,
        Err(e) if is_name_taken(&e) => {
            if session.deregister_task_definition(&task_definition_arn).await.is_ok() {
                created.task_definition_arn = None;
            }
            return Err(None);
        }
        Err(e) => {
            // Every attempt failed, yet one may have been applied: a service by that name running
            // this deploy's own task definition revision is this deploy's.
            let names = [plan.server_group_name.clone()];
            let ours = |s: &ServiceState| s.status != "INACTIVE" && s.task_definition == task_definition_arn;
            match session.describe_services(&plan.ecs_cluster_name, &names, false).await {
                Ok(found) if found.iter().any(ours) => {
                    created.service = Some((plan.ecs_cluster_name.clone(), plan.server_group_name.clone()));
                }
                Ok(_) => {}
                Err(read) => {
                    created.may_exist.push(format!("service {} in ECS cluster {} ({read})", plan.server_group_name, plan.ecs_cluster_name))
                }
            }
            return Err(Some(e));
        }
    };
    created.service = Some((plan.ecs_cluster_name.clone(), service.service_name.clone()));
    // The name is taken: the next deploy of the cluster may read the names now.
    drop(allocation);
    journal::status(format!(
        "Done creating {} of {} with {} for {}.",
        plan.desired_count, service.service_name, task_definition_arn, plan.account
    ));
    stop()?;

    journal::status("Creating Amazon Application Auto Scaling Scalable Target Definition...");
    if let Err(e) = register_scalable_target(session, &plan.register_scalable_target).await {
        let id = &plan.scalable_target_resource_id;
        match session.describe_scalable_target(id).await {
            Ok(Some(_)) => created.scalable_target = Some(id.clone()),
            Ok(None) => {}
            Err(read) => created.may_exist.push(format!("scalable target {id} ({read})")),
        }
        return Err(Some(e));
    }
    created.scalable_target = Some(plan.scalable_target_resource_id.clone());
    journal::status("Done creating Amazon Application Auto Scaling Scalable Target Definition.");
    Ok((task_definition_arn, service))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::description::create_server_group_from_json;
    use serde_json::{Value, json};

    const CONFIG: &str = "aws:\n  enabled: true\n  accounts:\n    - {name: aws-main, accountId: '123456789012', regions: [{name: us-west-2}, {name: us-east-1}]}\necs:\n  enabled: true\n  accounts:\n    - {name: ecs-main, awsAccount: aws-main}\n";

    /// The bad-input corpus over the pure preparation (validation, configuration, artifacts):
    /// each is refused with an error naming the problem. `tests/it/reliability.rs` keeps a few
    /// of them as process-level runs (exit 2, nothing written).
    #[test]
    fn every_bad_description_is_refused_with_an_error_that_names_it() {
        let config = Config::from_yaml(CONFIG).unwrap();
        let good = json!({
            "credentials": "ecs-main", "application": "zulu", "stack": "prod",
            "ecsClusterName": "main", "availabilityZones": {"us-west-2": ["us-west-2a"]},
            "capacity": {"min": 1, "max": 5, "desired": 2}, "launchType": "EC2", "networkMode": "bridge",
            "dockerImageAddress": "nginx", "computeUnits": 64, "reservedMemory": 64, "placementStrategySequence": []
        });
        let patch = |p: &Value| {
            let mut d = good.clone();
            for (k, v) in p.as_object().unwrap() {
                if v.is_null() {
                    d.as_object_mut().unwrap().remove(k);
                } else {
                    d[k] = v.clone();
                }
            }
            d
        };
        let prepared = |d: Value| create_server_group_from_json(d).and_then(|d| prepare(&config, d, &DeployOptions::default()));
        assert!(prepared(good.clone()).is_ok(), "the good description prepares");
        let descriptions: Vec<(Value, &str)> = vec![
            (json!({"capacity": {"min": "lots", "max": 1, "desired": 1}}), "capacity.min"),
            (json!({"capacity": "three"}), "capacity"),
            (json!({"availabilityZones": "us-west-2"}), "availabilityZones"),
            (json!({"healthCheckGracePeriodSeconds": "soon"}), "healthCheckGracePeriodSeconds"),
            (json!({"associatePublicIpAddress": "maybe"}), "associatePublicIpAddress"),
            (json!({"environmentVariables": [1, 2]}), "environmentVariables"),
            (json!({"tags": "team=x"}), "tags"),
            (json!({"targetGroupMappings": "web-tg"}), "targetGroupMappings"),
            (json!({"placementStrategySequence": {"type": "spread"}}), "placementStrategySequence"),
            (json!({"credentials": null}), "credentials"),
            (json!({"credentials": "nobody"}), "nobody"),
            (json!({"capacity": null}), "capacity"),
            (json!({"capacity": {"min": 1, "max": 2}}), "capacity.desired"),
            (json!({"capacity": {"min": -1, "max": 2, "desired": 0}}), "capacity.min"),
            (json!({"capacity": {"min": 3, "max": 2, "desired": 2}}), "min.max.range"),
            (json!({"capacity": {"min": 1, "max": 2, "desired": 3}}), "exceeds.max"),
            (json!({"capacity": {"min": 2, "max": 3, "desired": 1}}), "less.than.min"),
            (json!({"subnetTypes": ["a"], "subnetType": "b"}), "subnetTypes"),
            (json!({"availabilityZones": {"us-west-2": ["a"], "us-east-1": ["b"]}}), "must.have.only.one"),
            (json!({"availabilityZones": {"us-west-2": []}}), "zones"),
            (json!({"availabilityZones": null}), "availabilityZones"),
            (json!({"availabilityZones": {"eu-north-1": ["eu-north-1a"]}}), "region.not.configured"),
            (json!({"region": "us-east-1"}), "region"),
            (json!({"placementStrategySequence": [{"type": "wild"}]}), "placementStrategySequence"),
            (json!({"placementStrategySequence": [{"type": "spread", "field": "host"}]}), "spread"),
            (json!({"placementStrategySequence": [{"type": "binpack", "field": "disk"}]}), "binpack"),
            (json!({"placementStrategySequence": null}), "placementStrategySequence"),
            (json!({"application": null}), "application"),
            (json!({"moniker": {"stack": "prod"}}), "moniker.app"),
            (json!({"moniker": {"app": "other"}}), "moniker.app"),
            (json!({"ecsClusterName": null}), "ecsClusterName"),
            (json!({"serviceDiscoveryAssociations": [{"containerPort": 80}]}), "serviceDiscoveryAssociations"),
            (json!({"capacityProviderStrategy": [{"capacityProvider": "FARGATE"}]}), "launchType"),
            (json!({"launchType": null}), "launchType"),
            (json!({"launchType": "FARGATE_SPOT"}), "launchType"),
            (json!({"dockerImageAddress": null}), "dockerImageAddress"),
            (json!({"computeUnits": null}), "computeUnits"),
            (json!({"computeUnits": -5}), "computeUnits"),
            (json!({"reservedMemory": null}), "reservedMemory"),
            (json!({"containerPort": 70000}), "containerPort"),
            (json!({"targetGroup": "web-tg"}), "containerPort"),
            (json!({"targetGroupMappings": [{"targetGroup": "web-tg", "containerPort": 99999}]}), "targetGroupMappings"),
            (json!({"environmentVariables": {"CLOUD_STACK": "x"}}), "environmentVariables"),
            (json!({"networkMode": "aws-vpc"}), "networkMode"),
            (json!({"networkMode": "AWSVPC"}), "networkMode"),
            (json!({"application": "my.app"}), "application"),
            (json!({"application": "my app"}), "application"),
            (json!({"stack": "pro/d"}), "stack"),
            (json!({"freeFormDetails": "x y"}), "freeFormDetails"),
            (json!({"strategy": "bluegreen"}), "strategy"),
            (json!({"useTaskDefinitionArtifact": true}), "resolvedTaskDefinitionArtifact"),
            (
                json!({"useTaskDefinitionArtifact": true, "resolvedTaskDefinitionArtifact": {"type": "s3/object", "reference": "s3://b/k"}}),
                "artifacts.s3",
            ),
            (
                json!({"useTaskDefinitionArtifact": true, "resolvedTaskDefinitionArtifact": {"type": "embedded/base64", "reference": "%%%"}}),
                "base64",
            ),
            (
                json!({"useTaskDefinitionArtifact": true, "evaluateTaskDefinitionArtifactExpressions": true}),
                "spelProcessedTaskDefinitionArtifact",
            ),
            (json!({"deploymentConfiguration": {"maximumPercent": 500}}), "maximumPercent"),
            // AWS takes int32: out-of-range numbers are errors, never saturated or wrapped (#14.10).
            (serde_json::from_str(r#"{"capacity": {"min": 1, "max": 18446744073709551616, "desired": 1}}"#).unwrap(), "capacity.max"),
            (json!({"capacity": {"min": 1, "max": 2, "desired": 4294967296u64}}), "out of range"),
            (json!({"capacity": {"min": "2147483648", "max": 2, "desired": 1}}), "capacity.min"),
            (json!({"healthCheckGracePeriodSeconds": 9999999999u64}), "healthCheckGracePeriodSeconds"),
        ];
        assert!(descriptions.len() >= 55);
        for (p, needle) in &descriptions {
            let error = match prepared(patch(p)) {
                Ok(_) => panic!("{p}: accepted"),
                Err(e) => e,
            };
            assert_eq!(error.exit_code(), 2, "{p}: {error}");
            let text = match &error {
                Error::Invalid(errors) => {
                    assert!(errors.iter().all(|e| !e.message.is_empty()), "{p}");
                    serde_json::to_string(&errors).unwrap()
                }
                other => other.to_string(),
            };
            assert!(text.contains(needle), "{p}: the error should name `{needle}`: {text}");
        }
    }
}
