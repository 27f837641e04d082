//! What follows a created server group: waiting until it is healthy (when asked to, or for a
//! strategy), then the deploy strategy on the other server groups of the cluster; a new group
//! that does not become healthy is disabled (or destroyed) as the strategy says.

use std::time::Duration;

use tracing::info;

use super::DeployOptions;
use super::handover;
use super::outcome::DeployOutcome;
use super::traffic::{self, Pair};
use crate::aws::Session;
use crate::core::description::CreateServerGroup;
use crate::core::error::{Error, Result};
use crate::core::plan::DeployPlan;
use crate::core::request::DeployRequest;
use crate::core::strategy::{self, Peer, Step, Strategy, StrategyOptions};
use crate::engine::interrupt;
use crate::engine::lifecycle::{self, OperationResult, Progress};

/// How the deploy strategy runs: the command line's, else the description's.
pub(super) struct StrategyRun {
    strategy: Strategy,
    options: StrategyOptions,
    destroy_latest: bool,
    /// A rolling red/black run here: the new version's capacity and the steps (it is created at
    /// 0/0/0, as Orca sends it; sent at 0/0/0 by Orca, the steps are Orca's).
    pub(super) rolling: Option<((i64, i64, i64), Vec<i64>)>,
}

impl StrategyRun {
    /// The strategy; a rolling red/black with a capacity is run here, so the description's
    /// capacity becomes 0/0/0 (the new version grows from nothing).
    pub(super) fn new(description: &mut CreateServerGroup, options: &DeployOptions) -> Result<Self> {
        let strategy = Strategy::parse(options.strategy.as_deref().or(description.strategy.as_deref()).unwrap_or(""))?;
        let rolling = match (&mut description.capacity, strategy) {
            (Some(c), Strategy::RollingRedBlack) if c.desired.unwrap_or(0) > 0 => {
                let capacity = (c.min.unwrap_or(0), c.max.unwrap_or(0), c.desired.unwrap_or(0));
                (c.min, c.max, c.desired) = (Some(0), Some(0), Some(0));
                let given = if options.target_percentages.is_empty() {
                    description.target_percentages.clone().unwrap_or_default()
                } else {
                    options.target_percentages.clone()
                };
                Some((capacity, crate::core::strategy::rolling::steps(&given)))
            }
            _ => None,
        };
        let d = description;
        Ok(StrategyRun {
            rolling,
            strategy,
            options: StrategyOptions {
                max_remaining_asgs: d.max_remaining_asgs.filter(|n| *n > 0).map(|n| n as usize),
                scale_down: d.scale_down == Some(true),
                delay_before_disable: Duration::from_secs(d.delay_before_cleanup.or(d.delay_before_disable_sec).unwrap_or(0).max(0) as u64),
            },
            destroy_latest: d.rollback.as_ref().and_then(|r| r.destroy_latest) == Some(true),
        })
    }
}

/// The created server group as what follows it needs it: from the plan, or from the outcome a
/// handed-over deploy left.
pub(super) struct NewGroup {
    pub(super) ecs_cluster: String,
    pub(super) server_group: String,
    /// The task definition family: the moniker's cluster name.
    pub(super) family: String,
}

impl NewGroup {
    pub(super) fn of(plan: &DeployPlan) -> Self {
        NewGroup { ecs_cluster: plan.ecs_cluster_name.clone(), server_group: plan.server_group_name.clone(), family: plan.family.clone() }
    }

    /// The group a handed-over deploy created, as its outcome says.
    pub(super) fn continued(outcome: &DeployOutcome, req: &DeployRequest) -> Self {
        NewGroup {
            ecs_cluster: outcome.ecs_cluster_name.clone(),
            server_group: outcome.server_group_name.clone(),
            family: req.moniker.cluster(),
        }
    }
}

/// What follows a created group: the strategy, the options, a traffic-managed deploy's pair.
pub(super) struct Follow<'a> {
    pub(super) run: &'a StrategyRun,
    pub(super) options: &'a DeployOptions,
    pub(super) pair: Option<Pair>,
}

/// Waits until the new server group is healthy (when asked to, for a strategy or a traffic
/// shift), then shifts the traffic and runs the strategy; an unhealthy one is handled as the
/// strategy says (a traffic-managed one is removed unless kept).
pub(super) async fn after_created(
    session: &Session,
    req: &DeployRequest,
    group: &NewGroup,
    mut outcome: DeployOutcome,
    follow: Follow<'_>,
    progress: &mut dyn Progress,
) -> Result<DeployOutcome> {
    let Follow { run, options, pair } = follow;
    let timeout = if options.timeout.is_zero() { Duration::from_secs(600) } else { options.timeout };
    let waits = (run.strategy != Strategy::None && run.strategy != Strategy::RollingRedBlack) || options.wait || pair.is_some();
    // A continued deploy (see `handover`) that saw its group healthy does not wait again.
    if waits && outcome.healthy != Some(true) {
        let td = outcome.task_definition_arn.clone().unwrap_or_default();
        let wait = lifecycle::WaitOptions::new(timeout).following_deployment();
        match lifecycle::wait_healthy(session, &group.ecs_cluster, &group.server_group, &td, wait, progress).await {
            Ok(()) => {}
            Err(Error::HandedOver) => return Err(handover::stop_at(outcome)),
            Err(e) => {
                let report = match pair {
                    Some(_) => failed_shift(session, group, options.keep_failed).await,
                    None => unhealthy(session, group, run.strategy, run.destroy_latest).await,
                };
                return Err(e.with_report(report));
            }
        }
        outcome.healthy = Some(true);
        outcome.warnings.extend(crate::engine::images::record(session, &group.ecs_cluster, &group.server_group).await);
    }
    if let (Some(pair), Some(shift)) = (pair, &req.traffic_shift) {
        match traffic::after_healthy(session, &group.ecs_cluster, shift, pair, &group.server_group, timeout, progress).await {
            Ok(lines) => outcome.traffic_steps = lines,
            Err(e) => return Err(e.with_report(failed_shift(session, group, options.keep_failed).await)),
        }
    }
    if let Some((capacity, steps)) = &run.rolling {
        outcome.strategy = Some(run.strategy);
        let td = outcome.task_definition_arn.clone().unwrap_or_default();
        let rolled = super::rolling::Rolling { session, group, td: &td, capacity: *capacity, timeout };
        outcome.strategy_steps = rolled.run(req, steps, progress).await?;
        outcome.healthy = Some(true);
    } else if run.strategy != Strategy::None {
        outcome.strategy = Some(run.strategy);
        match run_strategy(session, req, group, (run.strategy, &run.options), &mut outcome.strategy_steps).await {
            Ok(()) => {}
            Err(Error::HandedOver) => return Err(handover::stop_at(outcome)),
            Err(e) => return Err(e),
        }
    }
    Ok(outcome)
}

