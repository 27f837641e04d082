//! Applying a plan: register the task definition, create the service, register its scalable
//! target — while the source's scaling is still being read — then copy that scaling as the core
//! planned it and remove the crash marker. Decides nothing: every request is rendered from the
//! plan, and on failure what was created is removed (or kept, with `--keep-failed`) and reported.

use std::time::Duration;

use serde_json::Value;
use tracing::warn;

use super::DeployOptions;
use super::copy::copy_scaling;
use super::created::Created;
use super::outcome::DeployOutcome;
use crate::aws::Session;
use crate::core::error::{AwsError, Error};
use crate::core::model::ServiceState;
use crate::core::naming::TAG_INCOMPLETE;
use crate::core::plan::DeployPlan;
use crate::core::plan::merge::RevisionMembers;
use crate::core::scaling::ScalingCopyPlan;
use crate::engine::{interrupt, journal, locks};
use futures::FutureExt;

/// The right to allocate the next version of one cluster, held from the read of the taken names
/// until CreateService took the new one (or failed).
pub(super) type Allocation = locks::Guard;

/// Why an apply did not create the server group.
pub(super) enum ApplyFailure {
    /// CreateService lost a race for the name; what this attempt created was removed.
    NameTaken,
    Error(Error),
}

/// Why [`create_server_group`] stopped.
enum CreateFailure {
    /// Another deploy took the name first; the task definition this one registered is
    /// deregistered again.
    NameTaken,
    Failed(AwsError),
}

