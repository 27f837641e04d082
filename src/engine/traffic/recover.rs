//! After a crash (blue-green.md §5): the traffic journals left on rules — found from AWS alone —
//! whose operation started longer ago than the cleanup threshold are restored to the forward
//! action journaled before their first write, unless the rule was changed outside ecs-deployer
//! since the journal's last write (then both are reported, and only `--force` restores).

use std::time::Duration;

use tracing::info;

use super::steps::{forward_of, restore};
use crate::aws::Session;
use crate::core::error::Result;
use crate::core::traffic::RuleRef;
use crate::core::traffic::journal::{self, TAG_SHIFT_AT, TAG_SHIFT_FROM, TAG_SHIFT_PREV};
use crate::engine::lifecycle::OperationResult;

/// What `cleanup` does with the region's journaled rules: one result per rule.
pub async fn recover(session: &Session, older_than: Duration, plan_only: bool, force: bool) -> Result<Vec<OperationResult>> {
    let now = super::steps::now();
    let cutoff = now - older_than.as_secs() as i64;
    let mut results = Vec::new();
    for (rule, tags) in session.journaled_rules().await? {
        let (owner, since) = journal::lease(&tags).unwrap_or_default();
        if since > cutoff {
            info!("{} is held by a traffic operation of {owner} that started {}s ago; left for it to finish", rule.arn(), now - since);
            continue;
        }
        let line = recover_one(session, &rule, &tags, plan_only, force).await?;
        results.push(OperationResult {
            operation: if plan_only { "restoreTrafficRule (plan)" } else { "restoreTrafficRule" }.into(),
            server_group_name: String::new(),
            ecs_cluster_name: String::new(),
            account: session.account_name.clone(),
            region: session.region.clone(),
            steps: vec![format!("{}: {line}", rule.arn())],
        });
    }
    Ok(results)
}

/// After `serve` adopted an abandoned task: the journal `owner` (the task) left on `rule`, if it
/// is still there, restored as `cleanup` would (never over an outside change); one line.
pub async fn restore_owned(account: &crate::core::config::Account, region: &str, rule: &RuleRef, owner: &str) -> String {
    let restored = async {
        let session = Session::connect(account, region).await?;
        let tags = session.rule_tags(rule.arn()).await?;
        match journal::lease(&tags) {
            Some((holder, _)) if holder == owner => recover_one(&session, rule, &tags, false, false).await,
            _ => Ok("no traffic journal of this task on it".to_string()),
        }
    };
    match restored.await {
        Ok(line) => format!("{}: {line}", rule.arn()),
        Err(e) => format!("{}: could not restore it ({e}); `ecs-deployer cleanup` does", rule.arn()),
    }
}

async fn recover_one(session: &Session, rule: &RuleRef, tags: &[(String, String)], plan_only: bool, force: bool) -> Result<String> {
    let decoded = |key: &str| journal::joined(key, tags).and_then(|t| journal::decode(&t, rule.arn()));
    let Some(original) = decoded(TAG_SHIFT_FROM) else {
        return Ok(format!("its journal has no readable {TAG_SHIFT_FROM}; left as it is"));
    };
    let read = session.read_rule(rule).await?;
    let current = forward_of(&read)?;
    let last = decoded(TAG_SHIFT_AT).unwrap_or_else(|| original.clone());
    // The write and its journal tags go out together: a crash between them leaves the rule at
    // the weights before the last write (`shift-prev`).
    let before_last = decoded(TAG_SHIFT_PREV);
    let ours = [Some(&last), Some(&original), before_last.as_ref()].into_iter().flatten().any(|f| current.routes_as(f));
    if !ours && !force {
        return Ok(format!(
            "changed outside ecs-deployer: the journal's last write was {}, the rule routes {}; --force restores {}",
            last.describe(),
            current.describe(),
            original.describe()
        ));
    }
    if plan_only {
        return Ok(format!("would restore {} (routes {} now)", original.describe(), current.describe()));
    }
    Ok(restore(session, &read, &original).await)
}
