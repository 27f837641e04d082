//! The steps of a shift, shared by `shift` and a traffic-managed deploy (blue-green.md §4 step
//! 7): each step read, compared with what was last written, written with every other action kept
//! and read back under the rule's lock, journaled, then baked while the alarms and the target
//! health of the side taking traffic are watched; a failure restores the forward action the
//! caller names. Also the journal's start and end (§5).

use std::time::{Duration, Instant};

use crate::aws::Session;
use crate::aws::rules::RuleRead;
use crate::core::error::{Error, Result};
use crate::core::traffic::journal::{self, TAG_PREVIOUS, TAG_SHIFT, TAG_SHIFT_AT, TAG_SHIFT_FROM, TAG_SHIFT_PREV};
use crate::core::traffic::{Forward, RuleRef, Steps, Stickiness, short};
use crate::engine::lifecycle::Progress;
use crate::engine::{interrupt, journal as status, locks};

/// The rule's forward action, or a refusal naming the rule.
pub(crate) fn forward_of(read: &RuleRead) -> Result<Forward> {
    read.forward.clone().ok_or_else(|| {
        Error::invalid(
            "rule",
            "trafficShift.rule.invalid",
            format!("{} has no forward action: there is no traffic to shift", read.rule.arn()),
        )
    })
}

/// Seconds since the epoch (the journal's times).
pub(super) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

/// Journals the rule before the first write: who holds it since when, and `original`.
pub(crate) async fn journal_start(session: &Session, rule: &RuleRef, owner: &str, original: &Forward) -> Result<()> {
    let mut tags = vec![(TAG_SHIFT.to_string(), format!("{owner}:{}", now()))];
    tags.extend(journal::chunked(TAG_SHIFT_FROM, &journal::encode(original)));
    Ok(session.tag_rule(rule.arn(), &tags).await?)
}

/// Ends the journal of a completed shift (at least one step written): the in-flight tags it
/// wrote go while `original` is kept as the weights a switch-back restores, both at once.
pub(crate) async fn journal_done(session: &Session, rule: &RuleRef, original: &Forward) -> Result<()> {
    let mut written: Vec<(String, String)> = journal::chunked(TAG_SHIFT_FROM, &journal::encode(original));
    written.extend([TAG_SHIFT, TAG_SHIFT_AT, TAG_SHIFT_PREV].map(|k| (k.to_string(), String::new())));
    let keys: Vec<String> = journal::in_flight_keys(&written);
    let previous = journal::chunked(TAG_PREVIOUS, &journal::encode(original));
    tokio::try_join!(session.untag_rule(rule.arn(), &keys), session.tag_rule(rule.arn(), &previous))?;
    Ok(())
}

/// One side of a shift: its server group(s), for messages, and its target group.
pub(crate) struct Side<'a> {
    pub name: &'a str,
    pub target_group: &'a str,
}

/// A shift's steps between two sides of a rule.
pub(crate) struct Leg<'a> {
    pub rule: &'a RuleRef,
    pub from: Side<'a>,
    pub to: Side<'a>,
    pub steps: &'a Steps,
    pub alarms: &'a [String],
    pub stickiness: Option<Stickiness>,
}

impl Leg<'_> {
    /// The forward action of step `p`: `base` with the pair at `100 - p` / `p`.
    pub(crate) fn at(&self, base: &Forward, p: i32) -> Result<Forward> {
        base.with_weights(&[(self.from.target_group.to_string(), 100 - p), (self.to.target_group.to_string(), p)], self.stickiness)
            .map_err(|e| Error::invalid("rule", "trafficShift.rule.invalid", e))
    }
}

/// Where the steps start: the rule as last read, what it routes as, and what a failure restores.
pub(crate) struct Start {
    pub read: RuleRead,
    pub expected: Forward,
    pub restore_to: Forward,
}

/// Runs the steps; on a failure (other than an outside change of the rule) restores
/// `start.restore_to` and fails with the report. Returns the last read-back and the step lines.
/// The rule's lock is held from one step to the next when there is no bake between them, so
/// the read-back of one step is the next one's pre-read: a step costs one ModifyRule (with its
/// journal tags sent at the same time) and its read-back.
pub(crate) async fn run_steps(
    session: &Session,
    leg: &Leg<'_>,
    start: Start,
    progress: &mut dyn Progress,
) -> Result<(RuleRead, Vec<String>)> {
    let Start { mut read, mut expected, restore_to } = start;
    let mut lines = Vec::new();
    let mut held: Option<locks::Guard> = None;
    for (p, wait) in leg.steps.percents.iter().zip(&leg.steps.bakes) {
        let new = leg.at(&restore_to, *p)?;
        match step(session, leg, (&mut held, &mut read), &expected, &new, *wait, progress).await {
            Ok(()) => {
                lines.push(format!("{} {}% / {} {p}%", leg.from.name, 100 - p, leg.to.name));
                expected = new;
            }
            Err(e) if e.to_string().starts_with("rule changed outside") => return Err(e),
            Err(e) => {
                drop(held.take());
                let line = restore(session, &read, &restore_to).await;
                return Err(e.with_report(vec![line]));
            }
        }
    }
    Ok((read, lines))
}

