//! Traffic between two server groups by listener-rule weights (blue-green.md §4-§7): `shift`
//! (steps of weights, each written with every other action of the rule kept, read back, then
//! baked while alarms and target health are watched), `switch-back` (the weights before the last
//! completed shift, in one write) and `finish` (disable the groups the rule no longer sends
//! traffic to). Every write is preceded by a read compared with what ecs-deployer last wrote, made
//! under the rule's lock, and journaled on the rule as tags first, so a failure, an interrupt or
//! `cleanup` restores the rule's forward action as it was.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::aws::Session;
use crate::aws::rules::RuleRead;
use crate::core::error::{Error, Result};
use crate::core::model::ServiceState;
use crate::core::traffic::journal::{self, TAG_PREVIOUS, TAG_SHIFT, TAG_SHIFT_AT, TAG_SHIFT_FROM};
use crate::core::traffic::{Forward, RuleRef, Steps, Stickiness, short};
use crate::engine::lifecycle::{self, OperationResult, Progress};
use crate::engine::{interrupt, journal as status, locks};

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

fn refused(field: &str, message: String) -> Error {
    Error::invalid(field, &format!("trafficShift.{field}.invalid"), message)
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

/// The rule's forward action, or a refusal naming the rule.
fn forward_of(read: &RuleRead) -> Result<Forward> {
    read.forward.clone().ok_or_else(|| refused("rule", format!("{} has no forward action: there is no traffic to shift", read.rule.arn())))
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
async fn check_ready(session: &Session, group: &ServiceState, target_group: &str, force: bool) -> Result<()> {
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
fn check_lease(tags: &[(String, String)], owner: &str, force: bool) -> Result<()> {
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

/// Writes `forward` into the rule as read, under the rule's lock, after checking the rule still
/// routes as `expected`; returns the read-back, verified.
async fn write(session: &Session, read: &RuleRead, expected: &Forward, forward: &Forward) -> Result<RuleRead> {
    let _lock = locks::take(&locks::rule(read.rule.arn()), "the rule was not changed").await?;
    let current = session.read_rule(&read.rule).await?;
    let now = forward_of(&current)?;
    if !now.routes_as(expected) {
        return Err(Error::Failed {
            message: format!("rule changed outside ecs-deployer: expected {}, found {}", expected.describe(), now.describe()),
            report: vec!["nothing was written; someone else holds the traffic now".into()],
        });
    }
    let back = session.write_forward(&current, forward).await?;
    match &back.forward {
        Some(f) if f.routes_as(forward) => Ok(back),
        found => Err(Error::Failed {
            message: format!(
                "the rule did not read back as written: wrote {}, read {}",
                forward.describe(),
                found.as_ref().map(Forward::describe).unwrap_or_default()
            ),
            report: Vec::new(),
        }),
    }
}

/// Restores the journaled forward action and removes the journal; one report line.
async fn restore(session: &Session, read: &RuleRead, original: &Forward) -> String {
    let result = async {
        let back = session.write_forward(read, original).await?;
        let tags = session.rule_tags(read.rule.arn()).await?;
        session.untag_rule(read.rule.arn(), &journal::in_flight_keys(&tags)).await?;
        Ok::<_, crate::core::error::AwsError>(back)
    };
    match result.await {
        Ok(back) if back.forward.as_ref().is_some_and(|f| f.routes_as(original)) => {
            format!("restored the rule's forward action: {}", original.describe())
        }
        Ok(back) => {
            format!("the restore read back {}; expected {}", back.forward.map(|f| f.describe()).unwrap_or_default(), original.describe())
        }
        Err(e) => format!("could not restore the rule ({e}); `ecs-deployer cleanup` restores it from its tags"),
    }
}

/// Watches a bake: the alarms (ALARM fails), the target group taking traffic (an unhealthy
/// target fails) and the rule (an outside change ends the shift, without a restore).
async fn bake(session: &Session, shift: &Shift, to_tg: &str, read: &RuleRead, bake: Duration, progress: &mut dyn Progress) -> Result<()> {
    let deadline = Instant::now() + bake;
    let poll = crate::core::settings::get().poll_interval;
    loop {
        let (alarms, targets) = tokio::try_join!(session.alarm_states(&shift.alarms), session.target_health(to_tg))?;
        if let Some((name, _, reason)) = alarms.iter().find(|(_, state, _)| state == "ALARM") {
            return Err(Error::Failed { message: format!("alarm {name} is in ALARM during the bake: {reason}"), report: Vec::new() });
        }
        if let Some(t) = targets.iter().find(|t| t.state == "unhealthy") {
            return Err(Error::Failed {
                message: format!("target {} of {} is unhealthy during the bake", t.id, short(to_tg)),
                report: Vec::new(),
            });
        }
        if interrupt::requested() {
            return Err(Error::Interrupted { report: Vec::new() });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        progress.status(&format!(
            "baking at {}: {}s left",
            read.forward.as_ref().map(Forward::describe).unwrap_or_default(),
            left.as_secs()
        ));
        tokio::time::sleep(poll.min(left)).await;
    }
}

/// Runs a shift: journal, then each step (check, write, read back, bake); on a failure the
/// journaled forward action is restored. Afterwards the weights before it are kept for a
/// switch-back.
pub async fn shift(session: &Session, shift: &Shift, progress: &mut dyn Progress) -> Result<TrafficOutcome> {
    let ((_, from), (_, to)) = tokio::try_join!(
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
    // Every step is checked before the first write.
    for p in &shift.steps.percents {
        original.with_weights(&[(from_tg.clone(), 100 - p), (to_tg.clone(), *p)], shift.stickiness).map_err(|e| refused("rule", e))?;
    }
    check_ready(session, &to, &to_tg, shift.force).await?;
    let mut journal_tags = vec![(TAG_SHIFT.to_string(), format!("{}:{}", shift.owner, now()))];
    journal_tags.extend(journal::chunked(TAG_SHIFT_FROM, &journal::encode(&original)));
    session.tag_rule(shift.rule.arn(), &journal_tags).await?;
    let mut steps = Vec::new();
    let (mut read, mut expected) = (first, original.clone());
    for (p, wait) in shift.steps.percents.iter().zip(&shift.steps.bakes) {
        let new =
            original.with_weights(&[(from_tg.clone(), 100 - p), (to_tg.clone(), *p)], shift.stickiness).map_err(|e| refused("rule", e))?;
        let step = async {
            let back = write(session, &read, &expected, &new).await?;
            session.tag_rule(shift.rule.arn(), &[(TAG_SHIFT_AT.to_string(), journal::encode(&new))]).await?;
            status::status(format!(
                "{} now at {} ({} {}%, {} {}%)",
                shift.rule.arn(),
                new.describe(),
                from.service_name,
                100 - p,
                to.service_name,
                p
            ));
            bake(session, shift, &to_tg, &back, *wait, progress).await?;
            Ok::<_, Error>(back)
        };
        match step.await {
            Ok(back) => {
                steps.push(format!("{} {}% / {} {}%", from.service_name, 100 - p, to.service_name, p));
                (read, expected) = (back, new);
            }
            Err(e) if e.to_string().starts_with("rule changed outside") => return Err(e),
            Err(e) => {
                let line = restore(session, &read, &original).await;
                return Err(e.with_report(vec![line]));
            }
        }
    }
    let tags = session.rule_tags(shift.rule.arn()).await?;
    session.untag_rule(shift.rule.arn(), &journal::in_flight_keys(&tags)).await?;
    session.tag_rule(shift.rule.arn(), &journal::chunked(TAG_PREVIOUS, &journal::encode(&original))).await?;
    progress.done();
    Ok(outcome("shiftTraffic", &shift.rule, read.forward.as_ref().unwrap_or(&expected), steps))
}

/// Restores the weights before the last completed shift in one write (the weights now become
/// the ones a second switch-back restores). Refused when the target groups regaining weight have
/// no healthy target (the group there is not warm: roll back instead), unless forced.
pub async fn switch_back(session: &Session, rule: &RuleRef, force: bool) -> Result<TrafficOutcome> {
    let (read, tags) = tokio::try_join!(session.read_rule(rule), session.rule_tags(rule.arn()))?;
    let current = forward_of(&read)?;
    let previous = journal::joined(TAG_PREVIOUS, &tags).and_then(|t| journal::decode(&t, rule.arn())).ok_or_else(|| {
        refused("rule", format!("{} has no weights of an earlier shift to switch back to (no {TAG_PREVIOUS} tag)", rule.arn()))
    })?;
    for gaining in previous.target_groups.iter().filter(|t| t.weight > current.weight(&t.target_group_arn)) {
        let healthy = session.target_health(&gaining.target_group_arn).await?.iter().filter(|t| t.state == "healthy").count();
        if healthy == 0 && !force {
            return Err(refused(
                "rule",
                format!(
                    "{} has no healthy target: the server group there is not warm; use `rollback` (enable, wait, shift) instead",
                    short(&gaining.target_group_arn)
                ),
            ));
        }
    }
    let new = current.with_weights(&restoring(&current, &previous), previous.stickiness).map_err(|e| refused("rule", e))?;
    let back = write(session, &read, &current, &new).await?;
    session.tag_rule(rule.arn(), &journal::chunked(TAG_PREVIOUS, &journal::encode(&current))).await?;
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
    let names: Vec<String> = groups.iter().filter(|g| g.enabled).map(|g| g.server_group_name.clone()).collect();
    let mut results = Vec::new();
    for name in names {
        let (ecs_cluster, service) = lifecycle::locate(session, &name, None).await?;
        let in_rule: Vec<&String> =
            service.target_group_arns.iter().filter(|arn| forward.target_groups.iter().any(|t| t.target_group_arn == **arn)).collect();
        if !in_rule.is_empty() && in_rule.iter().all(|arn| forward.weight(arn) == 0) {
            results.push(lifecycle::disable(session, &ecs_cluster, &name).await?);
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
                owner: "serve".into(),
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
