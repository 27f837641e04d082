//! What a downloaded artifact holds: embedded base64 bytes decoded, and a task definition
//! document (JSON or YAML) parsed into one value.

use super::INVALID_CODE;
use crate::core::error::FieldError;

/// The content of an `embedded/base64` artifact.
pub fn embedded_bytes(reference: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(reference.trim())
        .map_err(|e| format!("the embedded/base64 artifact's reference is not base64: {e}"))
}

/// The task definition in a downloaded body: JSON, or YAML (the first document, as Orca's
/// SnakeYAML `loadAll` takes it).
pub fn parse_document(bytes: &[u8], label: &str, field: &str) -> Result<serde_json::Value, FieldError> {
    let code = INVALID_CODE;
    let text = std::str::from_utf8(bytes).map_err(|_| FieldError::new(field, code, format!("the {label} is not UTF-8 text")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        return Ok(v);
    }
    let first = crate::core::input::first_yaml_document(text)
        .map_err(|e| FieldError::new(field, code, format!("the {label} is neither JSON nor YAML: {e}")))?;
    serde_json::to_value(first).map_err(|e| FieldError::new(field, code, format!("the {label} cannot be read as a task definition: {e}")))
}
