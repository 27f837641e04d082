//! A traffic-managed deploy's traffic (blue-green.md §3-§4). Before CreateService: read the
//! production rule, find the pair's idle target group, journal the rule, finish a warm group
//! left in the idle target group, and add the idle target group at weight 0 when the rule does
//! not name it (ECS refuses a target group without a load balancer). The description's mapping
//! to the pair is rewritten to the idle target group. Once vN+1 is healthy: the steps of
//! `engine::traffic` from blue to green, then blue kept warm or disabled as `keepWarm` says.

use std::time::Duration;

use tracing::warn;

use crate::aws::Session;
use crate::aws::rules::RuleRead;
use crate::core::error::{Error, Result};
use crate::core::request::DeployRequest;
use crate::core::traffic::deploy::{KeepWarm, TrafficShift};
use crate::core::traffic::{self, Forward, journal, short};
use crate::engine::lifecycle::{self, Progress};
use crate::engine::traffic::{self as shifting, Leg, Side, Start};

/// Who holds the rule during a deploy (the `ecs-deployer/shift` lease): the `serve` task, else
/// `deploy`.
fn owner() -> String {
    crate::engine::journal::owner().unwrap_or_else(|| "deploy".into())
}

/// The rule and the pair as the deploy found and prepared them.
pub(super) struct Pair {
    /// The rule's forward action before the deploy (journaled; switch-back's target).
    original: Forward,
    /// The rule after the idle target group was added (routes as `original`; a failure
    /// restores it).
    read: RuleRead,
    ready: Forward,
    /// The idle target group's name and ARN: vN+1's.
    idle: (String, String),
    /// The live target group (None before the pair serves: then the other of the pair).
    live: String,
    /// The enabled server groups serving the live target group.
    blue: Vec<String>,
    /// What the deploy does with the traffic, for `--plan` and the outcome.
    pub(super) planned: Vec<String>,
}

fn refused(message: String) -> Error {
    Error::invalid("trafficShift", "createServerGroupDescription.trafficShift.invalid", message)
}

/// The pair's target group ARNs, each name naming exactly one target group.
async fn pair_arns(session: &Session, shift: &TrafficShift) -> Result<[String; 2]> {
    let found = session.target_groups(&shift.target_groups).await?;
    let one = |i: usize| match found[i].1.as_slice() {
        [arn] => Ok(arn.clone()),
        [] => Err(refused(format!("there is no target group named {}", shift.target_groups[i]))),
        _ => Err(refused(format!("several target groups are named {}", shift.target_groups[i]))),
    };
    Ok([one(0)?, one(1)?])
}

/// Reads the rule, the pair and the cluster's enabled groups; checks every step; and, unless
/// planning, journals the rule, finishes a warm group in the idle target group and adds the
/// idle target group to the rule at weight 0.
pub(super) async fn before_create(session: &Session, req: &DeployRequest, shift: &TrafficShift, plan_only: bool) -> Result<Pair> {
    let family = req.moniker.cluster();
    let (read, tags, pair, rows) = tokio::try_join!(
        async { Ok::<_, Error>(session.read_rule(&shift.rule).await?) },
        async { Ok(session.rule_tags(shift.rule.arn()).await?) },
        pair_arns(session, shift),
        lifecycle::list(session, req.account.naming_strategy, Some(&req.ecs_cluster), Some(&family)),
    )?;
    let original = shifting::forward_of(&read)?;
    shifting::check_lease(&tags, &owner(), false)?;
    let idle = traffic::idle(&original, &pair).map_err(refused)?;
    let live = idle.live.clone().unwrap_or_else(|| if idle.idle == pair[0] { pair[1].clone() } else { pair[0].clone() });
    // The listing read every group's service: its target groups come with it.
    let serving = |arn: &str| -> Vec<String> {
        let enabled = rows.iter().filter(|r| r.enabled && r.target_group_arns.iter().any(|t| t == arn));
        enabled.map(|r| r.server_group_name.clone()).collect()
    };
    let (blue, warm) = (serving(&live), serving(&idle.idle));
    let idle_name = if idle.idle == pair[0] { shift.target_groups[0].clone() } else { shift.target_groups[1].clone() };
    let live_weight = if original.plain { 100 } else { original.weight(&live) };
    let ready = original.with_weights(&[(live.clone(), live_weight), (idle.idle.clone(), 0)], None).map_err(refused)?;
    let leg = leg(shift, &blue, &live, "vN+1", &idle.idle);
    for p in &shift.steps.percents {
        leg.at(&ready, *p)?;
    }
    let mut planned: Vec<String> =
        warm.iter().map(|w| format!("finish the previous shift: disable {w} (warm at weight 0 in {idle_name})")).collect();
    if !original.target_groups.iter().any(|t| t.target_group_arn == idle.idle) {
        planned.push(format!("add {idle_name} to {} at weight 0 before CreateService", shift.rule.arn()));
    }
    planned.push(format!("create the new version in {idle_name}; then steps {:?} from {}", shift.steps.percents, short(&live)));
    let mut pair = Pair { original, read, ready, idle: (idle_name, idle.idle), live, blue, planned };
    if !plan_only {
        prepare_rule(session, &req.ecs_cluster, shift, &mut pair, &warm).await?;
    }
    Ok(pair)
}

