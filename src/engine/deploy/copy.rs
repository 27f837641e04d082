//! The copy of the source's scaling onto the new server group, as the core planned it: the
//! policies and scheduled actions all at once, each alarm as soon as the policies it names exist.

use futures::FutureExt;
use futures::future::try_join_all;

use super::created::Created;
use super::outcome::ScalingCopyResult;
use crate::aws::Session;
use crate::core::error::AwsError;
use crate::core::plan::DeployPlan;
use crate::core::scaling::{self, ScalingCopyPlan};
use crate::engine::interrupt;

/// Puts the copied policies and scheduled actions (all at once) and each alarm as soon as the
/// policies it names exist (their ARNs go into its actions). Scheduled actions never hold up an
/// alarm, nor one policy the alarms of another.
pub(super) async fn copy_scaling(
    session: &Session,
    plan: &DeployPlan,
    copy: &ScalingCopyPlan,
    created: &mut Created,
) -> Result<ScalingCopyResult, AwsError> {
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
        if interrupt::requested() {
            return Err(interrupt::error());
        }
        session.put_metric_alarm(&scaling::fill_policy_arns(&a.request, &arns)).await
    }));
    let (policy_arns, scheduled, alarms) = tokio::join!(policy_arns, scheduled, alarms);
    let (policy_arns, _, _) = (policy_arns?, scheduled?, alarms?);
    let partition = crate::core::config::partition(&plan.region);
    let mut result = ScalingCopyResult::planned(plan, Some(copy)).expect("a copy has a source");
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
async fn all_settled<T>(writes: impl IntoIterator<Item = impl Future<Output = Result<T, AwsError>>>) -> Result<Vec<T>, AwsError> {
    futures::future::join_all(writes).await.into_iter().collect()
}
