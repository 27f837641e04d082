//! Spinnaker's deploy strategies for ECS server groups, decided as a list of steps: after the
//! new server group is healthy, red/black disables the other enabled server groups of the cluster
//! (newest first), scales them to 0/0/0 with `scaleDown`, and destroys the oldest beyond
//! `maxRemainingAsgs`; highlander destroys all others. Pure.

use std::time::Duration;

use serde::Serialize;

use crate::core::error::{Error, Result};
use crate::core::moniker::parse_name;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    None,
    RedBlack,
    Highlander,
    /// Spinnaker's capacity-based rolling red/black (blue-green.md §8): the new group grows in
    /// steps while the old one is scaled down by the same share.
    #[serde(rename = "rollingredblack")]
    RollingRedBlack,
}

impl Strategy {
    pub fn parse(s: &str) -> Result<Strategy> {
        match s.to_ascii_lowercase().as_str() {
            "" | "none" => Ok(Strategy::None),
            "redblack" | "red/black" | "red-black" => Ok(Strategy::RedBlack),
            "highlander" => Ok(Strategy::Highlander),
            "rollingredblack" | "rolling-red-black" => Ok(Strategy::RollingRedBlack),
            other => Err(Error::invalid(
                "strategy",
                "createServerGroupDescription.strategy.invalid",
                format!("strategy `{other}` is not one of redblack, rollingredblack, highlander, none"),
            )),
        }
    }
}

/// The strategy's settings (Orca's stage context).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrategyOptions {
    pub max_remaining_asgs: Option<usize>,
    pub scale_down: bool,
    pub delay_before_disable: Duration,
}

/// Another server group of the cluster, as the strategy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    pub name: String,
    pub enabled: bool,
    pub created_at: Option<i64>,
}

/// One step after the new server group is healthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", content = "target", rename_all = "camelCase")]
pub enum Step {
    Wait(u64),
    Disable(String),
    ScaleDown(String),
    Destroy(String),
}

/// Newest first: by creation time when AWS gives one, else by version.
fn newest_first(peers: &mut [Peer]) {
    peers.sort_by_key(|p| std::cmp::Reverse((p.created_at.unwrap_or(0), parse_name(&p.name).version.unwrap_or(0))));
}

/// The steps after `new` is healthy; `peers` are the other server groups of its cluster.
pub fn after_healthy(strategy: Strategy, peers: &[Peer], options: &StrategyOptions) -> Vec<Step> {
    let mut peers: Vec<Peer> = peers.to_vec();
    newest_first(&mut peers);
    let mut steps = Vec::new();
    match strategy {
        // Run step by step by `rolling` (or by Orca).
        Strategy::None | Strategy::RollingRedBlack => {}
        Strategy::Highlander => steps.extend(peers.iter().map(|p| Step::Destroy(p.name.clone()))),
        Strategy::RedBlack => {
            if !options.delay_before_disable.is_zero() {
                steps.push(Step::Wait(options.delay_before_disable.as_secs()));
            }
            let enabled: Vec<&Peer> = peers.iter().filter(|p| p.enabled).collect();
            steps.extend(enabled.iter().map(|p| Step::Disable(p.name.clone())));
            if options.scale_down {
                steps.extend(peers.iter().map(|p| Step::ScaleDown(p.name.clone())));
            }
            if let Some(max) = options.max_remaining_asgs.filter(|m| *m > 0) {
                // The new server group counts towards the limit; the oldest go first.
                let keep_others = max.saturating_sub(1);
                steps.extend(peers.iter().skip(keep_others).rev().map(|p| Step::Destroy(p.name.clone())));
            }
        }
    }
    steps
}

/// The rolling red/black rule (blue-green.md §8): the new group's desired count at step `p`
/// percent of `target` (rounded up, as Orca's `scalePct`), and the old group's after a partial
/// disable of `p` percent of its recorded desired count `recorded`.
pub mod rolling {
    /// The tag recording the old group's capacity at its first partial disable: `min/max/desired`.
    pub const TAG: &str = "ecs-deployer/rrb";

    fn share(count: i64, percent: i64) -> i64 {
        (count * percent + 99) / 100
    }

    /// The new group's desired count at `percent` of `target`.
    pub fn grown(target: i64, percent: i64) -> i64 {
        share(target, percent)
    }

    /// The old group's desired count once `percent` of its traffic is disabled.
    pub fn shrunk(recorded: i64, percent: i64) -> i64 {
        (recorded - share(recorded, percent)).max(0)
    }

    /// The recorded capacity as a tag value.
    pub fn encode((min, max, desired): (i64, i64, i64)) -> String {
        format!("{min}/{max}/{desired}")
    }