fn leg<'a>(shift: &'a TrafficShift, blue: &'a [String], live: &'a str, green: &'a str, idle: &'a str) -> Leg<'a> {
    Leg {
        rule: &shift.rule,
        from: Side { name: blue.first().map_or("(none)", String::as_str), target_group: live },
        to: Side { name: green, target_group: idle },
        steps: &shift.steps,
        alarms: &shift.alarms,
        stickiness: shift.stickiness,
    }
}

/// The writes before CreateService: the journal, the warm group finished, the idle target group
/// added at weight 0 (read back).
async fn prepare_rule(session: &Session, ecs_cluster: &str, shift: &TrafficShift, pair: &mut Pair, warm: &[String]) -> Result<()> {
    shifting::journal_start(session, &shift.rule, &owner(), &pair.original).await?;
    let result = async {
        for name in warm {
            warn!("finishing the previous shift: disabling {name} (warm at weight 0 in {})", pair.idle.0);
            lifecycle::disable(session, ecs_cluster, name).await?;
        }
        if !pair.original.target_groups.iter().any(|t| t.target_group_arn == pair.idle.1) {
            let at = [(journal::TAG_SHIFT_AT.to_string(), journal::encode(&pair.ready))];
            pair.read = shifting::write(session, &shift.rule, &pair.original, &pair.ready, &at).await?;
        }
        Ok::<_, Error>(())
    };
    match result.await {
        Ok(()) => Ok(()),
        Err(e) => Err(e.with_report(abandon(session, shift).await)),
    }
}

/// The request with its mappings to the pair (by name, or a clone's by ARN) rewritten to the
/// idle target group.
pub(super) fn rewrite(req: &mut DeployRequest, shift: &TrafficShift, pair: &Pair) {
    req.retarget(&shift.target_groups, &[&pair.live, &pair.idle.1], (&pair.idle.0, &pair.idle.1));
}

/// Removes the journal of a deploy that failed, and says how the rule routes now (read back);
/// one report line.
pub(super) async fn abandon(session: &Session, shift: &TrafficShift) -> Vec<String> {
    let result = async {
        let tags = session.rule_tags(shift.rule.arn()).await?;
        session.untag_rule(shift.rule.arn(), &journal::in_flight_keys(&tags)).await?;
        session.read_rule(&shift.rule).await
    };
    match result.await {
        Ok(read) => vec![format!(
            "the rule {} routes {}",
            shift.rule.arn(),
            read.forward.as_ref().map(Forward::describe).unwrap_or_else(|| "no forward action".into())
        )],
        Err(e) => vec![format!("could not remove the rule's journal ({e}); `ecs-deployer cleanup` does")],
    }
}

