//! What keeps serving when a server group is disabled (blue-green.md §9.2): a disable must not
//! leave a rule sending traffic to a target group with no healthy target. A target is the
//! group's own when it is one of its tasks (by ENI address, or by EC2 instance and host port);
//! the others' healthy targets are what would keep serving. Pure.

use serde_json::Value;

use super::{Forward, RuleRef, short};
use crate::core::model::TargetHealth;
use crate::core::view::instance::{container_instance_arn, eni, host_ports};

/// A task's target: its ENI address (any port), or its EC2 instance and host ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnTarget {
    pub id: String,
    /// Empty: any port (an `awsvpc` task's address is its own).
    pub ports: Vec<i64>,
}

/// The targets of `tasks`; `hosts` maps container instance ARNs to EC2 instance ids.
pub fn own_targets(tasks: &[Value], hosts: &[(String, String)]) -> Vec<OwnTarget> {
    tasks
        .iter()
        .filter_map(|task| match eni(task) {
            Some((_, ip)) => Some(OwnTarget { id: ip, ports: Vec::new() }),
            None => {
                let arn = container_instance_arn(task)?;
                let host = hosts.iter().find(|(a, _)| a == arn)?.1.clone();
                Some(OwnTarget { id: host, ports: host_ports(task) })
            }
        })
        .collect()
}

fn is_own(target: &TargetHealth, own: &[OwnTarget]) -> bool {
    own.iter().any(|o| o.id == target.id && (o.ports.is_empty() || target.port.is_some_and(|p| o.ports.contains(&(p as i64)))))
}

/// The refusal of a disable of `server_group` when a rule sends traffic to `target_group` and
/// no healthy target but the group's own is in it; None when something else keeps serving.
pub fn disable_refusal(
    server_group: &str,
    target_group: &str,
    forwards: &[(RuleRef, Forward)],
    targets: &[TargetHealth],
    own: &[OwnTarget],
) -> Option<String> {
    let live: Vec<String> = forwards
        .iter()
        .filter_map(|(rule, f)| {
            let share = if f.plain { 100 } else { f.share(target_group) };
            (share > 0).then(|| format!("{} at {share}%", rule.arn()))
        })
        .collect();
    if live.is_empty() {
        return None;
    }
    let healthy = targets.iter().filter(|t| t.state == "healthy");
    let (mine, others) = healthy.fold((0, 0), |(m, o), t| if is_own(t, own) { (m + 1, o) } else { (m, o + 1) });
    (others == 0).then(|| {
        format!(
            "disabling {server_group} would leave {} with no healthy target ({mine} healthy, all {server_group}'s own) while {} sends it traffic; shift the traffic away first, or --force",
            short(target_group),
            live.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::traffic::Weighted;
    use serde_json::json;

    const TG: &str = "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/web-a/aaaa";

    fn target(id: &str, port: i32, state: &str) -> TargetHealth {
        TargetHealth { target_group_arn: TG.into(), id: id.into(), port: Some(port), state: state.into() }
    }

    #[test]
    fn a_disable_is_refused_only_when_nothing_else_keeps_a_live_target_group_serving() {
        let task = json!({"attachments": [{"id": "a", "type": "ElasticNetworkInterface", "details": [{"name": "privateIPv4Address", "value": "10.0.0.5"}]}]});
        let bridge = json!({"containerInstanceArn": "ci-1", "containers": [{"networkBindings": [{"hostPort": 32768}]}]});
        let own = own_targets(&[task, bridge], &[("ci-1".into(), "i-1".into())]);
        assert_eq!(own, [OwnTarget { id: "10.0.0.5".into(), ports: vec![] }, OwnTarget { id: "i-1".into(), ports: vec![32768] }]);
        let rule = RuleRef::Rule("arn:rule".into());
        let weighted = |w: i32| Forward {
            target_groups: vec![
                Weighted { target_group_arn: TG.into(), weight: w },
                Weighted { target_group_arn: "b".into(), weight: 100 - w },
            ],
            stickiness: None,
            plain: false,
        };
        let only_own = [target("10.0.0.5", 80, "healthy"), target("i-1", 32768, "healthy"), target("i-1", 32769, "unhealthy")];
        let refused = disable_refusal("web-v001", TG, &[(rule.clone(), weighted(100))], &only_own, &own).unwrap();
        assert!(refused.contains("web-a/aaaa") && refused.contains("arn:rule at 100%") && refused.contains("2 healthy"), "{refused}");
        assert_eq!(disable_refusal("web-v001", TG, &[(rule.clone(), weighted(0))], &only_own, &own), None, "weight 0: not live");
        assert_eq!(disable_refusal("web-v001", TG, &[], &only_own, &own), None, "no rule");
        let shared = [target("10.0.0.5", 80, "healthy"), target("i-1", 32770, "healthy")];
        assert_eq!(disable_refusal("web-v001", TG, &[(rule, weighted(50))], &shared, &own), None, "another group's target keeps serving");
    }
}
