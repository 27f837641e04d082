//! The server group lifecycle (clouddriver-ecs-behaviour.md §7, Decisions #10-#12): list,
//! disable, enable, resize, destroy, rollback, and waiting until a server group is healthy. Each
//! operation reads what it needs, then writes in Clouddriver's order; `destroy` finds what to
//! remove from the service's own scalable target, not by substring.

use std::time::{Duration, Instant};

use futures::future::try_join_all;
use serde::Serialize;
use tracing::info;

use crate::aws::Session;
use crate::core::config::NamingStrategy;
use crate::core::error::{AwsError, Error, Result};
use crate::core::health::{self, Snapshot, Verdict};
use crate::core::model::{ScalableTarget, ServiceState};
use crate::core::naming::derive_moniker;
use crate::core::operation::Operation;

/// A server group as `list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerGroupRow {
    pub server_group_name: String,
    pub cluster: String,
    pub version: Option<u32>,
    pub ecs_cluster_name: String,
    pub enabled: bool,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    pub task_definition: String,
    pub min_capacity: Option<i64>,
    pub max_capacity: Option<i64>,
    pub scaling_suspended: bool,
    /// The enabled state and the scaling disagree (see [`crate::core::model::scaling_mismatch`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_mismatch: Option<&'static str>,
    pub created_at: Option<i64>,
    /// Why the server group is incomplete — its deploy never finished — if it is: the crash
    /// marker is still on it, or it has no scalable target (every deploy registers one; this is
    /// how it shows in accounts that cannot tag services).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    /// When the deploy that left it incomplete started (the marker's time, else its creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete_since: Option<i64>,
}

/// The result of a lifecycle operation: what was done, step by step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationResult {
    pub operation: String,
    pub server_group_name: String,
    pub ecs_cluster_name: String,
    pub account: String,
    pub region: String,
    pub steps: Vec<String>,
}

impl OperationResult {
    fn new(operation: &str, session: &Session, ecs_cluster: &str, name: &str) -> Self {
        OperationResult {
            operation: operation.into(),
            server_group_name: name.into(),
            ecs_cluster_name: ecs_cluster.into(),
            account: session.account_name.clone(),
            region: session.region.clone(),
            steps: Vec::new(),
        }
    }

    fn step(&mut self, s: String) {
        crate::engine::journal::status(&s);
        self.steps.push(s);
    }
}

fn resource_id(ecs_cluster: &str, name: &str) -> String {
    crate::core::model::ResourceId::of(ecs_cluster, name).into()
}

