//! Traffic between server groups by listener-rule weights (blue-green.md): the forward action of
//! a production rule as a value ([`Forward`]), the rewrite of its weights between a pair of target
//! groups that keeps everything else ([`Forward::with_weights`]), which target group of a pair is
//! idle ([`idle`]), the steps of a shift ([`Steps`]), and the journal written on the rule before
//! the first write ([`journal`]). Pure.

pub mod deploy;
pub mod journal;
pub mod operation;
pub mod serving;

use std::time::Duration;

/// A production rule: a listener rule, or a listener's default action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleRef {
    Rule(String),
    ListenerDefault(String),
}

impl RuleRef {
    /// The ARN tags and locks go by.
    pub fn arn(&self) -> &str {
        match self {
            RuleRef::Rule(arn) | RuleRef::ListenerDefault(arn) => arn,
        }
    }
}

/// A target group of a forward action and its weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weighted {
    pub target_group_arn: String,
    pub weight: i32,
}

/// Target-group stickiness of a forward action: on, for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stickiness {
    pub enabled: bool,
    pub duration_seconds: Option<i32>,
}

/// The forward action of a rule (or a listener's default action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub target_groups: Vec<Weighted>,
    pub stickiness: Option<Stickiness>,
    /// Written as a plain `TargetGroupArn` (one target group, all the traffic).
    pub plain: bool,
}

/// ALB's limit of target groups in one forward action (not adjustable).
pub const MAX_TARGET_GROUPS: usize = 5;

/// The last part of a target group ARN (`app-a/0123456789abcdef`), for messages.
pub fn short(arn: &str) -> &str {
    arn.split_once(":targetgroup/").map_or(arn, |(_, rest)| rest)
}

impl Forward {
    /// The weight of `arn` (0 when the action does not name it).
    pub fn weight(&self, arn: &str) -> i32 {
        self.target_groups.iter().find(|t| t.target_group_arn == arn).map_or(0, |t| t.weight)
    }

    /// The share of `arn` in percent of the action's total weight.
    pub fn share(&self, arn: &str) -> i32 {
        let total: i32 = self.target_groups.iter().map(|t| t.weight).sum();
        if total == 0 { 0 } else { self.weight(arn) * 100 / total }
    }

    /// The weights in one line: `app-a/0123=90, app-b/4567=10`.
    pub fn describe(&self) -> String {
        self.target_groups.iter().map(|t| format!("{}={}", short(&t.target_group_arn), t.weight)).collect::<Vec<_>>().join(", ")
    }

    /// The same forward with `weights` for the pair (added when missing), every other target
    /// group kept only while its weight is 0, and stickiness as given (else as it was). Refused
    /// when a target group outside the pair gets traffic, or ALB's limit would be passed.
    pub fn with_weights(&self, weights: &[(String, i32)], stickiness: Option<Stickiness>) -> Result<Forward, String> {
        if let Some(outside) =
            self.target_groups.iter().find(|t| t.weight > 0 && !weights.iter().any(|(arn, _)| *arn == t.target_group_arn))
        {
            return Err(format!(
                "the rule sends weight {} to {}, outside the pair; ecs-deployer moves traffic only between the pair's target groups",
                outside.weight,
                short(&outside.target_group_arn)
            ));
        }
        if let Some((arn, w)) = weights.iter().find(|(_, w)| !(0..=999).contains(w)) {
            return Err(format!("weight {w} for {} is outside ELBv2's 0-999", short(arn)));
        }
        let mut target_groups: Vec<Weighted> = self.target_groups.clone();
        for (arn, weight) in weights {
            match target_groups.iter_mut().find(|t| t.target_group_arn == *arn) {
                Some(t) => t.weight = *weight,
                None => target_groups.push(Weighted { target_group_arn: arn.clone(), weight: *weight }),
            }
        }
        if target_groups.len() > MAX_TARGET_GROUPS {
            return Err(format!(
                "the rule would forward to {} target groups; an ALB forward action takes at most {MAX_TARGET_GROUPS}",
                target_groups.len()
            ));
        }
        Ok(Forward { target_groups, stickiness: stickiness.or(self.stickiness), plain: false })
    }

