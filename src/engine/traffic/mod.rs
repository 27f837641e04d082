//! Traffic between two server groups by listener-rule weights (blue-green.md §4-§7): `shift`
//! (steps of weights, each written with every other action of the rule kept, read back, then
//! baked while alarms and target health are watched), `switch-back` (the weights before the last
//! completed shift, in one write) and `finish` (disable the groups the rule no longer sends
//! traffic to). Every write is preceded by a read compared with what ecs-deployer last wrote, made
//! under the rule's lock, and journaled on the rule as tags first, so a failure, an interrupt or
//! `cleanup` restores the rule's forward action as it was.

use serde::Serialize;
use serde_json::Value;

use crate::aws::Session;
use crate::core::error::{Error, Result};
use crate::core::model::ServiceState;
use crate::core::traffic::journal::{self, TAG_PREVIOUS};
use crate::core::traffic::{Forward, RuleRef, Steps, Stickiness, short};
use crate::engine::journal as status;
use crate::engine::lifecycle::{self, OperationResult, Progress};
pub(crate) use steps::{Leg, Side, Start, forward_of, restore_rule, write, write_locked};

mod recover;
mod serving;
pub use serving::check_disable;
mod steps;
mod view;
pub use recover::{recover, restore_owned};
pub(crate) use steps::{journal_done, journal_start, run_steps};
pub use view::{RuleWeights, rules_of};

/// A shift of traffic from one server group to another.
#[derive(Debug, Clone)]
pub struct Shift {
    pub rule: RuleRef,
    pub ecs_cluster: Option<String>,
    pub from: String,
    pub to: String,
    /// The `to` side's share after each step, and the bake after each.
    pub steps: Steps,
    /// CloudWatch alarms watched during the bakes.
    pub alarms: Vec<String>,
    pub stickiness: Option<Stickiness>,
    /// Who holds the rule while the shift runs (`cli`, a task id).
    pub owner: String,
    /// Go on past the health checks (audited by the caller).
    pub force: bool,
}

/// What a traffic operation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficOutcome {
    pub operation: String,
    pub rule: String,
    /// The weights now, per target group (`name/id`).
    pub weights: Vec<(String, i32)>,
    pub steps: Vec<String>,
}

fn outcome(operation: &str, rule: &RuleRef, forward: &Forward, steps: Vec<String>) -> TrafficOutcome {
    let weights = forward.target_groups.iter().map(|t| (short(&t.target_group_arn).to_string(), t.weight)).collect();
    TrafficOutcome { operation: operation.into(), rule: rule.arn().to_string(), weights, steps }
}

pub(crate) fn refused(field: &str, message: String) -> Error {
    Error::invalid(field, &format!("trafficShift.{field}.invalid"), message)
}

/// The target group of `group` that the rule names, else its first one.
fn target_group_of(group: &ServiceState, forward: &Forward) -> Result<String> {
    let in_rule = group.target_group_arns.iter().find(|arn| forward.target_groups.iter().any(|t| t.target_group_arn == **arn));
    in_rule.or(group.target_group_arns.first()).cloned().ok_or_else(|| {
        refused(
            "from",
            format!("{} is in no target group: a shift moves traffic between the target groups of two server groups", group.service_name),
        )
    })
}

/// Refuses to move weight to a target group whose targets are not all healthy, or fewer than
/// the group's desired count (blue-green.md §9.2), unless forced.
pub(crate) async fn check_ready(session: &Session, group: &ServiceState, target_group: &str, force: bool) -> Result<()> {
    let targets = session.target_health(target_group).await?;
    let healthy = targets.iter().filter(|t| t.state == "healthy").count() as i64;
    let not_healthy: Vec<String> =
        targets.iter().filter(|t| t.state != "healthy" && t.state != "draining").map(|t| format!("{} {}", t.id, t.state)).collect();
    if force || (healthy >= group.desired_count.max(1) && not_healthy.is_empty()) {
        return Ok(());
    }
    Err(refused(
        "to",
        format!(
            "{} is not ready to take traffic through {}: {healthy} healthy target(s) of {} desired{}; wait until it is healthy, or --force",
            group.service_name,
            short(target_group),
            group.desired_count,
            if not_healthy.is_empty() { String::new() } else { format!(", not healthy: {}", not_healthy.join(", ")) }
        ),
    ))
}