/// What happens to a new server group whose traffic shift failed (the rule was restored) or
/// that did not become healthy before its shift: it is
/// destroyed, unless the user keeps failed groups; blue keeps serving.
async fn failed_shift(session: &Session, group: &NewGroup, keep_failed: bool) -> Vec<String> {
    let name = &group.server_group;
    if keep_failed {
        return vec![format!("{name} was left as it is (--keep-failed), at weight 0")];
    }
    match lifecycle::destroy_by_name(session, &group.ecs_cluster, name).await {
        Ok(_) => vec![format!("destroyed {name}; the server groups before it keep serving")],
        Err(e) => vec![format!("could not destroy {name}: {e}")],
    }
}

/// What happens to a new server group that did not become healthy: with a strategy it is
/// disabled (and destroyed with `rollback.destroyLatest`) and the others keep serving.
async fn unhealthy(session: &Session, group: &NewGroup, strategy: Strategy, destroy_latest: bool) -> Vec<String> {
    let name = &group.server_group;
    let mut report = Vec::new();
    if strategy == Strategy::None {
        report.push(format!("{name} was created and left as it is"));
        return report;
    }
    match lifecycle::disable(session, &group.ecs_cluster, name).await {
        Ok(_) => report.push(format!("disabled {name}")),
        Err(e) => report.push(format!("could not disable {name}: {e}")),
    }
    if destroy_latest {
        match lifecycle::destroy_by_name(session, &group.ecs_cluster, name).await {
            Ok(_) => report.push(format!("destroyed {name} (rollback.destroyLatest)")),
            Err(e) => report.push(format!("could not destroy {name}: {e}")),
        }
    }
    report.push(format!("the other server groups of {} were not touched and keep serving", group.family));
    report
}

/// Runs the strategy's steps on the other server groups of the cluster, in the same ECS cluster,
/// adding each one done to `done`. The steps come from the groups as they are now, so a deploy
/// continued after a hand-over does only what is left.
async fn run_strategy(
    session: &Session,
    req: &DeployRequest,
    group: &NewGroup,
    (strategy, options): (Strategy, &StrategyOptions),
    done: &mut Vec<OperationResult>,
) -> Result<()> {
    let rows = lifecycle::list(session, req.account.naming_strategy, Some(&group.ecs_cluster), Some(&group.family)).await?;
    let peers: Vec<Peer> = rows
        .iter()
        .filter(|r| r.server_group_name != group.server_group)
        .map(|r| Peer { name: r.server_group_name.clone(), enabled: r.enabled, created_at: r.created_at })
        .collect();
    for step in strategy::after_healthy(strategy, &peers, options) {
        if interrupt::requested() {
            let mut report: Vec<String> =
                done.iter().map(|r: &OperationResult| format!("done: {} {}", r.operation, r.server_group_name)).collect();
            report.push(format!("{} is deployed and healthy; interrupted before {step:?}", group.server_group));
            return Err(Error::Interrupted { report });
        }
        if interrupt::handing_over() {
            return Err(Error::HandedOver);
        }
        let result = match &step {
            Step::Wait(secs) => {
                info!("waiting {secs}s before disabling the other server groups");
                tokio::time::sleep(Duration::from_secs(*secs)).await;
                continue;
            }
            Step::Disable(name) => lifecycle::disable(session, &group.ecs_cluster, name).await,
            // Disabled first, so its desired count is already 0.
            Step::ScaleDown(name) => lifecycle::resize(session, &group.ecs_cluster, name, (0, 0, 0), Some(0)).await,
            Step::Destroy(name) => lifecycle::destroy_by_name(session, &group.ecs_cluster, name).await,
        };
        match result {
            Ok(r) => done.push(r),
            Err(e) => {
                let mut report: Vec<String> =
                    done.iter().map(|r: &OperationResult| format!("done: {} {}", r.operation, r.server_group_name)).collect();
                report.push(format!("{} is deployed and healthy; the strategy stopped at {step:?}", group.server_group));
                return Err(e.with_report(report));
            }
        }
    }
    Ok(())
}
