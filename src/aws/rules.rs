//! ELBv2 listener rules and default actions for traffic shifts: read a rule's actions (its
//! forward action as [`Forward`]), write a new forward into the actions as read — every other
//! action sent as it was with its `Order`, an OIDC action by `UseExistingClientSecret` — and read
//! it back; the rule's journal tags. ModifyRule and ModifyListener replace the whole list, and
//! `Conditions` are never sent, so they stay as they are.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, Tag, TargetGroupStickinessConfig, TargetGroupTuple,
};

use super::{Session, aws_error};
use crate::core::error::AwsError;
use crate::core::traffic::{Forward, RuleRef, Stickiness, Weighted};

/// A rule as read: its actions (kept to be written back) and its forward action.
#[derive(Debug, Clone)]
pub struct RuleRead {
    pub rule: RuleRef,
    actions: Vec<Action>,
    /// The forward action; None when the rule routes otherwise (redirect, fixed response).
    pub forward: Option<Forward>,
}

fn forward_of(actions: &[Action]) -> Option<Forward> {
    let a = actions.iter().find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))?;
    match a.forward_config() {
        Some(config) => Some(Forward {
            target_groups: config
                .target_groups()
                .iter()
                .map(|t| Weighted {
                    target_group_arn: t.target_group_arn().unwrap_or_default().to_string(),
                    weight: t.weight().unwrap_or(1),
                })
                .collect(),
            stickiness: config
                .target_group_stickiness_config()
                .map(|s| Stickiness { enabled: s.enabled().unwrap_or(false), duration_seconds: s.duration_seconds() }),
            plain: false,
        }),
        None => Some(Forward {
            target_groups: vec![Weighted { target_group_arn: a.target_group_arn()?.to_string(), weight: 1 }],
            stickiness: None,
            plain: true,
        }),
    }
}

/// The forward action `forward`, in the `Order` of the one it replaces.
fn forward_action(forward: &Forward, order: Option<i32>) -> Action {
    let tuples =
        forward.target_groups.iter().map(|t| TargetGroupTuple::builder().target_group_arn(&t.target_group_arn).weight(t.weight).build());
    let mut config = ForwardActionConfig::builder().set_target_groups(Some(tuples.collect()));
    if let Some(s) = forward.stickiness {
        config = config.target_group_stickiness_config(
            TargetGroupStickinessConfig::builder()
                .enabled(s.enabled)
                .set_duration_seconds(s.duration_seconds.filter(|_| s.enabled))
                .build(),
        );
    }
    Action::builder().r#type(ActionTypeEnum::Forward).forward_config(config.build()).set_order(order).build()
}

/// The actions as read with the forward replaced: every other one as it was (an OIDC action
/// without its client secret, by `UseExistingClientSecret`).
fn rewritten(actions: &[Action], forward: &Forward) -> Vec<Action> {
    actions
        .iter()
        .map(|a| match a.r#type() {
            Some(ActionTypeEnum::Forward) => forward_action(forward, a.order()),
            Some(ActionTypeEnum::AuthenticateOidc) => {
                let mut action = a.clone();
                if let Some(config) = a.authenticate_oidc_config() {
                    let mut config = config.clone();
                    config.client_secret = None;
                    config.use_existing_client_secret = Some(true);
                    action.authenticate_oidc_config = Some(config);
                }
                action
            }
            _ => a.clone(),
        })
        .collect()
}

impl Session {
    /// Reads the rule (or the listener's default actions).
    pub async fn read_rule(&self, rule: &RuleRef) -> Result<RuleRead, AwsError> {
        let actions = match rule {
            RuleRef::Rule(arn) => {
                let out = self
                    .elb
                    .describe_rules()
                    .rule_arns(arn)
                    .send()
                    .await
                    .map_err(|e| aws_error("elasticloadbalancing:DescribeRules", e))?;
                out.rules().first().map(|r| r.actions().to_vec()).unwrap_or_default()
            }
            RuleRef::ListenerDefault(arn) => {
                let out = self
                    .elb
                    .describe_listeners()
                    .listener_arns(arn)
                    .send()
                    .await
                    .map_err(|e| aws_error("elasticloadbalancing:DescribeListeners", e))?;
                out.listeners().first().map(|l| l.default_actions().to_vec()).unwrap_or_default()
            }
        };
        Ok(RuleRead { rule: rule.clone(), forward: forward_of(&actions), actions })
    }

    /// Writes `forward` into the rule's actions as `read` holds them, then reads it back.
    pub async fn write_forward(&self, read: &RuleRead, forward: &Forward) -> Result<RuleRead, AwsError> {
        super::fence::check("elasticloadbalancing:ModifyRule")?;
        let actions = rewritten(&read.actions, forward);
        match &read.rule {
            RuleRef::Rule(arn) => {
                self.elb
                    .modify_rule()
                    .rule_arn(arn)
                    .set_actions(Some(actions))
                    .send()
                    .await
                    .map_err(|e| aws_error("elasticloadbalancing:ModifyRule", e))?;
            }
            RuleRef::ListenerDefault(arn) => {
                self.elb
                    .modify_listener()
                    .listener_arn(arn)
                    .set_default_actions(Some(actions))
                    .send()
                    .await
                    .map_err(|e| aws_error("elasticloadbalancing:ModifyListener", e))?;
            }
        }
        self.read_rule(&read.rule).await
    }