    /// Whether `other` routes as this does (weights and stickiness; the plain form equals a
    /// one-target-group forward at any weight).
    pub fn routes_as(&self, other: &Forward) -> bool {
        let live = |f: &Forward| {
            let mut v: Vec<(String, i32)> = f
                .target_groups
                .iter()
                .map(|t| (t.target_group_arn.clone(), if f.plain { 100 } else { f.share(&t.target_group_arn) }))
                .collect();
            v.sort();
            v
        };
        let sticky = |f: &Forward| f.stickiness.filter(|s| s.enabled);
        live(self) == live(other) && sticky(self) == sticky(other)
    }
}

/// Which target group of the pair is idle (blue-green.md §3): the other one is live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idle {
    pub idle: String,
    /// The live target group; None before the pair serves (the first version).
    pub live: Option<String>,
}

/// The idle target group of `pair` in `forward`; refused (with the reason) when both serve (an
/// unfinished shift), when the rule serves a target group outside the pair, or when the pair is
/// not two different target groups.
pub fn idle(forward: &Forward, pair: &[String; 2]) -> Result<Idle, String> {
    if pair[0] == pair[1] {
        return Err(format!("the pair names {} twice: give two target groups", short(&pair[0])));
    }
    if let Some(outside) = forward.target_groups.iter().find(|t| t.weight > 0 && !pair.contains(&t.target_group_arn)) {
        return Err(format!(
            "the rule sends weight {} to {}, outside the pair {} / {}",
            outside.weight,
            short(&outside.target_group_arn),
            short(&pair[0]),
            short(&pair[1])
        ));
    }
    let live = |arn: &String| forward.target_groups.iter().any(|t| t.target_group_arn == *arn && (t.weight > 0 || forward.plain));
    match (live(&pair[0]), live(&pair[1])) {
        (true, true) => Err(format!("a shift is unfinished ({}): finish it or switch back first", forward.describe())),
        (true, false) => Ok(Idle { idle: pair[1].clone(), live: Some(pair[0].clone()) }),
        (false, true) => Ok(Idle { idle: pair[0].clone(), live: Some(pair[1].clone()) }),
        (false, false) => Ok(Idle { idle: pair[0].clone(), live: None }),
    }
}

/// The steps of a shift: the new side's share after each, and the bake after each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Steps {
    pub percents: Vec<i32>,
    pub bakes: Vec<Duration>,
}

impl Steps {
    /// Steps from percents (strictly increasing, 1-100; 100 appended when last is not 100, as
    /// Orca does with `targetPercentages`) and one bake for every step or one per step.
    pub fn new(percents: &[i32], bakes: &[Duration]) -> Result<Steps, String> {
        let mut out: Vec<i32> = percents.to_vec();
        if out.iter().any(|p| !(1..=100).contains(p)) {
            return Err(format!("steps must be percents from 1 to 100: {out:?}"));
        }
        if out.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!("steps must increase: {out:?}"));
        }
        if out.last() != Some(&100) {
            out.push(100);
        }
        let bakes = match bakes {
            [] => vec![Duration::ZERO; out.len()],
            [one] => vec![*one; out.len()],
            many if many.len() == out.len() => many.to_vec(),
            many => return Err(format!("give one bake, or one per step ({} steps, {} bakes)", out.len(), many.len())),
        };
        Ok(Steps { percents: out, bakes })
    }

    /// Linear steps: every `step` percent up to 100.
    pub fn linear(step: i32, bake: Duration) -> Result<Steps, String> {
        if !(1..=100).contains(&step) {
            return Err(format!("a linear step is 1-100 percent, not {step}"));
        }
        let percents: Vec<i32> = (1..).map(|i| (i * step).min(100)).take_while(|p| *p < 100).chain([100]).collect();
        Steps::new(&percents, &[bake])
    }
}

