//! What is shown of a secret: references to secrets (`secrets[].valueFrom`,
//! `secretOptions[].valueFrom`, `repositoryCredentials.credentialsParameter`) become
//! `(redacted)` in everything displayed — plans, results, tasks — while AWS gets them as they are.
//! Errors never quote such fields at all (see [`crate::core::error::holds_secret`]). Pure.

/// Replaces the secret references in `value` by `(redacted)`.
pub fn redact(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if (k == "valueFrom" || k == "credentialsParameter") && v.is_string() {
                    *v = serde_json::Value::String("(redacted)".into());
                } else {
                    redact(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}
