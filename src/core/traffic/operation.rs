//! The traffic operations of `/ecs/ops` (`shiftTraffic`, `switchBackTraffic`,
//! `finishTrafficShift`: blue-green.md §7) as posted, validated into [`TrafficRequest`]s before
//! anything is stored or started. Pure.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::{RuleRef, Steps, parse_weights};
use crate::core::config::{Account, Config};
use crate::core::description::lenient_string;
use crate::core::error::FieldError;

/// A traffic operation's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficDescription {
    #[serde(default, deserialize_with = "lenient_string")]
    pub credentials: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub account: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub rule: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub listener: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub ecs_cluster_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub to: Option<String>,
    /// `90:10`
    #[serde(default, deserialize_with = "lenient_string")]
    pub weights: Option<String>,
    pub to_percent: Option<i32>,
    pub steps: Option<Vec<i32>>,
    /// One number for every step, or one per step.
    pub bake_seconds: Option<Value>,
    #[serde(default)]
    pub alarms: Vec<String>,
    #[serde(default)]
    pub force: bool,
}

/// A validated traffic operation.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficRequest {
    pub account: Account,
    pub region: String,
    pub rule: RuleRef,
    pub ecs_cluster: Option<String>,
    /// For a shift: from, to, steps.
    pub shift: Option<(String, String, Steps)>,
    pub alarms: Vec<String>,
    pub force: bool,
}

fn err(what: &str, field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, format!("{what}.{field}.invalid"), message)
}

pub(super) fn bakes(value: &Option<Value>) -> Result<Vec<Duration>, String> {
    let secs = |v: &Value| v.as_u64().map(Duration::from_secs).ok_or_else(|| format!("bakeSeconds `{v}` is not a whole number of seconds"));
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(secs).collect(),
        Some(v) => Ok(vec![secs(v)?]),
    }
}

/// Validates a traffic operation (`what` is its name, for the codes); a shift needs `from`,
/// `to` and its weights (`weights`, `toPercent` or `steps`).
pub fn validate(config: &Config, what: &str, shift: bool, d: TrafficDescription) -> Result<TrafficRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let present = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let account = match present(&d.credentials).or_else(|| present(&d.account)) {
        None => {
            errors.push(err(what, "credentials", "credentials are required: the account of the rule's server groups"));
            None
        }
        Some(name) => config.account(&name).map_err(|e| errors.push(err(what, "credentials", e.to_string()))).ok(),
    };
    let region = present(&d.region);
    if region.is_none() {
        errors.push(err(what, "region", "region is required"));
    }
    let rule = match (present(&d.rule), present(&d.listener)) {
        (Some(r), None) => Some(RuleRef::Rule(r)),
        (None, Some(l)) => Some(RuleRef::ListenerDefault(l)),
        _ => {
            errors.push(err(
                what,
                "rule",
                "give exactly one of rule (a listener rule ARN) and listener (a listener ARN: its default action)",
            ));
            None
        }
    };
    let shifting = shift.then(|| shift_of(what, &d, &mut errors)).flatten();
    match (account, region, rule) {
        (Some(account), Some(region), Some(rule)) if errors.is_empty() => Ok(TrafficRequest {
            account,
            region,
            rule,
            ecs_cluster: present(&d.ecs_cluster_name),
            shift: shifting,
            alarms: d.alarms,
            force: d.force,
        }),
        _ => Err(errors),
    }
}

fn shift_of(what: &str, d: &TrafficDescription, errors: &mut Vec<FieldError>) -> Option<(String, String, Steps)> {
    let present = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let (from, to) = (present(&d.from), present(&d.to));
    if from.is_none() || to.is_none() {
        errors.push(err(what, "from", "from and to are required: the server groups giving and taking traffic"));
    }
    let bakes = bakes(&d.bake_seconds).map_err(|e| errors.push(err(what, "bakeSeconds", e))).ok()?;
    let steps = match (&d.weights, d.to_percent, &d.steps) {
        (Some(w), None, None) => {
            parse_weights(w).map(|(_, to)| Steps { percents: vec![to], bakes: vec![bakes.first().copied().unwrap_or_default()] })
        }
        (None, Some(p), None) if (0..=100).contains(&p) => {
            Ok(Steps { percents: vec![p], bakes: vec![bakes.first().copied().unwrap_or_default()] })
        }
        (None, None, Some(steps)) => Steps::new(steps, &bakes),
        _ => Err("give exactly one of weights (90:10), toPercent (0-100) and steps ([10, 50, 100])".to_string()),
    };
    let steps = steps.map_err(|e| errors.push(err(what, "steps", e))).ok()?;
    Some((from?, to?, steps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONFIG: &str = "aws:\n  accounts:\n    - {name: aws, accountId: '123456789012', regions: [{name: us-west-2}]}\necs:\n  accounts:\n    - {name: ecs, awsAccount: aws}\n";

    fn parse(v: Value, shift: bool) -> Result<TrafficRequest, Vec<FieldError>> {
        validate(&Config::from_yaml(CONFIG).unwrap(), "shiftTraffic", shift, serde_json::from_value(v).unwrap())
    }

    #[test]
    fn a_shift_names_its_rule_groups_and_weights() {
        let ok = parse(json!({"credentials": "ecs", "region": "us-west-2", "rule": "arn:rule", "from": "a-v000", "to": "a-v001", "steps": [10, 50], "bakeSeconds": 30}), true).unwrap();
        let (_, _, steps) = ok.shift.unwrap();
        assert_eq!((steps.percents, steps.bakes[0]), (vec![10, 50, 100], Duration::from_secs(30)));
        let errors =
            parse(json!({"credentials": "ecs", "region": "us-west-2", "rule": "r", "listener": "l", "weights": "1:2"}), true).unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["shiftTraffic.rule.invalid", "shiftTraffic.from.invalid", "shiftTraffic.steps.invalid"]);
        assert!(parse(json!({"credentials": "ecs", "region": "us-west-2", "listener": "l"}), false).is_ok(), "switch-back needs no groups");
    }
}
