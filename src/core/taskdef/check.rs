//! Checks a task-definition JSON document against the `RegisterTaskDefinition` key tree in
//! [`super::schema`]: every key must be one AWS accepts, with the JSON type AWS expects. Scalars
//! are coerced as Clouddriver's Jackson mapper coerces them (`"cpu": 256` → `"256"`,
//! `"essential": "true"` → `true`, `"interval": "30"` → `30`, `1.0` → `1`), and `null`s are
//! dropped; what no coercion makes fit is refused. Every problem is reported with its JSON path.

use serde_json::Value;

use super::schema::SHAPES;
use super::shape::{Field, Kind};
use crate::core::error::FieldError;

fn shape(name: &str) -> &'static [Field] {
    SHAPES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f).unwrap_or(&[])
}

fn describe(kind: &Kind) -> &'static str {
    match kind {
        Kind::Str => "a string",
        Kind::Int => "an integer",
        Kind::Float => "a number",
        Kind::Bool => "true or false",
        Kind::Obj(_) | Kind::Map(_) => "an object",
        Kind::List(_) => "a list",
    }
}

/// What was given instead, quoting a string only when `path` cannot hold a secret.
fn found(value: &Value, path: &str) -> String {
    match value {
        Value::String(_) if crate::core::error::holds_secret(path) => "a string".into(),
        Value::String(s) => format!("the string \"{}\"", s.chars().take(40).collect::<String>()),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("{b}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
        Value::Null => "null".into(),
    }
}

/// The closest known key, for "did you mean" hints.
fn closest<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.to_lowercase().chars().collect();
        let b: Vec<char> = b.to_lowercase().chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.iter().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                cur.push((prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
            }
            prev = cur;
        }
        prev[b.len()]
    }
    candidates.map(|c| (distance(key, c), c)).filter(|(d, c)| *d <= 2.max(c.len() / 4)).min_by_key(|(d, _)| *d).map(|(_, c)| c)
}

