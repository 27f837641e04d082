//! Enable, disable and resize (clouddriver-ecs-behaviour.md §7.1-§7.3), in Clouddriver's order,
//! each undone when a later step fails, and read back: a group two operations left mixed is
//! settled on the safe state.

use super::{OperationResult, locate, lock_server_group, resource_id};
use crate::aws::Session;
use crate::core::error::{AwsError, Error, Result};
use crate::core::model::ScalableTarget;
use crate::core::operation::Operation;

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