    /// The tags of a rule or listener.
    pub async fn rule_tags(&self, arn: &str) -> Result<Vec<(String, String)>, AwsError> {
        let out =
            self.elb.describe_tags().resource_arns(arn).send().await.map_err(|e| aws_error("elasticloadbalancing:DescribeTags", e))?;
        let tags = out.tag_descriptions().first().map(|d| d.tags().to_vec()).unwrap_or_default();
        Ok(tags.iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())).collect())
    }

    /// Adds (or overwrites) tags on a rule or listener.
    pub async fn tag_rule(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        super::fence::check("elasticloadbalancing:AddTags")?;
        let tags: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        self.elb
            .add_tags()
            .resource_arns(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws_error("elasticloadbalancing:AddTags", e))?;
        Ok(())
    }

    /// Removes tags from a rule or listener.
    pub async fn untag_rule(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        if keys.is_empty() {
            return Ok(());
        }
        super::fence::check("elasticloadbalancing:RemoveTags")?;
        self.elb
            .remove_tags()
            .resource_arns(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("elasticloadbalancing:RemoveTags", e))?;
        Ok(())
    }

    /// Every listener rule and listener (for its default action) of the region's application load
    /// balancers that carries a traffic journal (`ecs-deployer/shift`), with its tags: what
    /// `cleanup` finds from AWS alone after a crash.
    pub async fn journaled_rules(&self) -> Result<Vec<(RuleRef, Vec<(String, String)>)>, AwsError> {
        let mut load_balancers = Vec::new();
        let mut pages = self.elb.describe_load_balancers().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("elasticloadbalancing:DescribeLoadBalancers", e))?;
            load_balancers.extend(
                page.load_balancers()
                    .iter()
                    .filter(|lb| lb.r#type().is_none_or(|t| t.as_str() == "application"))
                    .filter_map(|lb| lb.load_balancer_arn().map(str::to_string)),
            );
        }
        let refs = futures::future::try_join_all(load_balancers.iter().map(|lb| self.rules_of(lb))).await?;
        let refs: Vec<RuleRef> = refs.into_iter().flatten().map(|(r, _)| r).collect();
        let mut out = Vec::new();
        for batch in refs.chunks(20) {
            let arns: Vec<String> = batch.iter().map(|r| r.arn().to_string()).collect();
            let described = self
                .elb
                .describe_tags()
                .set_resource_arns(Some(arns))
                .send()
                .await
                .map_err(|e| aws_error("elasticloadbalancing:DescribeTags", e))?;
            for d in described.tag_descriptions() {
                let tags: Vec<(String, String)> =
                    d.tags().iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())).collect();
                let journaled = tags.iter().any(|(k, _)| k == crate::core::traffic::journal::TAG_SHIFT);
                if let (true, Some(r)) = (journaled, batch.iter().find(|r| Some(r.arn()) == d.resource_arn())) {
                    out.push((r.clone(), tags));
                }
            }
        }
        Ok(out)
    }

    /// A load balancer's listeners (as their default actions) and their non-default rules, each
    /// with its forward action.
    async fn rules_of(&self, load_balancer: &str) -> Result<Vec<(RuleRef, Option<Forward>)>, AwsError> {
        let listeners = self
            .elb
            .describe_listeners()
            .load_balancer_arn(load_balancer)
            .send()
            .await
            .map_err(|e| aws_error("elasticloadbalancing:DescribeListeners", e))?;
        let mut refs = Vec::new();
        for listener in listeners.listeners() {
            let Some(arn) = listener.listener_arn() else { continue };
            refs.push((RuleRef::ListenerDefault(arn.to_string()), forward_of(listener.default_actions())));
            let mut marker = None;
            loop {
                let page = self
                    .elb
                    .describe_rules()
                    .listener_arn(arn)
                    .page_size(400)
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(|e| aws_error("elasticloadbalancing:DescribeRules", e))?;
                for rule in page.rules().iter().filter(|r| r.is_default() != Some(true)) {
                    if let Some(rule_arn) = rule.rule_arn() {
                        refs.push((RuleRef::Rule(rule_arn.to_string()), forward_of(rule.actions())));
                    }
                }
                marker = page.next_marker().map(str::to_string);
                if marker.is_none() {
                    break;
                }
            }
        }
        Ok(refs)
    }

    /// Every rule and listener default action of the load balancers `target_group_arn` is
    /// associated with that forwards to it, with its forward action (blue-green.md §9.2).
    pub async fn forwards_to(&self, target_group_arn: &str) -> Result<Vec<(RuleRef, Forward)>, AwsError> {
        let out = self
            .elb
            .describe_target_groups()
            .target_group_arns(target_group_arn)
            .send()
            .await
            .map_err(|e| aws_error("elasticloadbalancing:DescribeTargetGroups", e))?;
        let load_balancers: Vec<String> = out.target_groups().iter().flat_map(|t| t.load_balancer_arns().to_vec()).collect();
        let all = futures::future::try_join_all(load_balancers.iter().map(|lb| self.rules_of(lb))).await?;
        Ok(all
            .into_iter()
            .flatten()
            .filter_map(|(r, f)| f.filter(|f| f.target_groups.iter().any(|t| t.target_group_arn == target_group_arn)).map(|f| (r, f)))
            .collect())
    }
}
