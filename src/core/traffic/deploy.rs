//! A traffic-managed deploy's `trafficShift` (blue-green.md §4): the description's block as
//! posted ([`TrafficShiftDescription`]) validated into a [`TrafficShift`] — the production rule,
//! the pair of target groups, the steps and bakes, the alarms, stickiness and how long the old
//! version stays warm. Pure.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::operation::bakes;
use super::{RuleRef, Steps, Stickiness};
use crate::core::description::lenient_string;
use crate::core::error::FieldError;

/// `trafficShift` as posted in a createServerGroup description (or a clone's body).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficShiftDescription {
    #[serde(default, deserialize_with = "lenient_string")]
    pub rule: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub listener: Option<String>,
    #[serde(default)]
    pub target_groups: Vec<String>,
    pub steps: Option<Vec<i32>>,
    pub linear: Option<Linear>,
    pub bake_seconds: Option<Value>,
    #[serde(default)]
    pub alarms: Vec<String>,
    pub stickiness: Option<StickinessDescription>,
    /// `untilNextDeploy` (default) or seconds.
    pub keep_warm: Option<Value>,
    pub test: Option<TestDescription>,
}

/// `trafficShift.test`: the test rule (or listener) pointed at green before any production
/// traffic, and the probe that must answer through it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestDescription {
    #[serde(default, deserialize_with = "lenient_string")]
    pub rule: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub listener: Option<String>,
    pub probe: Option<ProbeDescription>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeDescription {
    pub url: String,
    pub expect_status: Option<u16>,
}

/// The validated test rule and probe.
#[derive(Debug, Clone, PartialEq)]
pub struct TestTraffic {
    pub rule: RuleRef,
    /// (URL, the status it must answer), checked against `restrictions`.
    pub probe: Option<(String, u16)>,
    pub restrictions: crate::core::url_restrictions::UrlRestrictions,
}

/// Linear steps: `step` percent every `interval` seconds.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Linear {
    pub step: i32,
    #[serde(default)]
    pub interval: u64,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StickinessDescription {
    pub enabled: bool,
    pub duration_seconds: Option<i32>,
}

/// How long the old version stays enabled at weight 0 after the last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepWarm {
    /// Until the next deploy finishes it, or an explicit `finish`.
    UntilNextDeploy,
    /// Then disabled (zero: at once).
    For(Duration),
}

/// A validated `trafficShift`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficShift {
    pub rule: RuleRef,
    /// The pair's target group names (ARNs given are read as their names).
    pub target_groups: [String; 2],
    pub steps: Steps,
    pub alarms: Vec<String>,
    pub stickiness: Option<Stickiness>,
    pub keep_warm: KeepWarm,
    pub test: Option<TestTraffic>,
}

/// The name of a target group given by name or ARN.
pub fn target_group_name(text: &str) -> String {
    let short = super::short(text.trim());
    short.split('/').next().unwrap_or(short).to_string()
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(format!("trafficShift.{field}"), format!("createServerGroupDescription.trafficShift.{field}.invalid"), message)
}

/// Validates `trafficShift` against the description's target group names (`mapped`): the pair
/// must include a target group the description maps, since that mapping is rewritten to the
/// pair's idle target group.
pub fn validate(
    d: &TrafficShiftDescription,
    mapped: &[String],
    restrictions: &crate::core::url_restrictions::UrlRestrictions,
) -> Result<TrafficShift, Vec<FieldError>> {
    let mut errors = Vec::new();
    let present = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let rule = match (present(&d.rule), present(&d.listener)) {
        (Some(r), None) => Some(RuleRef::Rule(r)),
        (None, Some(l)) => Some(RuleRef::ListenerDefault(l)),
        _ => {
            errors.push(err("rule", "give exactly one of rule (a listener rule ARN) and listener (a listener ARN: its default action)"));
            None
        }
    };
    let names: Vec<String> = d.target_groups.iter().map(|t| target_group_name(t)).collect();
    let pair = match names.as_slice() {
        [a, b] if a != b && !a.is_empty() && !b.is_empty() => Some([a.clone(), b.clone()]),
        _ => {
            errors
                .push(err("targetGroups", format!("give exactly two different target groups (names or ARNs), not {:?}", d.target_groups)));
            None
        }
    };
    if let Some(pair) = &pair
        && !mapped.iter().any(|m| pair.contains(m))
    {
        errors.push(err(
            "targetGroups",
            format!(
                "the description maps no target group of the pair {} / {} (targetGroupMappings: {mapped:?}); map the container to one of them",
                pair[0], pair[1]
            ),
        ));
    }
    let steps = steps_of(d).map_err(|e| errors.push(err("steps", e))).ok();
    let stickiness = d.stickiness.as_ref().and_then(|s| match s.duration_seconds {
        Some(1..=604_800) | None if !s.enabled => Some(Stickiness { enabled: false, duration_seconds: None }),
        Some(seconds @ 1..=604_800) => Some(Stickiness { enabled: true, duration_seconds: Some(seconds) }),
        other => {
            errors.push(err("stickiness", format!("durationSeconds {other:?}: give 1-604800 seconds when stickiness is enabled")));
            None
        }
    });
    let keep_warm = match &d.keep_warm {
        None => Some(KeepWarm::UntilNextDeploy),
        Some(Value::String(s)) if s == "untilNextDeploy" => Some(KeepWarm::UntilNextDeploy),
        Some(v) => match v.as_u64() {
            Some(seconds) => Some(KeepWarm::For(Duration::from_secs(seconds))),
            None => {
                errors.push(err("keepWarm", format!("`{v}`: give untilNextDeploy or a whole number of seconds")));
                None
            }
        },
    };
    let test = d.test.as_ref().and_then(|t| test_of(t, restrictions).map_err(|e| errors.push(e)).ok());
    if d.alarms.len() > 100 {
        errors.push(err("alarms", format!("{} alarms: at most 100 are watched (one DescribeAlarms)", d.alarms.len())));
    }
    match (rule, pair, steps, keep_warm) {
        (Some(rule), Some(target_groups), Some(steps), Some(keep_warm)) if errors.is_empty() => {
            Ok(TrafficShift { rule, target_groups, steps, alarms: d.alarms.clone(), stickiness, keep_warm, test })
        }
        _ => Err(errors),
    }
}