/// Refuses to start on a rule another owner holds (the `ecs-deployer/shift` lease), unless forced.
pub(crate) fn check_lease(tags: &[(String, String)], owner: &str, force: bool) -> Result<()> {
    match journal::lease(tags) {
        Some((holder, since)) if holder != owner && !force => Err(refused(
            "rule",
            format!(
                "a traffic operation of {holder} (started at {since}, seconds since the epoch) holds this rule; wait for it, or `cleanup` restores it once it is old"
            ),
        )),
        _ => Ok(()),
    }
}

/// Runs a shift: journal, then each step (check, write, read back, bake); on a failure the
/// journaled forward action is restored. Afterwards the weights before it are kept for a
/// switch-back.
pub async fn shift(session: &Session, shift: &Shift, progress: &mut dyn Progress) -> Result<TrafficOutcome> {
    let ((_, from), (to_cluster, to)) = tokio::try_join!(
        lifecycle::locate(session, &shift.from, shift.ecs_cluster.as_deref()),
        lifecycle::locate(session, &shift.to, shift.ecs_cluster.as_deref())
    )?;
    let (first, tags) = tokio::try_join!(session.read_rule(&shift.rule), session.rule_tags(shift.rule.arn()))?;
    let original = forward_of(&first)?;
    check_lease(&tags, &shift.owner, shift.force)?;
    let (from_tg, to_tg) = (target_group_of(&from, &original)?, target_group_of(&to, &original)?);
    if from_tg == to_tg {
        return Err(refused(
            "to",
            format!(
                "{} and {} share target group {}: weights can only move between their own target groups",
                from.service_name,
                to.service_name,
                short(&from_tg)
            ),
        ));
    }
    let leg = Leg {
        rule: &shift.rule,
        from: Side { name: &from.service_name, target_group: &from_tg },
        to: Side { name: &to.service_name, target_group: &to_tg },
        steps: &shift.steps,
        alarms: &shift.alarms,
        stickiness: shift.stickiness,
    };
    // Every step is checked before the first write.
    for p in &shift.steps.percents {
        leg.at(&original, *p)?;
    }
    tokio::try_join!(
        check_ready(session, &to, &to_tg, shift.force),
        crate::engine::images::check(session, &to_cluster, &to.service_name, shift.force)
    )?;
    journal_start(session, &shift.rule, &shift.owner, &original).await?;
    let start = Start { read: first, expected: original.clone(), restore_to: original.clone() };
    let (read, lines) = run_steps(session, &leg, start, progress).await?;
    journal_done(session, &shift.rule, &original).await?;
    progress.done();
    Ok(outcome("shiftTraffic", &shift.rule, read.forward.as_ref().unwrap_or(&original), lines))
}

/// Restores the weights before the last completed shift in one write (the weights now become
/// the ones a second switch-back restores). Refused when the target groups regaining weight have
/// no healthy target (the group there is not warm: roll back instead), unless forced.
pub async fn switch_back(session: &Session, rule: &RuleRef, force: bool) -> Result<TrafficOutcome> {
    // Read under the lock: nothing moves the weights between this read and the write.
    let _lock = crate::engine::locks::take(&crate::engine::locks::rule(rule.arn()), "the rule was not changed").await?;
    let (read, tags) = tokio::try_join!(session.read_rule(rule), session.rule_tags(rule.arn()))?;
    let current = forward_of(&read)?;
    let previous = journal::joined(TAG_PREVIOUS, &tags).and_then(|t| journal::decode(&t, rule.arn())).ok_or_else(|| {
        refused("rule", format!("{} has no weights of an earlier shift to switch back to (no {TAG_PREVIOUS} tag)", rule.arn()))
    })?;
    let gaining: Vec<&String> =
        previous.target_groups.iter().filter(|t| t.weight > current.weight(&t.target_group_arn)).map(|t| &t.target_group_arn).collect();
    let health = futures::future::try_join_all(gaining.iter().map(|tg| session.target_health(tg))).await?;
    for (gaining, targets) in gaining.iter().zip(health) {
        let healthy = targets.iter().filter(|t| t.state == "healthy").count();
        if healthy == 0 && !force {
            return Err(refused(
                "rule",
                format!(
                    "{} has no healthy target: the server group there is not warm; use `rollback` (enable, wait, shift) instead",
                    short(gaining)
                ),
            ));
        }
    }
    let new = current.with_weights(&restoring(&current, &previous), previous.stickiness).map_err(|e| refused("rule", e))?;
    // The weights now become the ones a second switch-back restores (tagged with the write).
    let back = write_locked(session, &read, &current, &new, &journal::chunked(TAG_PREVIOUS, &journal::encode(&current))).await?;
    let line = format!("switched back to {}", new.describe());
    status::status(&line);
    Ok(outcome("switchBackTraffic", rule, back.forward.as_ref().unwrap_or(&new), vec![line]))
}