/// One step: the lock (and a pre-read under it) unless still held, the write journaled at the
/// same time, the read-back; then, with a bake, the lock released and the bake watched.
async fn step(
    session: &Session,
    leg: &Leg<'_>,
    (held, read): (&mut Option<locks::Guard>, &mut RuleRead),
    expected: &Forward,
    new: &Forward,
    wait: Duration,
    progress: &mut dyn Progress,
) -> Result<()> {
    if held.is_none() {
        *held = Some(locks::take(&locks::rule(leg.rule.arn()), "the rule was not changed").await?);
        *read = session.read_rule(leg.rule).await?;
    }
    let journal = [(TAG_SHIFT_AT.to_string(), journal::encode(new)), (TAG_SHIFT_PREV.to_string(), journal::encode(expected))];
    *read = write_locked(session, read, expected, new, &journal).await?;
    let p = new.share(leg.to.target_group);
    status::status(format!("{} now at {} ({} {}%, {} {p}%)", leg.rule.arn(), new.describe(), leg.from.name, 100 - p, leg.to.name));
    if !wait.is_zero() {
        *held = None;
        bake(session, leg.alarms, leg.to.target_group, read, wait, progress).await?;
    }
    Ok(())
}

/// Writes `forward` into the rule as read, under the rule's lock, after reading it and checking
/// it still routes as `expected`; `journal` tags are written at the same time. The read-back,
/// verified.
pub(crate) async fn write(
    session: &Session,
    rule: &RuleRef,
    expected: &Forward,
    forward: &Forward,
    journal: &[(String, String)],
) -> Result<RuleRead> {
    let _lock = locks::take(&locks::rule(rule.arn()), "the rule was not changed").await?;
    let current = session.read_rule(rule).await?;
    write_locked(session, &current, expected, forward, journal).await
}

/// [`write`] with the lock held and `current` read under it.
pub(crate) async fn write_locked(
    session: &Session,
    current: &RuleRead,
    expected: &Forward,
    forward: &Forward,
    journal: &[(String, String)],
) -> Result<RuleRead> {
    let now = forward_of(current)?;
    if !now.routes_as(expected) {
        return Err(Error::Failed {
            message: format!("rule changed outside ecs-deployer: expected {}, found {}", expected.describe(), now.describe()),
            report: vec!["nothing was written; someone else holds the traffic now".into()],
        });
    }
    let tags = async { if journal.is_empty() { Ok(()) } else { session.tag_rule(current.rule.arn(), journal).await } };
    let (back, ()) = tokio::try_join!(session.write_forward(current, forward), tags)?;
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

/// Reads `rule` and restores `original` into it (see [`restore`]); one report line.
pub(crate) async fn restore_rule(session: &Session, rule: &RuleRef, original: &Forward) -> String {
    match session.read_rule(rule).await {
        Ok(read) => format!("{}: {}", rule.arn(), restore(session, &read, original).await),
        Err(e) => format!("could not read {} to restore it ({e}); `ecs-deployer cleanup` restores it from its tags", rule.arn()),
    }
}

/// Restores the journaled forward action and removes the journal; one report line.
pub(super) async fn restore(session: &Session, read: &RuleRead, original: &Forward) -> String {
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
async fn bake(
    session: &Session,
    alarms: &[String],
    to_tg: &str,
    read: &RuleRead,
    bake: Duration,
    progress: &mut dyn Progress,
) -> Result<()> {
    let deadline = Instant::now() + bake;
    let poll = crate::core::settings::get().poll_interval;
    loop {
        let (alarms, targets) = tokio::try_join!(session.alarm_states(alarms), session.target_health(to_tg))?;
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
        // One line per step (a task's history keeps each new line).
        progress.status(&format!("baking at {} for {}s", read.forward.as_ref().map(Forward::describe).unwrap_or_default(), bake.as_secs()));
        tokio::time::sleep(poll.min(left)).await;
    }
}
