//! The console's view of traffic (blue-green.md §7): every rule or listener default action that
//! forwards to a cluster's target groups, with each target group's weight and share, whether a
//! switch-back is possible and whether a traffic operation holds the rule now.

use futures::future::try_join_all;

use crate::aws::Session;
use crate::core::config::Account;
use crate::core::error::Result;
use crate::core::traffic::journal::{self, TAG_PREVIOUS};
use crate::core::traffic::{RuleRef, short};

/// A rule's weights as the console shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleWeights {
    pub rule: RuleRef,
    /// (target group name, weight, share in percent).
    pub target_groups: Vec<(String, i32, i32)>,
    /// The weights of an earlier shift are kept: a switch-back restores them.
    pub can_switch_back: bool,
    /// The owner of a traffic operation holding the rule now.
    pub held_by: Option<String>,
}

/// The rules forwarding to any of the target groups `names` (each once).
pub async fn rules_of(account: &Account, region: &str, names: &[String]) -> Result<Vec<RuleWeights>> {
    let session = Session::connect(account, region).await?;
    let arns: Vec<String> = session.target_groups(names).await?.into_iter().flat_map(|(_, arns)| arns).collect();
    let forwards = try_join_all(arns.iter().map(|arn| session.forwards_to(arn))).await?;
    let mut rules: Vec<(RuleRef, crate::core::traffic::Forward)> = Vec::new();
    for (rule, forward) in forwards.into_iter().flatten() {
        if !rules.iter().any(|(r, _)| *r == rule) {
            rules.push((rule, forward));
        }
    }
    let tags = try_join_all(rules.iter().map(|(r, _)| session.rule_tags(r.arn()))).await?;
    Ok(rules
        .into_iter()
        .zip(tags)
        .map(|((rule, forward), tags)| RuleWeights {
            target_groups: forward
                .target_groups
                .iter()
                .map(|t| {
                    let name = short(&t.target_group_arn).split('/').next().unwrap_or_default().to_string();
                    let share = if forward.plain { 100 } else { forward.share(&t.target_group_arn) };
                    (name, if forward.plain { 100 } else { t.weight }, share)
                })
                .collect(),
            can_switch_back: tags.iter().any(|(k, _)| k == TAG_PREVIOUS),
            held_by: journal::lease(&tags).map(|(owner, _)| owner),
            rule,
        })
        .collect())
}