/// The weights that make `current` route as `previous`: each of `previous`'s target groups at its
/// weight (100 for the plain form), every other one of `current` at 0.
fn restoring(current: &Forward, previous: &Forward) -> Vec<(String, i32)> {
    let mut weights: Vec<(String, i32)> =
        previous.target_groups.iter().map(|t| (t.target_group_arn.clone(), if previous.plain { 100 } else { t.weight })).collect();
    for t in &current.target_groups {
        if !weights.iter().any(|(arn, _)| *arn == t.target_group_arn) {
            weights.push((t.target_group_arn.clone(), 0));
        }
    }
    weights
}

/// Disables every enabled server group in `ecs_cluster` whose target groups the rule names only
/// at weight 0, and forgets the weights to switch back to.
pub async fn finish(session: &Session, rule: &RuleRef, groups: &[lifecycle::ServerGroupRow]) -> Result<Vec<OperationResult>> {
    let (read, tags) = tokio::try_join!(session.read_rule(rule), session.rule_tags(rule.arn()))?;
    let forward = forward_of(&read)?;
    let mut results = Vec::new();
    for group in groups.iter().filter(|g| g.enabled) {
        let in_rule: Vec<&String> =
            group.target_group_arns.iter().filter(|arn| forward.target_groups.iter().any(|t| t.target_group_arn == **arn)).collect();
        if !in_rule.is_empty() && in_rule.iter().all(|arn| forward.weight(arn) == 0) {
            results.push(lifecycle::disable(session, &group.ecs_cluster_name, &group.server_group_name).await?);
        }
    }
    session
        .untag_rule(rule.arn(), &tags.iter().map(|(k, _)| k.clone()).filter(|k| k.starts_with(TAG_PREVIOUS)).collect::<Vec<_>>())
        .await?;
    Ok(results)
}

/// Runs a traffic operation of `/ecs/ops` (its owner: the running task).
pub async fn run(
    operation: crate::core::operation::Operation,
    request: &crate::core::traffic::operation::TrafficRequest,
    progress: &mut dyn Progress,
) -> Result<Value> {
    use crate::core::operation::Operation;
    let session = Session::connect(&request.account, &request.region).await?;
    let value = |v: std::result::Result<Value, serde_json::Error>| v.unwrap_or_default();
    match (operation, &request.shift) {
        (Operation::ShiftTraffic, Some((from, to, steps))) => {
            let shift = Shift {
                rule: request.rule.clone(),
                ecs_cluster: request.ecs_cluster.clone(),
                from: from.clone(),
                to: to.clone(),
                steps: steps.clone(),
                alarms: request.alarms.clone(),
                stickiness: None,
                owner: crate::engine::journal::owner().unwrap_or_else(|| "serve".into()),
                force: request.force,
            };
            Ok(value(serde_json::to_value(self::shift(&session, &shift, progress).await?)))
        }
        (Operation::SwitchBackTraffic, _) => Ok(value(serde_json::to_value(switch_back(&session, &request.rule, request.force).await?))),
        _ => {
            let groups = lifecycle::list(&session, request.account.naming_strategy, request.ecs_cluster.as_deref(), None).await?;
            Ok(value(serde_json::to_value(finish(&session, &request.rule, &groups).await?)))
        }
    }
}