/// Finds the ECS cluster that holds server group `name`: the given one, or the only one of the
/// account's clusters in the region that has it.
pub async fn locate(session: &Session, name: &str, ecs_cluster: Option<&str>) -> Result<(String, ServiceState)> {
    let clusters = match ecs_cluster {
        Some(c) => vec![c.to_string()],
        None => session.list_ecs_clusters().await?,
    };
    let found = session.describe_in_each(&clusters, name, false).await?;
    let mut matches: Vec<(String, ServiceState)> = found.into_iter().filter(|(_, s)| s.status != "INACTIVE").collect();
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(Error::invalid(
            "serverGroupName",
            "serverGroupName.invalid",
            format!(
                "server group `{name}` does not exist in {} ({}/{})",
                ecs_cluster
                    .map(|c| format!("ECS cluster `{c}`"))
                    .unwrap_or_else(|| format!("any of the ECS clusters {}", clusters.join(", "))),
                session.account_name,
                session.region
            ),
        )),
        _ => Err(Error::invalid(
            "ecsClusterName",
            "ecsClusterName.invalid",
            format!(
                "server group `{name}` exists in several ECS clusters ({}); name one with --ecs-cluster",
                matches.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// Every server group in the ECS cluster(s), of one Spinnaker cluster when `cluster` is given,
/// sorted by Spinnaker cluster and version.
pub async fn list(
    session: &Session,
    naming: NamingStrategy,
    ecs_cluster: Option<&str>,
    cluster: Option<&str>,
) -> Result<Vec<ServerGroupRow>> {
    let ecs_clusters = match ecs_cluster {
        Some(c) => vec![c.to_string()],
        None => session.list_ecs_clusters().await?,
    };
    let per_cluster = try_join_all(ecs_clusters.iter().map(|c| async move {
        let names: Vec<String> = session
            .list_service_names(c)
            .await?
            .into_iter()
            .filter(|n| cluster.is_none_or(|want| naming == NamingStrategy::Tags || n.starts_with(&format!("{want}-"))))
            .collect();
        let services = session.describe_services(c, &names, true).await?;
        let ids: Vec<String> = services.iter().map(|s| resource_id(c, &s.service_name)).collect();
        let targets = session.describe_scalable_targets(&ids).await?;
        Ok::<_, AwsError>((c.clone(), services, targets))
    }))
    .await?;
    let mut rows = Vec::new();
    for (c, services, targets) in per_cluster {
        for s in services.into_iter().filter(|s| s.status != "INACTIVE") {
            let (moniker, version) = derive_moniker(naming, &s.service_name, &s.tags);
            let Some(moniker) = moniker else { continue };
            if version.is_none() || cluster.is_some_and(|want| moniker.cluster() != want) {
                continue;
            }
            let target = targets.iter().find(|t| t.resource_id == resource_id(&c, &s.service_name));
            let incomplete = crate::core::naming::incompleteness(&s, target.is_some());
            rows.push(ServerGroupRow {
                incomplete_since: incomplete.as_ref().and_then(|(_, since)| *since),
                incomplete: incomplete.map(|(why, _)| why),
                server_group_name: s.service_name.clone(),
                cluster: moniker.cluster(),
                version,
                ecs_cluster_name: c.clone(),
                enabled: s.desired_count > 0,
                desired_count: s.desired_count,
                running_count: s.running_count,
                pending_count: s.pending_count,
                task_definition: s.task_definition.clone(),
                min_capacity: target.map(|t| t.min_capacity),
                max_capacity: target.map(|t| t.max_capacity),
                scaling_suspended: target.is_some_and(ScalableTarget::fully_suspended),
                scaling_mismatch: crate::core::model::scaling_mismatch(s.desired_count, target),
                created_at: s.created_at,
            });
        }
    }
    rows.sort_by(|a, b| (&a.cluster, a.version, &a.ecs_cluster_name).cmp(&(&b.cluster, b.version, &b.ecs_cluster_name)));
    Ok(rows)
}

/// Which server groups an account-wide command looks at.
pub struct Scope<'a> {
    pub naming: NamingStrategy,
    /// One ECS cluster, else all of the region's.
    pub ecs_cluster: Option<&'a str>,
    /// One Spinnaker cluster, else all.
    pub cluster: Option<&'a str>,
}

/// Destroys the incomplete server groups (see [`crate::core::naming::incompleteness`]) whose deploy started more than
/// `older_than` ago; with `plan_only` says what it would destroy. One result per server group.
pub async fn cleanup(session: &Session, scope: &Scope<'_>, older_than: Duration, plan_only: bool) -> Result<Vec<OperationResult>> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default();
    let cutoff = now - older_than.as_secs() as i64;
    let rows = list(session, scope.naming, scope.ecs_cluster, scope.cluster).await?;
    let mut results = Vec::new();
    for row in rows {
        let Some(why) = &row.incomplete else { continue };
        let since = row.incomplete_since.unwrap_or(0);
        if since > cutoff {
            info!("{} is incomplete ({why}) but its deploy started {}s ago; left for it to finish", row.server_group_name, now - since);
            continue;
        }
        if plan_only {
            let mut r = OperationResult::new("cleanup (plan)", session, &row.ecs_cluster_name, &row.server_group_name);
            r.step(format!("Would destroy {}: {why}, since {since} (seconds since the epoch).", row.server_group_name));
            results.push(r);
            continue;
        }
        match destroy_by_name(session, &row.ecs_cluster_name, &row.server_group_name).await {
            Ok(r) => results.push(r),
            Err(e) => {
                let mut report: Vec<String> =
                    results.iter().map(|r| format!("cleaned up before the failure: {}", r.server_group_name)).collect();
                report.push(format!("cleanup stopped at {}", row.server_group_name));
                return Err(e.with_report(report));
            }
        }
    }
    Ok(results)
}

/// Undoes what a deploy cut short by a crash was creating (`serve` after a restart): the server
/// group `creating` names is destroyed when it still carries that deploy's crash marker (or,
/// with its service gone, whatever is left of it). A group that is complete, or another deploy's,
/// is left as it is. Returns the line for the task's report.
pub async fn undo_create(session: &Session, creating: &crate::engine::journal::Creating) -> Result<String> {
    let (ecs_cluster, name) = (creating.ecs_cluster.as_str(), creating.server_group.as_str());
    let marker = |s: &ServiceState| crate::core::naming::marker_of(&s.tags).map(str::to_string);
    let names = [name.to_string()];
    let service = session.describe_services(ecs_cluster, &names, true).await?.into_iter().find(|s| s.status != "INACTIVE");
    let removed = |r: OperationResult| r.steps.join(" ");
    match service {
        Some(s) if creating.marker.is_some() && marker(&s) == creating.marker => {
            Ok(format!("removed {name}, which this task had left incomplete: {}", removed(destroy(session, ecs_cluster, &s).await?)))
        }
        Some(s) if marker(&s).is_some() => Ok(format!("{name} is being created by another deploy; left as it is")),
        Some(_) if creating.marker.is_none() => Ok(format!(
            "{name} exists and may be incomplete (this account cannot tag services, so it carries no crash marker): check it with \
             `ecs-deployer list`; `ecs-deployer cleanup` removes it if it has no scalable target"
        )),
        Some(_) => Ok(format!("{name} was created completely before the stop; it is left as it is")),
        None => match locate_remains(session, name, Some(ecs_cluster)).await? {
            Some((c, remains)) => Ok(format!("removed what was left of {name}: {}", removed(destroy(session, &c, &remains).await?))),
            None => Ok(format!("{name} was never created")),
        },
    }
}

/// Clouddriver's disable (§7.1): suspend scaling unless already suspended, then desired 0.
pub async fn disable(session: &Session, ecs_cluster: &str, name: &str) -> Result<OperationResult> {
    let _lock = lock_server_group(session, ecs_cluster, name).await?;
    let mut r = disable_steps(session, ecs_cluster, name).await?;
    let disabled = |desired: i64, target: Option<&ScalableTarget>| desired == 0 && target.is_none_or(ScalableTarget::fully_suspended);
    verify(session, ecs_cluster, name, "disabled", disabled).await?;
    r.step(format!("Server group {name} disabled for {}.", session.account_name));
    Ok(r)
}

async fn disable_steps(session: &Session, ecs_cluster: &str, name: &str) -> Result<OperationResult> {
    let mut r = OperationResult::new(Operation::DisableServerGroup.name(), session, ecs_cluster, name);
    let id = resource_id(ecs_cluster, name);
    let mut suspended_here = false;
    match session.describe_scalable_target(&id).await? {
        Some(t) if t.fully_suspended() => {
            r.step(format!("Autoscaling already suspended on server group {name} for {}.", session.account_name))
        }
        Some(_) => {
            r.step(format!("Suspending autoscaling on {name} server group for {}.", session.account_name));
            session.set_scaling_suspended(&id, true).await?;
            suspended_here = true;
            r.step(format!("Autoscaling on server group {name} suspended for {}.", session.account_name));
        }
        None => r.step(format!("Server group {name} has no scalable target; nothing to suspend.")),
    }
    r.step(format!("Disabling {name} server group for {}.", session.account_name));
    if let Err(e) = session.update_desired_count(ecs_cluster, name, 0).await {
        // Undo: a server group that keeps serving must keep scaling.
        let undo = if suspended_here {
            match session.set_scaling_suspended(&id, false).await {
                Ok(()) => format!("resumed the autoscaling of {name} again; {name} is unchanged"),
                Err(u) => format!("could not resume the autoscaling of {name}: {u}; it stays suspended"),
            }
        } else {
            format!("{name} is unchanged")
        };
        return Err(Error::from(e).with_report(vec![undo]));
    }
    Ok(r)
}

/// Takes the lock of the operations on server group `name`: nothing else changes it meanwhile
/// in this process (and, in `serve` on PostgreSQL, on the other replicas).
async fn lock_server_group(session: &Session, ecs_cluster: &str, name: &str) -> Result<crate::engine::locks::Guard> {
    let lock = crate::engine::locks::server_group(&session.account_name, &session.region, ecs_cluster, name);
    crate::engine::locks::take(&lock, &format!("{name} was not changed")).await
}

/// Re-reads the server group after an operation's last write. What it finds decides:
/// - the state this operation set: done;
/// - the other consistent state (another operation wrote last): left as that one set it, and this
///   operation fails saying so;
/// - a mix — disabled with scaling active, or serving with scaling suspended — (two operations
///   interleaved): the safe state, disabled with scaling suspended, is written and read back until
///   the group is consistent, so the last writer never leaves it mixed; the operation fails saying
///   what it found and what it set (a disable that ends disabled succeeds).
async fn verify(
    session: &Session,
    ecs_cluster: &str,
    name: &str,
    state: &str,
    holds: impl Fn(i64, Option<&ScalableTarget>) -> bool,
) -> Result<()> {
    let id = resource_id(ecs_cluster, name);
    let read = || async {
        let names = [name.to_string()];
        let (services, target) =
            tokio::try_join!(session.describe_services(ecs_cluster, &names, false), session.describe_scalable_target(&id))?;
        let desired = services.first().map(|s| s.desired_count).unwrap_or_default();
        Ok::<_, AwsError>((desired, target))
    };
    let describe = |(desired, target): &(i64, Option<ScalableTarget>)| match target {
        Some(t) if !t.fully_suspended() && !t.fully_resumed() => format!("desired {desired}, scaling partly suspended"),
        Some(t) => format!("desired {desired}, scaling {}", if t.fully_suspended() { "suspended" } else { "active" }),
        None => format!("desired {desired}, no scalable target"),
    };
    let found = read().await?;
    if holds(found.0, found.1.as_ref()) {
        return Ok(());
    }
    let changed = |outcome: String, now: &(i64, Option<ScalableTarget>)| Error::Failed {
        message: format!("another operation changed server group {name} while it was being {state}: found {}; {outcome}", describe(&found)),
        report: vec![format!("{name} now: {}", describe(now))],
    };
    if crate::core::model::scaling_mismatch(found.0, found.1.as_ref()).is_none() {
        return Err(changed("it is left as that operation set it".into(), &found));
    }
    let mut now = found.clone();
    for attempt in 0..5u32 {
        if now.1.is_some() {
            session.set_scaling_suspended(&id, true).await?;
        }
        session.update_desired_count(ecs_cluster, name, 0).await?;
        now = read().await?;
        if crate::core::model::scaling_mismatch(now.0, now.1.as_ref()).is_none() {
            break;
        }
        tokio::time::sleep(crate::aws::initial_backoff() * (attempt + 1)).await;
    }
    if state == "disabled" && holds(now.0, now.1.as_ref()) {
        return Ok(());
    }
    Err(changed("it was set disabled with its scaling suspended, the safe state; enable it again if it should serve".into(), &now))
}

/// What a server group is now, in one line, for the report of an operation cut short (a
/// replica died during a disable): its desired count, its scaling, and a mix named as one.
pub async fn state_line(session: &Session, ecs_cluster: Option<&str>, name: &str) -> String {
    let (ecs_cluster, service) = match locate(session, name, ecs_cluster).await {
        Ok(found) => found,
        Err(e) => return format!("could not read {name} back: {e}"),
    };
    let target = match session.describe_scalable_target(&resource_id(&ecs_cluster, name)).await {
        Ok(target) => target,
        Err(e) => return format!("could not read {name}'s scaling back: {e}"),
    };
    let scaling = match &target {
        Some(t) if t.fully_suspended() => "scaling suspended",
        Some(t) if t.fully_resumed() => "scaling active",
        Some(_) => "scaling partly suspended",
        None => "no scalable target",
    };
    let mismatch = crate::core::model::scaling_mismatch(service.desired_count, target.as_ref())
        .map(|m| format!(" — {m}: disable or enable it again"))
        .unwrap_or_default();
    format!("{name} now: desired {}, {scaling}{mismatch}", service.desired_count)
}

/// Clouddriver's enable (§7.2): desired = `desired`, else the scalable target's max, else 1;
/// then resume scaling.
pub async fn enable(
    session: &Session,
    ecs_cluster: &str,
    name: &str,
    desired: Option<i64>,
    previous_desired: Option<i64>,
) -> Result<OperationResult> {
    let _lock = lock_server_group(session, ecs_cluster, name).await?;
    let mut r = OperationResult::new(Operation::EnableServerGroup.name(), session, ecs_cluster, name);
    let id = resource_id(ecs_cluster, name);
    let target = session.describe_scalable_target(&id).await?;
    let desired = desired.unwrap_or_else(|| target.as_ref().map(|t| t.max_capacity).unwrap_or(1));
    r.step(format!("Enabling {name} server group for {} with {desired} tasks.", session.account_name));
    session.update_desired_count(ecs_cluster, name, desired).await?;
    if target.is_some() {
        if let Err(e) = session.set_scaling_suspended(&id, false).await {
            return Err(Error::from(e).with_report(undo_desired(session, ecs_cluster, name, previous_desired).await));
        }
        r.step(format!("Autoscaling on server group {name} resumed."));
    }
    // Serving, with its scaling on (which may already have moved the desired count).
    let enabled = |d: i64, t: Option<&ScalableTarget>| (d > 0 || desired == 0) && t.is_none_or(ScalableTarget::fully_resumed);
    verify(session, ecs_cluster, name, "enabled", enabled).await?;
    r.step(format!("Server group {name} enabled for {}.", session.account_name));
    Ok(r)
}

/// Puts the desired count back after a later step failed.
async fn undo_desired(session: &Session, ecs_cluster: &str, name: &str, previous: Option<i64>) -> Vec<String> {
    match previous {
        Some(p) => match session.update_desired_count(ecs_cluster, name, p).await {
            Ok(_) => vec![format!("set the desired count of {name} back to {p}; {name} is unchanged")],
            Err(e) => vec![format!("could not set the desired count of {name} back to {p}: {e}")],
        },
        None => vec![format!("the desired count of {name} was changed")],
    }
}

/// Clouddriver's resize (§7.3): desired count, then the scalable target's min and max.
pub async fn resize(
    session: &Session,
    ecs_cluster: &str,
    name: &str,
    (min, max, desired): (i64, i64, i64),
    previous_desired: Option<i64>,
) -> Result<OperationResult> {
    let _lock = lock_server_group(session, ecs_cluster, name).await?;
    let mut r = OperationResult::new(Operation::ResizeServerGroup.name(), session, ecs_cluster, name);
    let id = resource_id(ecs_cluster, name);
    let target = session.describe_scalable_target(&id).await?;
    r.step(format!("Resizing {name} to {desired} instances."));
    session.update_desired_count(ecs_cluster, name, desired).await?;
    r.step(format!("Done resizing {name} to {desired} instances."));
    if target.is_some() {
        r.step(format!("Resizing Scalable Target of {name} to {min}-{max} instances"));
        if let Err(e) = session.set_scalable_capacity(&id, min, max).await {
            return Err(Error::from(e).with_report(undo_desired(session, ecs_cluster, name, previous_desired).await));
        }
        r.step(format!("Done resizing Scalable Target of {name} to {min}-{max} instances"));
    }
    Ok(r)
}

/// Destroy (Decisions #10): the alarms that drive the server group's own policies, its
/// scheduled actions, policies and scalable target; then desired 0, delete the service and
/// deregister its task definition.
///
/// Destroying cannot be undone, so a failure half-way reports what was removed and what is left:
/// until the service is deleted, running destroy again finishes the job; after it, only the task
/// definition can be left, and the report gives the command that deregisters it.
pub async fn destroy(session: &Session, ecs_cluster: &str, service: &ServiceState) -> Result<OperationResult> {
    let name = &service.service_name;
    let _lock = lock_server_group(session, ecs_cluster, name).await?;
    let mut r = OperationResult::new(Operation::DestroyServerGroup.name(), session, ecs_cluster, name);
    let mut deleted = false;
    match destroy_steps(session, ecs_cluster, service, &mut r, &mut deleted).await {
        Ok(()) => Ok(r),
        Err(e) => {
            let mut report: Vec<String> = r.steps.iter().map(|s| format!("done before the failure: {s}")).collect();
            report.push(if r.steps.is_empty() {
                format!("nothing was removed: server group {name} is as it was")
            } else if deleted {
                format!(
                    "the service is deleted; its task definition is still registered: aws ecs deregister-task-definition --task-definition {}",
                    service.task_definition
                )
            } else {
                format!("server group {name} is partly destroyed and still exists: run destroy again to remove the rest")
            });
            Err(e.with_report(report))
        }
    }
}

/// The steps of destroy, each recorded in `r`; `service_deleted` says whether the service is gone.
async fn destroy_steps(
    session: &Session,
    ecs_cluster: &str,
    service: &ServiceState,
    r: &mut OperationResult,
    service_deleted: &mut bool,
) -> Result<()> {
    let name = &service.service_name;
    let id = resource_id(ecs_cluster, name);
    let (target, tracking_alarms) = tokio::try_join!(session.describe_scalable_target(&id), target_tracking_alarms(session, &id))?;
    // Every target-tracking alarm named after the server group goes, also those of policies that
    // are gone (a put retried after a lost answer, a crash between writes).
    if !tracking_alarms.is_empty() {
        session.delete_alarms(&tracking_alarms).await?;
        r.step(format!("Deleted alarms {}.", tracking_alarms.join(", ")));
    }
    if let Some(target) = target {
        destroy_scaling(session, &target.resource_id, r).await?;
    }
    let live = service.status == "ACTIVE" || service.status == "DRAINING";
    if service.status == "ACTIVE" && service.desired_count > 0 {
        session.update_desired_count(ecs_cluster, name, 0).await?;
        r.step(format!("Scaled {name} to 0."));
    }
    if live {
        gone_is_done(session.delete_service(ecs_cluster, name).await)?;
        r.step(format!("Deleted service {name}."));
    }
    // Deleted now, or already (remains of an earlier destroy).
    *service_deleted = true;
    // A live service's task definition is deregistered as it is; what `locate_remains` found is ACTIVE.
    if !service.task_definition.is_empty() {
        session.deregister_task_definition(&service.task_definition).await?;
        r.step(format!("Deregistered task definition {}.", service.task_definition));
    }
    Ok(())
}

/// The alarms AWS names after a target-tracking policy of `resource_id`
/// (`TargetTracking-service/CLUSTER/NAME-AlarmHigh-…`, `-AlarmLow-…`).
async fn target_tracking_alarms(session: &Session, resource_id: &str) -> std::result::Result<Vec<String>, AwsError> {
    let prefix = format!("TargetTracking-{resource_id}-");
    let names = session.alarm_names_with_prefix(&prefix).await?;
    Ok(names.into_iter().filter(|n| n[prefix.len()..].starts_with("AlarmHigh-") || n[prefix.len()..].starts_with("AlarmLow-")).collect())
}

/// Removes a scalable target with its step policies' alarms, scheduled actions and policies.
async fn destroy_scaling(session: &Session, resource_id: &str, r: &mut OperationResult) -> Result<()> {
    let (policies, scheduled) =
        tokio::try_join!(session.describe_scaling_policies(resource_id), session.describe_scheduled_actions(resource_id))?;
    let (alarm_names, prefixes) = crate::core::scaling::alarm_lookups(&policies);
    let policy_arns = crate::core::scaling::members(&policies, "PolicyARN");
    // Alarms of this server group's step policies: listed by the policy, or naming its ARN.
    let alarms =
        if alarm_names.is_empty() && prefixes.is_empty() { Vec::new() } else { session.describe_alarms(&alarm_names, &prefixes).await? };
    let alarms: Vec<String> = alarms
        .into_iter()
        .filter(|a| {
            alarm_names.contains(&a.alarm_name)
                || a.alarm_actions.iter().chain(&a.ok_actions).chain(&a.insufficient_data_actions).any(|x| policy_arns.contains(x))
        })
        .map(|a| a.alarm_name)
        .collect();
    if !alarms.is_empty() {
        session.delete_alarms(&alarms).await?;
        r.step(format!("Deleted alarms {}.", alarms.join(", ")));
    }
    let scheduled_names = crate::core::scaling::members(&scheduled, "ScheduledActionName");
    try_join_all(scheduled_names.iter().map(|n| async { gone_is_done(session.delete_scheduled_action(resource_id, n).await) })).await?;
    let policy_names = crate::core::scaling::members(&policies, "PolicyName");
    try_join_all(policy_names.iter().map(|n| async { gone_is_done(session.delete_scaling_policy(resource_id, n).await) })).await?;
    if !policy_names.is_empty() || !scheduled_names.is_empty() {
        r.step(format!("Deleted scaling policies [{}] and scheduled actions [{}].", policy_names.join(", "), scheduled_names.join(", ")));
    }
    gone_is_done(session.deregister_scalable_target(resource_id).await)?;
    r.step(format!("Deregistered scalable target {resource_id}."));
    Ok(())
}

/// What is left of server group `name` whose service is INACTIVE or gone — a destroy cut short
/// after DeleteService, a deploy killed half-way: a scalable target or an ACTIVE task definition
/// (from the INACTIVE service, or found by its SERVER_GROUP variable in the family). None when
/// nothing is left.
pub async fn locate_remains(session: &Session, name: &str, ecs_cluster: Option<&str>) -> Result<Option<(String, ServiceState)>> {
    let clusters = match ecs_cluster {
        Some(c) => vec![c.to_string()],
        None => session.list_ecs_clusters().await?,
    };
    let found = try_join_all(clusters.iter().map(|c| remains_in(session, c, name))).await?;
    Ok(clusters.into_iter().zip(found).find_map(|(c, remains)| remains.map(|r| (c, r))))
}

/// What is left of server group `name` in one ECS cluster (see [`locate_remains`]).
async fn remains_in(session: &Session, ecs_cluster: &str, name: &str) -> std::result::Result<Option<ServiceState>, AwsError> {
    let (names, id) = ([name.to_string()], resource_id(ecs_cluster, name));
    let (services, target) =
        tokio::try_join!(session.describe_services(ecs_cluster, &names, false), session.describe_scalable_target(&id))?;
    let record = services.into_iter().next();
    let task_definition = match record.as_ref().map(|s| s.task_definition.clone()).filter(|t| !t.is_empty()) {
        Some(td) => (session.task_definition_status(&td).await?.as_deref() == Some("ACTIVE")).then_some(td),
        None => match crate::core::moniker::parse_name(name).moniker {
            Some(m) => session.active_task_definitions_of(&m.cluster(), name).await?.into_iter().next(),
            None => None,
        },
    };
    if target.is_none() && task_definition.is_none() {
        return Ok(None);
    }
    let status = record.map(|s| s.status).unwrap_or_else(|| "MISSING".into());
    Ok(Some(ServiceState {
        service_name: name.to_string(),
        status,
        task_definition: task_definition.unwrap_or_default(),
        ..Default::default()
    }))
}

/// Whether `e` says the object is gone (deleted, or an INACTIVE service).
pub(crate) fn is_gone(e: &AwsError) -> bool {
    ["ObjectNotFoundException", "ServiceNotFoundException", "ServiceNotActiveException"].iter().any(|c| e.is(c))
}

/// A delete whose object is already gone — the SDK's retry after a lost response, a second
/// destroy after a failure — has done its job.
pub(crate) fn gone_is_done(result: std::result::Result<(), AwsError>) -> std::result::Result<(), AwsError> {
    match result {
        Err(e) if is_gone(&e) => Ok(()),
        other => other,
    }
}

/// Destroys server group `name` of `ecs_cluster`, reading its service first.
pub async fn destroy_by_name(session: &Session, ecs_cluster: &str, name: &str) -> Result<OperationResult> {
    let (cluster, service) = locate(session, name, Some(ecs_cluster)).await?;
    destroy(session, &cluster, &service).await
}

/// How long to wait for health, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    pub timeout: Duration,
    pub poll: Duration,
}

impl WaitOptions {
    /// Polls at the settings' interval (3 s unless set) until `timeout`.
    pub fn new(timeout: Duration) -> Self {
        WaitOptions { timeout, poll: crate::core::settings::get().poll_interval }
    }
}

/// Something that shows a wait's progress to a person.
pub trait Progress {
    /// The current state, e.g. "rollout IN_PROGRESS (desired 2, running 1, pending 1)".
    fn status(&mut self, line: &str);
    /// A service event, shown once.
    fn event(&mut self, message: &str);
    fn done(&mut self);
}

/// Progress shown nowhere: a plan run by `doctor`, a task of `serve` (whose history gets the lines).
pub struct Quiet;

impl Progress for Quiet {
    fn status(&mut self, _: &str) {}
    fn event(&mut self, _: &str) {}
    fn done(&mut self) {}
}

/// Polls until the server group is healthy (see [`health::assess`]), it has failed, or `timeout` passed.
pub async fn wait_healthy(
    session: &Session,
    ecs_cluster: &str,
    name: &str,
    task_definition: &str,
    wait: WaitOptions,
    progress: &mut dyn Progress,
) -> Result<()> {
    // A wait holds no worker slot in `serve`: other tasks run meanwhile.
    crate::engine::slot::while_waiting(wait_healthy_here(session, ecs_cluster, name, task_definition, wait, progress)).await
}

async fn wait_healthy_here(
    session: &Session,
    ecs_cluster: &str,
    name: &str,
    task_definition: &str,
    wait: WaitOptions,
    progress: &mut dyn Progress,
) -> Result<()> {
    let timeout = wait.timeout;
    // The CLI bounds the timeout; a caller that did not waits at most a day, never panics.
    let deadline = Instant::now().checked_add(timeout).unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
    let names = [name.to_string()];
    let mut seen_events: Vec<String> = Vec::new();
    loop {
        let service = session.describe_services(ecs_cluster, &names, false).await?.into_iter().next();
        let mut snapshot = Snapshot { service, ..Default::default() };
        if let Some(s) = &snapshot.service {
            for e in s.events.iter().rev() {
                if !seen_events.contains(&e.id) {
                    seen_events.push(e.id.clone());
                    progress.event(&e.message);
                }
            }
            // Only read what the judgement needs: stopped tasks once tasks have failed, targets
            // once the rollout is done.
            if s.deployments.iter().any(|d| d.failed_tasks > 0) {
                snapshot.stopped_tasks = session.stopped_tasks(ecs_cluster, name).await?;
            }
            let rolled_out = matches!(health::assess(&snapshot, task_definition), Verdict::Healthy);
            if rolled_out && !s.target_group_arns.is_empty() {
                let targets = try_join_all(s.target_group_arns.iter().map(|tg| session.target_health(tg))).await?;
                snapshot.targets = targets.into_iter().flatten().collect();
            }
        }
        let last = match health::assess(&snapshot, task_definition) {
            Verdict::Healthy => {
                progress.done();
                return Ok(());
            }
            Verdict::Failed(reason) => {
                progress.done();
                return Err(Error::Failed { message: format!("server group {name} is not healthy: {reason}"), report: Vec::new() });
            }
            Verdict::Waiting(what) => {
                progress.status(&format!("{name}: {what}"));
                what
            }
        };
        if crate::engine::interrupt::requested() {
            progress.done();
            return Err(Error::Failed {
                message: format!("interrupted while waiting for server group {name} to become healthy; last seen: {last}"),
                report: vec![format!("{name} exists and was left as it is")],
            });
        }
        if Instant::now() >= deadline {
            progress.done();
            return Err(Error::Failed {
                message: format!(
                    "timed out after {}s waiting for server group {name} to become healthy (rollout COMPLETED, tasks running, targets healthy); last seen: {last}",
                    timeout.as_secs()
                ),
                report: vec![format!("check `aws ecs describe-services --cluster {ecs_cluster} --services {name}` for its events")],
            });
        }
        tokio::time::sleep(wait.poll.min(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(10)))).await;
    }
}

/// Orca's explicit rollback (§9.3): enable `restore` (sized up to `current`'s capacity when
/// that is larger), wait until it is healthy, then disable `current`. Refuses, before changing
/// anything, to restore a server group whose task definition no longer exists.
pub async fn rollback(
    session: &Session,
    ecs_cluster: Option<&str>,
    restore: &str,
    current: &str,
    timeout: Duration,
    progress: &mut dyn Progress,
) -> Result<Vec<OperationResult>> {
    let ((restore_cluster, restore_service), (current_cluster, current_service)) =
        tokio::try_join!(locate(session, restore, ecs_cluster), locate(session, current, ecs_cluster))?;
    if restore_cluster != current_cluster {
        return Err(Error::invalid(
            "rollbackContext",
            "rollbackServerGroupDescription.invalid",
            format!(
                "{restore} is in ECS cluster {restore_cluster} and {current} in {current_cluster}; a rollback stays in one ECS cluster"
            ),
        ));
    }
    match session.task_definition_status(&restore_service.task_definition).await? {
        Some(status) if status != "DELETE_IN_PROGRESS" => {}
        _ => {
            return Err(Error::invalid(
                "restoreServerGroupName",
                "rollbackServerGroup.restoreServerGroupName.invalid",
                format!(
                    "cannot restore {restore}: its task definition {} no longer exists; deploy that version again instead",
                    restore_service.task_definition
                ),
            ));
        }
    }
    let (restore_id, current_id) = (resource_id(&restore_cluster, restore), resource_id(&current_cluster, current));
    let (restore_target, current_target) =
        tokio::try_join!(session.describe_scalable_target(&restore_id), session.describe_scalable_target(&current_id))?;
    let mut results = Vec::new();
    let restore_max = restore_target.as_ref().map(|t| t.max_capacity).unwrap_or(1);
    let desired = restore_max.max(current_service.desired_count);
    results.push(enable(session, &restore_cluster, restore, Some(desired), Some(restore_service.desired_count)).await?);
    if let Some(t) = &restore_target {
        let max = t.max_capacity.max(current_target.as_ref().map(|c| c.max_capacity).unwrap_or(0)).max(desired);
        if max != t.max_capacity {
            results.push(resize(session, &restore_cluster, restore, (t.min_capacity, max, desired), Some(desired)).await?);
        }
    }
    wait_healthy(session, &restore_cluster, restore, &restore_service.task_definition, WaitOptions::new(timeout), progress).await?;
    results.push(disable(session, &current_cluster, current).await?);
    Ok(results)
}