/// Points the test rule at green (journaled first) and waits until the probe answers its
/// status through it; a failure restores the test rule. The test rule and its original forward.
async fn point_test<'a>(
    session: &Session,
    test: &'a crate::core::traffic::deploy::TestTraffic,
    pair: &Pair,
    green: &str,
    deadline: std::time::Instant,
    progress: &mut dyn Progress,
) -> Result<(&'a crate::core::traffic::deploy::TestTraffic, Forward)> {
    let (read, tags) = tokio::try_join!(session.read_rule(&test.rule), session.rule_tags(test.rule.arn()))?;
    let original = shifting::forward_of(&read)?;
    shifting::check_lease(&tags, &owner(), false)?;
    let mut weights: Vec<(String, i32)> = original.target_groups.iter().map(|t| (t.target_group_arn.clone(), 0)).collect();
    weights.retain(|(arn, _)| *arn != pair.idle.1);
    weights.push((pair.idle.1.clone(), 100));
    let to_green = original.with_weights(&weights, None).map_err(refused)?;
    shifting::journal_start(session, &test.rule, &owner(), &original).await?;
    let at = [(journal::TAG_SHIFT_AT.to_string(), journal::encode(&to_green))];
    if let Err(e) = shifting::write(session, &test.rule, &original, &to_green, &at).await {
        return Err(e.with_report(vec![shifting::restore_rule(session, &test.rule, &original).await]));
    }
    let Some((url, expect)) = &test.probe else { return Ok((test, original)) };
    loop {
        let answer = crate::aws::fetch::probe_status(url, &test.restrictions, Duration::from_secs(10)).await;
        if answer.as_ref().is_ok_and(|status| status == expect) {
            return Ok((test, original));
        }
        let seen = match &answer {
            Ok(status) => format!("answered {status}"),
            Err(e) => e.clone(),
        };
        if std::time::Instant::now() >= deadline {
            let message = format!("the probe {url} through the test rule never answered {expect} for {green}: last {seen}");
            return Err(Error::Failed { message, report: vec![shifting::restore_rule(session, &test.rule, &original).await] });
        }
        progress.status(&format!("probing {url} through the test rule: {seen}; waiting for {expect}"));
        tokio::time::sleep(crate::core::settings::get().poll_interval).await;
    }
}

/// Once vN+1 is healthy: checks it is ready, moves the weights in steps (a failure restores the
/// rule), ends the journal, and keeps blue warm or disables it as `keepWarm` says.
pub(super) async fn after_healthy(
    session: &Session,
    ecs_cluster: &str,
    shift: &TrafficShift,
    pair: Pair,
    green: &str,
    timeout: Duration,
    progress: &mut dyn Progress,
) -> Result<Vec<String>> {
    let (_, service) = lifecycle::locate(session, green, Some(ecs_cluster)).await?;
    // ECS registers the tasks in the target group as they start: wait for them to pass.
    let deadline = std::time::Instant::now() + timeout;
    while let Err(e) = shifting::check_ready(session, &service, &pair.idle.1, false).await {
        if std::time::Instant::now() >= deadline || !matches!(e, Error::Invalid(_)) {
            return Err(e.with_report(abandon(session, shift).await));
        }
        progress.status(&format!("waiting for {green}'s targets in {}: {e}", pair.idle.0));
        tokio::time::sleep(crate::core::settings::get().poll_interval).await;
    }
    let tested = match &shift.test {
        Some(test) => Some(point_test(session, test, &pair, green, deadline, progress).await?),
        None => None,
    };
    // The bakes watch the listed alarms and green's own deployment alarms.
    let mut alarms = shift.alarms.clone();
    alarms.extend(service.deployment_alarm_names.iter().filter(|a| !shift.alarms.contains(a)).cloned());
    let mut leg = leg(shift, &pair.blue, &pair.live, green, &pair.idle.1);
    leg.alarms = &alarms;
    let start = Start { read: pair.read.clone(), expected: pair.ready.clone(), restore_to: pair.ready.clone() };
    let (_, mut lines) = match shifting::run_steps(session, &leg, start, progress).await {
        Ok(done) => done,
        Err(e) => {
            let restored = match &tested {
                Some((test, original)) => shifting::restore_rule(session, &test.rule, original).await,
                None => String::new(),
            };
            return Err(e.with_report(vec![restored].into_iter().filter(|l| !l.is_empty()).collect()));
        }
    };
    shifting::journal_done(session, &shift.rule, &pair.original).await?;
    if let Some((test, original)) = &tested {
        shifting::journal_done(session, &test.rule, original).await?;
        lines.push(format!("the test rule {} forwards to {}", test.rule.arn(), pair.idle.0));
    }
    match shift.keep_warm {
        KeepWarm::UntilNextDeploy => {
            lines.extend(pair.blue.iter().map(|b| format!("{b} kept warm at weight 0 until the next deploy or `finish`")));
        }
        KeepWarm::For(wait) => {
            if !wait.is_zero() {
                progress.status(&format!("keeping {} warm for {}s", pair.blue.join(", "), wait.as_secs()));
                tokio::time::sleep(wait.min(Duration::from_secs(3600))).await;
            }
            for b in &pair.blue {
                lifecycle::disable(session, ecs_cluster, b).await?;
                lines.push(format!("disabled {b} (keepWarm {}s)", wait.as_secs()));
            }
        }
    }
    progress.done();
    Ok(lines)
}