/// The test rule and its probe: an http(s) URL the URL restrictions let ecs-deployer reach.
fn test_of(t: &TestDescription, restrictions: &crate::core::url_restrictions::UrlRestrictions) -> Result<TestTraffic, FieldError> {
    let present = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let rule = match (present(&t.rule), present(&t.listener)) {
        (Some(r), None) => RuleRef::Rule(r),
        (None, Some(l)) => RuleRef::ListenerDefault(l),
        _ => return Err(err("test.rule", "give exactly one of test.rule and test.listener")),
    };
    let probe = match &t.probe {
        None => None,
        Some(p) => {
            let uri = p.url.parse::<axum::http::Uri>().map_err(|_| err("test.probe.url", format!("`{}` is not a URL", p.url)))?;
            let (scheme, host) = (uri.scheme_str().unwrap_or_default(), uri.host().unwrap_or_default());
            restrictions.check_host(scheme, host.trim_matches(['[', ']'])).map_err(|why| {
                err(
                    "test.probe.url",
                    format!("{} may not be probed: {why} (artifacts.urlRestrictions says where ecs-deployer may connect)", p.url),
                )
            })?;
            Some((p.url.clone(), p.expect_status.unwrap_or(200)))
        }
    };
    Ok(TestTraffic { rule, probe, restrictions: restrictions.clone() })
}

fn steps_of(d: &TrafficShiftDescription) -> Result<Steps, String> {
    let bakes = bakes(&d.bake_seconds)?;
    match (&d.steps, &d.linear) {
        (Some(_), Some(_)) => Err("give steps or linear, not both".into()),
        (_, Some(l)) => Steps::linear(l.step, Duration::from_secs(l.interval)),
        (Some(percents), None) => Steps::new(percents, &bakes),
        (None, None) => Steps::new(&[100], &bakes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<TrafficShift, Vec<FieldError>> {
        validate(&serde_json::from_value(v).unwrap(), &["web-blue".into()], &Default::default())
    }

    #[test]
    fn a_traffic_shift_is_validated_whole() {
        let ok = check(
            json!({"rule": "arn:r", "targetGroups": ["web-blue", "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/web-green/ab"],
            "steps": [10, 50], "bakeSeconds": 30, "keepWarm": 600}),
        )
        .unwrap();
        assert_eq!(ok.target_groups, ["web-blue".to_string(), "web-green".to_string()]);
        assert_eq!(ok.steps.percents, [10, 50, 100]);
        assert_eq!(ok.keep_warm, KeepWarm::For(Duration::from_secs(600)));
        assert_eq!(check(json!({"listener": "arn:l", "targetGroups": ["web-blue", "b"]})).unwrap().steps.percents, [100]);
        let fields = |v: Value| check(v).unwrap_err().into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(json!({"targetGroups": ["web-blue"]})), ["trafficShift.rule", "trafficShift.targetGroups"]);
        assert_eq!(fields(json!({"rule": "r", "targetGroups": ["x", "y"]})), ["trafficShift.targetGroups"], "the mapping names neither");
        assert_eq!(fields(json!({"rule": "r", "targetGroups": ["web-blue", "y"], "steps": [50, 10]})), ["trafficShift.steps"]);
        assert_eq!(
            fields(json!({"rule": "r", "targetGroups": ["web-blue", "y"], "stickiness": {"enabled": true}, "keepWarm": "forever"})),
            ["trafficShift.stickiness", "trafficShift.keepWarm"]
        );
        assert!(serde_json::from_value::<TrafficShiftDescription>(json!({"rule": "r", "weights": 5})).is_err(), "unknown keys refused");
        let test = check(
            json!({"rule": "r", "targetGroups": ["web-blue", "y"], "test": {"listener": "arn:l", "probe": {"url": "https://green.example.com/health"}}}),
        );
        assert_eq!(test.unwrap().test.unwrap().probe, Some(("https://green.example.com/health".into(), 200)));
        assert_eq!(
            fields(
                json!({"rule": "r", "targetGroups": ["web-blue", "y"], "test": {"rule": "t", "probe": {"url": "http://169.254.169.254/"}}})
            ),
            ["trafficShift.test.probe.url"],
            "link-local is never probed"
        );
    }
}
