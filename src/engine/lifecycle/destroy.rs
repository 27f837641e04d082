//! Destroy (Decisions #10) and what builds on it: destroying by name, finding and removing the
//! remains of a destroy or deploy cut short, cleanup of incomplete server groups, and undoing a
//! deploy a crash cut short.

use std::time::Duration;

use futures::future::try_join_all;
use tracing::info;

use super::{OperationResult, gone_is_done, list, locate, lock_server_group, resource_id};
use crate::aws::Session;
use crate::core::config::NamingStrategy;
use crate::core::error::{AwsError, Result};
use crate::core::model::ServiceState;
use crate::core::operation::Operation;
use crate::core::plan::alarms::TAG_SERVER_GROUP;

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
    destroy_deployment_alarms(session, service, r).await?;
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
    let names = session.alarm_names_with_prefix(&crate::core::scaling::target_tracking_prefix(resource_id)).await?;
    Ok(names.into_iter().filter(|n| crate::core::scaling::is_target_tracking_alarm_of(resource_id, n)).collect())
}

/// Deletes the server group's own deployment alarms: those it names that are tagged as its
/// (faithful-copy.md §6.6); shared alarms stay.
async fn destroy_deployment_alarms(session: &Session, service: &ServiceState, r: &mut OperationResult) -> Result<()> {
    if service.deployment_alarm_names.is_empty() {
        return Ok(());
    }
    let ours = (TAG_SERVER_GROUP.to_string(), service.service_name.clone());
    let alarms = session.describe_alarms(&service.deployment_alarm_names, &[]).await?;
    let own: Vec<String> = alarms.into_iter().filter(|a| a.tags.contains(&ours)).map(|a| a.alarm_name).collect();
    if !own.is_empty() {
        session.delete_alarms(&own).await?;
        r.step(format!("Deleted deployment alarms {}.", own.join(", ")));
    }
    Ok(())
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

/// Destroys server group `name` of `ecs_cluster`, reading its service first.
pub async fn destroy_by_name(session: &Session, ecs_cluster: &str, name: &str) -> Result<OperationResult> {
    let (cluster, service) = locate(session, name, Some(ecs_cluster)).await?;
    destroy(session, &cluster, &service).await
}