    /// The capacity a tag value records.
    pub fn decode(text: &str) -> Option<(i64, i64, i64)> {
        let mut parts = text.split('/').map(|p| p.parse::<i64>().ok());
        Some((parts.next()??, parts.next()??, parts.next()??))
    }

    /// The capacity recorded on a service, from its tags.
    pub fn recorded(tags: &[(String, String)]) -> Option<(i64, i64, i64)> {
        tags.iter().find(|(k, _)| k == TAG).and_then(|(_, v)| decode(v))
    }

    /// `targetPercentages` as Orca completes them: 100 appended when the last is not 100.
    pub fn steps(percentages: &[i64]) -> Vec<i64> {
        let mut out: Vec<i64> = percentages.iter().copied().filter(|p| (1..=100).contains(p)).collect();
        if out.last() != Some(&100) {
            out.push(100);
        }
        out
    }
}

/// Parses durations like `10m`, `90s`, `1h30m`, `250ms` or plain seconds.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut number = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().map_err(|_| format!("`{s}` is not a duration like 10m, 90s or 1h"))?;
        number.clear();
        let too_long = || format!("`{s}` is too long a duration");
        let unit = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                Duration::from_millis(n)
            }
            'd' => Duration::from_secs(n.checked_mul(86_400).ok_or_else(too_long)?),
            'h' => Duration::from_secs(n.checked_mul(3600).ok_or_else(too_long)?),
            'm' => Duration::from_secs(n.checked_mul(60).ok_or_else(too_long)?),
            's' => Duration::from_secs(n),
            _ => return Err(format!("`{s}` is not a duration like 10m, 90s or 1h")),
        };
        total = total.checked_add(unit).ok_or_else(too_long)?;
    }
    if !number.is_empty() {
        return Err(format!("`{s}` needs a unit (s, m, h, d)"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str, enabled: bool) -> Peer {
        Peer { name: name.into(), enabled, created_at: None }
    }

    #[test]
    fn rolling_red_black_grows_and_shrinks_by_the_same_share() {
        use rolling::*;
        assert_eq!(steps(&[10, 50]), [10, 50, 100]);
        assert_eq!(steps(&[]), [100]);
        assert_eq!((grown(10, 10), grown(10, 50), grown(3, 10), grown(10, 100)), (1, 5, 1, 10));
        assert_eq!((shrunk(10, 10), shrunk(10, 50), shrunk(3, 10), shrunk(10, 100)), (9, 5, 2, 0));
        assert_eq!(decode(&encode((2, 6, 4))), Some((2, 6, 4)));
        assert_eq!(recorded(&[(TAG.into(), "1/2".into())]), None);
        assert_eq!(Strategy::parse("rollingredblack").unwrap(), Strategy::RollingRedBlack);
    }

    #[test]
    fn redblack_disables_newest_first_scales_down_and_shrinks() {
        let peers = vec![peer("app-v001", false), peer("app-v003", true), peer("app-v002", true)];
        let options = StrategyOptions { max_remaining_asgs: Some(2), scale_down: true, delay_before_disable: Duration::from_secs(5) };
        assert_eq!(
            after_healthy(Strategy::RedBlack, &peers, &options),
            vec![
                Step::Wait(5),
                Step::Disable("app-v003".into()),
                Step::Disable("app-v002".into()),
                Step::ScaleDown("app-v003".into()),
                Step::ScaleDown("app-v002".into()),
                Step::ScaleDown("app-v001".into()),
                Step::Destroy("app-v001".into()),
                Step::Destroy("app-v002".into()),
            ]
        );
        let plain = after_healthy(Strategy::RedBlack, &peers, &StrategyOptions::default());
        assert_eq!(plain, vec![Step::Disable("app-v003".into()), Step::Disable("app-v002".into())]);
    }

    #[test]
    fn creation_time_wins_over_version_order() {
        let peers = vec![
            Peer { name: "app-v999".into(), enabled: true, created_at: Some(100) },
            Peer { name: "app-v000".into(), enabled: true, created_at: Some(200) },
        ];
        assert_eq!(after_healthy(Strategy::RedBlack, &peers, &StrategyOptions::default())[0], Step::Disable("app-v000".into()));
    }

    #[test]
    fn highlander_and_none() {
        let peers = vec![peer("app-v001", false), peer("app-v002", true)];
        assert_eq!(after_healthy(Strategy::Highlander, &peers, &StrategyOptions::default()).len(), 2);
        assert!(after_healthy(Strategy::None, &peers, &StrategyOptions::default()).is_empty());
        assert!(Strategy::parse("bogus").is_err());
        assert_eq!(Strategy::parse("redblack").unwrap(), Strategy::RedBlack);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("10x").is_err() && parse_duration("m").is_err());
    }
}