/// Weights `from:to` (`90:10`) as percents summing to 100.
pub fn parse_weights(text: &str) -> Result<(i32, i32), String> {
    let parse = |s: &str| s.trim().parse::<i32>().map_err(|_| format!("`{text}` is not FROM:TO weights (90:10)"));
    let (from, to) = text.split_once(':').ok_or_else(|| format!("`{text}` is not FROM:TO weights (90:10)"))?;
    let (from, to) = (parse(from)?, parse(to)?);
    if from < 0 || to < 0 || from + to != 100 {
        return Err(format!("weights {from}:{to} must be percents summing to 100"));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/app-a/aaaa";
    const B: &str = "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/app-b/bbbb";
    const C: &str = "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/app-c/cccc";

    fn fwd(tgs: &[(&str, i32)]) -> Forward {
        Forward {
            target_groups: tgs.iter().map(|(a, w)| Weighted { target_group_arn: a.to_string(), weight: *w }).collect(),
            stickiness: None,
            plain: false,
        }
    }

    fn pair() -> [String; 2] {
        [A.to_string(), B.to_string()]
    }

    #[test]
    fn the_idle_target_group_follows_the_table() {
        let plain = Forward { plain: true, ..fwd(&[(A, 1)]) };
        assert_eq!(idle(&plain, &pair()).unwrap(), Idle { idle: B.into(), live: Some(A.into()) });
        assert_eq!(idle(&fwd(&[(A, 100), (B, 0)]), &pair()).unwrap().idle, B);
        assert_eq!(idle(&fwd(&[(A, 0), (B, 100)]), &pair()).unwrap().idle, A);
        assert!(idle(&fwd(&[(A, 90), (B, 10)]), &pair()).unwrap_err().contains("unfinished"));
        assert_eq!(idle(&fwd(&[(A, 100), (B, 0), (C, 0)]), &pair()).unwrap().idle, B, "C kept at 0");
        assert!(idle(&fwd(&[(A, 80), (C, 20)]), &pair()).unwrap_err().contains("outside the pair"));
        assert_eq!(idle(&fwd(&[(A, 0), (B, 0)]), &pair()).unwrap(), Idle { idle: A.into(), live: None });
        assert!(idle(&fwd(&[]), &[A.to_string(), A.to_string()]).is_err());
    }

    #[test]
    fn a_rewrite_sets_the_pair_and_keeps_the_rest() {
        let sticky = Some(Stickiness { enabled: true, duration_seconds: Some(60) });
        let before = Forward { stickiness: sticky, ..fwd(&[(A, 100), (C, 0)]) };
        let after = before.with_weights(&[(A.into(), 90), (B.into(), 10)], None).unwrap();
        assert_eq!(after.target_groups, fwd(&[(A, 90), (C, 0), (B, 10)]).target_groups, "B added, C kept at 0");
        assert_eq!(after.stickiness, sticky, "stickiness kept unless set");
        assert!(!after.plain, "a plain TargetGroupArn becomes a ForwardConfig");
        assert!(fwd(&[(A, 50), (C, 50)]).with_weights(&[(A.into(), 0), (B.into(), 100)], None).unwrap_err().contains("outside the pair"));
        assert!(before.with_weights(&[(A.into(), 1000), (B.into(), 0)], None).unwrap_err().contains("0-999"));
        let full = fwd(&[(A, 100), (C, 0), ("x3", 0), ("x4", 0), ("x5", 0)]);
        assert!(full.with_weights(&[(A.into(), 0), (B.into(), 100)], None).unwrap_err().contains("at most 5"));
        assert!(Forward { plain: true, ..fwd(&[(A, 1)]) }.routes_as(&fwd(&[(A, 100)])));
        assert!(!fwd(&[(A, 90), (B, 10)]).routes_as(&fwd(&[(A, 100), (B, 0)])));
        assert_eq!(after.share(B), 10);
    }

    #[test]
    fn steps_end_at_100_and_bake_each() {
        let s = Steps::new(&[10, 50], &[Duration::from_secs(30)]).unwrap();
        assert_eq!((s.percents, s.bakes.len()), (vec![10, 50, 100], 3));
        assert!(
            Steps::new(&[50, 10], &[]).is_err() && Steps::new(&[0], &[]).is_err() && Steps::new(&[10, 100], &[Duration::ZERO; 3]).is_err()
        );
        assert_eq!(Steps::linear(30, Duration::ZERO).unwrap().percents, [30, 60, 90, 100]);
        assert_eq!(parse_weights("90:10").unwrap(), (90, 10));
        assert!(parse_weights("90:20").is_err() && parse_weights("x").is_err());
    }
}