/// `value` as the scalar `kind`, coerced as Jackson's default mapper does; None when it cannot be.
fn coerce(value: &Value, kind: &Kind) -> Option<Value> {
    match (kind, value) {
        (Kind::Str, Value::String(_)) | (Kind::Bool, Value::Bool(_)) => Some(value.clone()),
        (Kind::Str, Value::Number(n)) => Some(Value::String(n.to_string())),
        (Kind::Str, Value::Bool(b)) => Some(Value::String(b.to_string())),
        (Kind::Int, Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Some(Value::from(i)),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(Value::from(f as i64)),
            _ => None,
        },
        (Kind::Int, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        (Kind::Float, Value::Number(_)) => Some(value.clone()),
        (Kind::Float, Value::String(s)) => {
            s.trim().parse::<f64>().ok().filter(|f| f.is_finite()).and_then(serde_json::Number::from_f64).map(Value::Number)
        }
        (Kind::Bool, Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
        (Kind::Bool, Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
        _ => None,
    }
}

/// Checks and normalises `value` as `kind` at `path`, appending problems to `errors`.
pub fn check(value: &mut Value, kind: &Kind, path: &str, prefix: &str, errors: &mut Vec<FieldError>) {
    let mut fail = |message: String| {
        errors.push(FieldError::new(format!("{prefix}{path}"), "createServerGroupDescription.taskDefinitionArtifact.invalid", message))
    };
    match kind {
        Kind::Str | Kind::Int | Kind::Float | Kind::Bool => match coerce(value, kind) {
            Some(v) => *value = v,
            None => fail(format!("`{path}` must be {}, found {}", describe(kind), found(value, path))),
        },
        Kind::List(item) => match value {
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    check(v, item, &format!("{path}[{i}]"), prefix, errors);
                }
            }
            other => fail(format!("`{path}` must be {}, found {}", describe(kind), found(other, path))),
        },
        Kind::Map(item) => match value {
            Value::Object(map) => {
                map.retain(|_, v| !v.is_null());
                for (k, v) in map.iter_mut() {
                    check(v, item, &format!("{path}.{k}"), prefix, errors);
                }
            }
            other => fail(format!("`{path}` must be {}, found {}", describe(kind), found(other, path))),
        },
        Kind::Obj(name) => match value {
            Value::Object(map) => {
                let fields = shape(name);
                map.retain(|_, v| !v.is_null());
                for (k, v) in map.iter_mut() {
                    let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    match fields.iter().find(|f| f.key == k) {
                        Some(field) => check(v, &field.kind, &child, prefix, errors),
                        None => {
                            // Past what is shown, no hint is worth its edit distances.
                            let shown = errors.len() < crate::core::error::MAX_SHOWN;
                            let hint = closest(k, fields.iter().map(|f| f.key).filter(|_| shown))
                                .map(|c| format!("; did you mean `{c}`?"))
                                .unwrap_or_else(|| {
                                    "; remove it (see `aws ecs register-task-definition help` for the keys AWS accepts)".into()
                                });
                            errors.push(FieldError::new(
                                format!("{prefix}{child}"),
                                "createServerGroupDescription.taskDefinitionArtifact.invalid",
                                format!("unknown key `{child}` in the task definition artifact{hint}"),
                            ));
                        }
                    }
                }
                for field in fields.iter().filter(|f| f.required) {
                    if !map.contains_key(field.key) {
                        let child = if path.is_empty() { field.key.to_string() } else { format!("{path}.{}", field.key) };
                        errors.push(FieldError::new(
                            format!("{prefix}{child}"),
                            "createServerGroupDescription.taskDefinitionArtifact.invalid",
                            format!("`{child}` is required by AWS and missing"),
                        ));
                    }
                }
            }
            other => fail(format!(
                "`{}` must be {}, found {}",
                if path.is_empty() { "task definition" } else { path },
                describe(kind),
                found(other, path)
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::ROOT;
    use super::*;
    use serde_json::json;

    fn run(mut v: Value) -> (Value, Vec<FieldError>) {
        let mut errors = Vec::new();
        check(&mut v, &ROOT, "", "", &mut errors);
        (v, errors)
    }

    #[test]
    fn accepts_a_full_definition_and_normalises() {
        let (v, errors) = run(json!({
            "family": "web", "cpu": 256, "memory": "512", "networkMode": "awsvpc", "taskRoleArn": null,
            "containerDefinitions": [{
                "name": "web", "image": "nginx", "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}},
                "healthCheck": {"command": ["CMD", "true"], "interval": 30},
                "dockerLabels": {"a": "b"}, "secrets": [{"name": "S", "valueFrom": "arn:x"}],
                "linuxParameters": {"tmpfs": [{"containerPath": "/t", "size": 64}]}
            }],
            "volumes": [{"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}],
            "runtimePlatform": {"cpuArchitecture": "ARM64"}
        }));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(v["cpu"], json!("256"));
        assert!(v.get("taskRoleArn").is_none());
    }

    #[test]
    fn scalars_in_string_form_coerce_as_jackson_does() {
        let (v, errors) = run(json!({
            "family": "web", "memory": 512,
            "containerDefinitions": [{
                "name": "web", "image": "nginx", "essential": "true", "privileged": "FALSE", "cpu": "128", "memory": 256.0,
                "healthCheck": {"command": ["CMD", "true"], "interval": "30", "retries": 3},
                "portMappings": [{"containerPort": "80", "hostPort": 80.0}],
                "user": 1000
            }]
        }));
        assert!(errors.is_empty(), "{errors:?}");
        let c = &v["containerDefinitions"][0];
        assert_eq!((&c["essential"], &c["privileged"], &c["cpu"], &c["memory"]), (&json!(true), &json!(false), &json!(128), &json!(256)));
        assert_eq!((&c["healthCheck"]["interval"], &c["portMappings"][0]["containerPort"]), (&json!(30), &json!(80)));
        assert_eq!((&v["memory"], &c["user"]), (&json!("512"), &json!("1000")));
        let (_, errors) = run(json!({"containerDefinitions": [{"name": "a", "essential": "yes", "cpu": 1.5, "memory": [1]}]}));
        assert_eq!(errors.len(), 3, "what no coercion fits is refused: {errors:?}");
    }

    #[test]
    fn reports_unknown_keys_types_and_required_fields_with_paths() {
        let (_, errors) = run(json!({
            "containerDefinitions": [{"name": "a", "imagee": "x", "memory": "lots", "essential": "yes",
                "logConfiguration": {"options": {}}}],
            "volumes": "v"
        }));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"containerDefinitions[0].imagee"), "{fields:?}");
        assert!(errors.iter().any(|e| e.message.contains("did you mean `image`")));
        assert!(fields.contains(&"containerDefinitions[0].memory"));
        assert!(fields.contains(&"containerDefinitions[0].essential"));
        assert!(fields.contains(&"containerDefinitions[0].logConfiguration.logDriver"));
        assert!(fields.contains(&"volumes"));
    }
}