impl From<AwsError> for CreateFailure {
    fn from(e: AwsError) -> Self {
        CreateFailure::Failed(e)
    }
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

async fn register_scalable_target(session: &Session, body: &Value) -> Result<(), AwsError> {
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

/// Applies `plan` in order: task definition, service, scalable target — while `scaling_copy`
/// (the copy plan, computed by the core once the source's scaling is read) arrives — then the
/// copy. On failure it removes what it created.
pub(super) async fn apply(
    session: &Session,
    plan: &DeployPlan,
    options: &DeployOptions,
    scaling_copy: impl Future<Output = Result<Option<ScalingCopyPlan>, AwsError>>,
    late: impl Future<Output = Result<RevisionMembers, AwsError>>,
    allocation: Option<Allocation>,
) -> Result<DeployOutcome, ApplyFailure> {
    let mut created = Created::default();
    // The source's revision is read while the task definition is registered; CreateService waits for it.
    let late = late.boxed_local().shared();
    let core = create_server_group(session, plan, &mut created, allocation, late.clone());
    let (core, scaling_copy, late) = tokio::join!(core, scaling_copy, late);
    let (task_definition_arn, service) = match core {
        Ok(done) => done,
        Err(CreateFailure::NameTaken) => return Err(ApplyFailure::NameTaken),
        Err(CreateFailure::Failed(e)) => return Err(failure(session, plan, options, e, &created).await),
    };
    let copy = match scaling_copy {
        Ok(copy) => copy,
        Err(e) => return Err(failure(session, plan, options, e, &created).await),
    };
    if interrupt::requested() {
        return Err(failure(session, plan, options, interrupt::error(), &created).await);
    }
    let mut outcome = DeployOutcome::planned(plan, copy.as_ref());
    outcome.warnings.extend(late.map(|l| l.warnings).unwrap_or_default());
    if let Some(copy) = &copy {
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
            Some(_) => session.untag_resource(&service.service_arn, TAG_INCOMPLETE).await,
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
async fn still_active(session: &Session, plan: &DeployPlan) -> Result<(), AwsError> {
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

/// Stops at a step boundary once an interrupt was requested.
fn stop() -> Result<(), CreateFailure> {
    if interrupt::requested() { Err(CreateFailure::Failed(interrupt::error())) } else { Ok(()) }
}

/// Records, before the first write, what this deploy is about to create (a crash leaves the
/// record for the next run to finish or undo).
async fn record(plan: &DeployPlan) -> Result<(), AwsError> {
    let creating = journal::Creating {
        account: plan.account.clone(),
        region: plan.region.clone(),
        ecs_cluster: plan.ecs_cluster_name.clone(),
        server_group: plan.server_group_name.clone(),
        marker: plan.incomplete_marker().map(str::to_string),
    };
    journal::creating(creating).await.map_err(|message| AwsError {
        operation: "task store".into(),
        code: None,
        message: format!("what this deploy is about to create could not be recorded, so nothing was created: {message}"),
    })
}

/// Registers the task definition, creates the service and registers its scalable target,
/// recording each in `created`.
async fn create_server_group(
    session: &Session,
    plan: &DeployPlan,
    created: &mut Created,
    allocation: Option<Allocation>,
    late: impl Future<Output = Result<RevisionMembers, AwsError>>,
) -> Result<(String, ServiceState), CreateFailure> {
    stop()?;
    record(plan).await?;
    // The per-version deployment alarms exist before CreateService names them; counted as created
    // from the start (deleting a missing alarm is a no-op), put beside the task definition.
    created.alarms.extend(plan.deployment_alarms.iter().map(|a| a.alarm_name.clone()));
    let (task_definition_arn, alarms) =
        tokio::join!(register_task_definition(session, plan, created), put_deployment_alarms(session, plan));
    let task_definition_arn = task_definition_arn?;
    alarms?;
    stop()?;
    let late = late.await?;
    let service = create_service(session, plan, &task_definition_arn, &late, created).await?;
    // The name is taken: the next deploy of the cluster may read the names now.
    drop(allocation);
    stop()?;
    create_scalable_target(session, plan, created).await?;
    Ok((task_definition_arn, service))
}

/// PutMetricAlarm, then TagResource, of each per-version deployment alarm, all at once; every
/// write settles before an error is reported.
async fn put_deployment_alarms(session: &Session, plan: &DeployPlan) -> Result<(), AwsError> {
    let puts = plan.deployment_alarms.iter().map(|a| async move {
        session.put_metric_alarm(a).await?;
        session.tag_alarm(&a.alarm_name, &a.tags).await
    });
    futures::future::join_all(puts).await.into_iter().collect()
}

async fn register_task_definition(session: &Session, plan: &DeployPlan, created: &mut Created) -> Result<String, AwsError> {
    journal::status("Creating Amazon ECS Task Definition...");
    let arn = match session.register_task_definition(&plan.register_task_definition).await {
        Ok(arn) => arn,
        Err(e) => {
            // Every attempt failed, yet the last may have been applied: read it back by its containers.
            match session.find_registered(&plan.family, &plan.register_task_definition).await {
                Ok(found) => created.task_definition_arn = found,
                Err(read) => created.may_exist.push(format!("a task definition revision of family {} ({read})", plan.family)),
            }
            return Err(e);
        }
    };
    created.task_definition_arn = Some(arn.clone());
    journal::status(format!("Done creating Amazon ECS Task Definition... {arn}"));
    Ok(arn)
}

async fn create_service(
    session: &Session,
    plan: &DeployPlan,
    task_definition_arn: &str,
    late: &RevisionMembers,
    created: &mut Created,
) -> Result<ServiceState, CreateFailure> {
    let (name, account) = (&plan.server_group_name, &plan.account);
    journal::status(format!("Creating {} of {name} with {task_definition_arn} for {account}.", plan.desired_count));
    let service = match session.create_service(&plan.create_service_request(task_definition_arn, late)).await {
        Ok(s) => s,
        Err(e) if is_name_taken(&e) => {
            if session.deregister_task_definition(task_definition_arn).await.is_ok() {
                created.task_definition_arn = None;
            }
            return Err(CreateFailure::NameTaken);
        }
        Err(e) => {
            // Every attempt failed, yet one may have been applied: a service by that name running
            // this deploy's own task definition revision is this deploy's.
            let names = [name.clone()];
            let ours = |s: &ServiceState| s.status != "INACTIVE" && s.task_definition == task_definition_arn;
            match session.describe_services(&plan.ecs_cluster_name, &names, false).await {
                Ok(found) if found.iter().any(ours) => created.service = Some((plan.ecs_cluster_name.clone(), name.clone())),
                Ok(_) => {}
                Err(read) => created.may_exist.push(format!("service {name} in ECS cluster {} ({read})", plan.ecs_cluster_name)),
            }
            return Err(e.into());
        }
    };
    created.service = Some((plan.ecs_cluster_name.clone(), service.service_name.clone()));
    journal::status(format!("Done creating {} of {} with {task_definition_arn} for {account}.", plan.desired_count, service.service_name));
    Ok(service)
}

async fn create_scalable_target(session: &Session, plan: &DeployPlan, created: &mut Created) -> Result<(), AwsError> {
    journal::status("Creating Amazon Application Auto Scaling Scalable Target Definition...");
    let id = plan.scalable_target.resource_id.as_str();
    if let Err(e) = register_scalable_target(session, &plan.scalable_target.body()).await {
        match session.describe_scalable_target(id).await {
            Ok(Some(_)) => created.scalable_target = Some(id.to_string()),
            Ok(None) => {}
            Err(read) => created.may_exist.push(format!("scalable target {id} ({read})")),
        }
        return Err(e);
    }
    created.scalable_target = Some(id.to_string());
    journal::status("Done creating Amazon Application Auto Scaling Scalable Target Definition.");
    Ok(())
}
