//! The journal of a traffic operation, kept on the rule itself as ELBv2 tags (blue-green.md §5):
//! who holds the rule and since when (`ecs-deployer/shift`), the forward action before the first
//! write (`ecs-deployer/shift-from`, continued in `-2`, `-3` past 256 characters), the weights last
//! written and the ones before them (`ecs-deployer/shift-at`, `-prev`, tagged with each write), and after a completed shift the weights before it
//! (`ecs-deployer/previous-weights`, for a switch-back). Any machine's `cleanup` can find and undo
//! an interrupted shift from AWS alone. Pure.

use super::{Forward, Stickiness, Weighted};

pub const TAG_SHIFT: &str = "ecs-deployer/shift";
pub const TAG_SHIFT_FROM: &str = "ecs-deployer/shift-from";
pub const TAG_SHIFT_AT: &str = "ecs-deployer/shift-at";
/// The weights before the last write (sent with it: a crash between the two leaves one of them).
pub const TAG_SHIFT_PREV: &str = "ecs-deployer/shift-prev";
pub const TAG_PREVIOUS: &str = "ecs-deployer/previous-weights";

/// ELBv2's limit on a tag value.
const VALUE_MAX: usize = 256;

/// A forward action, compact: `s=<0|seconds>;<tg-name>/<tg-id>=<weight>;…` (`p;` first for the
/// plain `TargetGroupArn` form).
pub fn encode(forward: &Forward) -> String {
    let sticky = forward.stickiness.filter(|s| s.enabled).map_or(0, |s| s.duration_seconds.unwrap_or(0));
    let mut parts = Vec::new();
    if forward.plain {
        parts.push("p".to_string());
    }
    parts.push(format!("s={sticky}"));
    parts.extend(forward.target_groups.iter().map(|t| format!("{}={}", super::short(&t.target_group_arn), t.weight)));
    parts.join(";")
}

/// The forward action of `encode`d text; the target groups' ARNs rebuilt from the region and
/// account of `rule_arn`.
pub fn decode(text: &str, rule_arn: &str) -> Option<Forward> {
    let mut fields = rule_arn.splitn(6, ':');
    let (_, partition, _, region, account) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?, fields.next()?);
    let mut forward = Forward { target_groups: Vec::new(), stickiness: None, plain: false };
    for part in text.split(';').filter(|p| !p.is_empty()) {
        if part == "p" {
            forward.plain = true;
        } else if let Some(seconds) = part.strip_prefix("s=") {
            let seconds: i32 = seconds.parse().ok()?;
            forward.stickiness = Some(Stickiness { enabled: seconds > 0, duration_seconds: (seconds > 0).then_some(seconds) });
        } else {
            let (name, weight) = part.rsplit_once('=')?;
            let target_group_arn = format!("arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/{name}");
            forward.target_groups.push(Weighted { target_group_arn, weight: weight.parse().ok()? });
        }
    }
    Some(forward)
}

/// The tags that hold `text` under `key`: `key`, `key-2`, … each at most 256 characters.
pub fn chunked(key: &str, text: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(VALUE_MAX)
        .enumerate()
        .map(|(i, chunk)| (if i == 0 { key.to_string() } else { format!("{key}-{}", i + 1) }, chunk.iter().collect()))
        .collect()
}

/// The text `chunked` spread over `tags`, when `key` is among them.
pub fn joined(key: &str, tags: &[(String, String)]) -> Option<String> {
    let first = tags.iter().find(|(k, _)| k == key)?.1.clone();
    let mut out = first;
    for n in 2.. {
        match tags.iter().find(|(k, _)| *k == format!("{key}-{n}")) {
            Some((_, v)) => out.push_str(v),
            None => break,
        }
    }
    Some(out)
}

/// Every tag key of the journal of a shift in flight (for removal), given the tags on the rule.
pub fn in_flight_keys(tags: &[(String, String)]) -> Vec<String> {
    tags.iter()
        .map(|(k, _)| k.clone())
        .filter(|k| {
            k == TAG_SHIFT
                || k == TAG_SHIFT_AT
                || k == TAG_SHIFT_PREV
                || k == TAG_SHIFT_FROM
                || k.starts_with(&format!("{TAG_SHIFT_FROM}-"))
        })
        .collect()
}

/// The owner and start (seconds since the epoch) of the shift in flight.
pub fn lease(tags: &[(String, String)]) -> Option<(String, i64)> {
    let value = &tags.iter().find(|(k, _)| k == TAG_SHIFT)?.1;
    let (owner, since) = value.rsplit_once(':')?;
    Some((owner.to_string(), since.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/web/1/2/3";

    #[test]
    fn a_forward_round_trips_through_its_tags() {
        let arn = |n: &str| format!("arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/{n}");
        let forward = Forward {
            target_groups: vec![
                Weighted { target_group_arn: arn("app-a/0123456789abcdef"), weight: 90 },
                Weighted { target_group_arn: arn("app-b/fedcba9876543210"), weight: 10 },
            ],
            stickiness: Some(Stickiness { enabled: true, duration_seconds: Some(300) }),
            plain: false,
        };
        let text = encode(&forward);
        assert_eq!(text, "s=300;app-a/0123456789abcdef=90;app-b/fedcba9876543210=10");
        assert_eq!(decode(&text, RULE).unwrap(), forward);
        let plain = Forward { target_groups: vec![Weighted { target_group_arn: arn("a/1"), weight: 1 }], stickiness: None, plain: true };
        let back = decode(&encode(&plain), RULE).unwrap();
        assert!(back.plain && back.routes_as(&plain));
        let long = "x".repeat(600);
        let tags = chunked(TAG_SHIFT_FROM, &long);
        assert_eq!(
            tags.iter().map(|(k, v)| (k.as_str(), v.len())).collect::<Vec<_>>(),
            [(TAG_SHIFT_FROM, 256), ("ecs-deployer/shift-from-2", 256), ("ecs-deployer/shift-from-3", 88)]
        );
        assert_eq!(joined(TAG_SHIFT_FROM, &tags).unwrap(), long);
        let mut all = tags.clone();
        all.push((TAG_SHIFT.into(), "deploy-1:1700000000".into()));
        all.push(("team".into(), "web".into()));
        assert_eq!(in_flight_keys(&all).len(), 4);
        assert_eq!(lease(&all), Some(("deploy-1".into(), 1_700_000_000)));
    }
}
