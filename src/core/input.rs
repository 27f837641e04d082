//! Reading what a user hands over — files, FIFOs, devices, stdin — and YAML text, with bounds
//! that hold whatever the source is: at most `limit` bytes are ever read (a `/dev/zero`, a FIFO
//! or `<(…)` is cut off, not drained), a UTF-8 byte-order mark is dropped, and YAML nested
//! deeper than [`MAX_YAML_DEPTH`] is refused before the parser sees it (the parser's time grows
//! with the square of the depth). YAML merge keys (`<<: *base`) are applied, as SnakeYAML — and
//! so Clouddriver — does.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::core::error::{Error, Result};

/// Deepest YAML nesting accepted: configuration is a handful of levels deep.
pub const MAX_YAML_DEPTH: usize = 64;

/// Reads at most `limit` bytes from `reader`; more is an error naming the limit.
pub fn read_bounded(reader: impl Read, limit: u64) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!("holds more than the {limit}-byte limit")));
    }
    let text = String::from_utf8(bytes).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "is not UTF-8 text"))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Reads the file (or FIFO, or device) at `path`, at most `limit` bytes.
pub fn read_path(path: &Path, limit: u64) -> std::io::Result<String> {
    if path.is_dir() {
        return Err(std::io::Error::other("is a directory, expected a file"));
    }
    read_bounded(std::fs::File::open(path)?, limit)
}

/// [`read_path`] with a configuration error that names `what` and the file.
pub fn read_text_limited(path: &Path, limit: u64, what: &str) -> Result<String> {
    read_path(path, limit).map_err(|e| Error::Config(format!("{what} {}: {e}", path.display())))
}

/// The deepest nesting of `text`'s YAML, counted conservatively: flow collections by their
/// brackets (outside quotes and comments), block collections by indentation levels plus the
/// `- ` markers that open a sequence on the same line.
pub fn yaml_depth(text: &str) -> usize {
    let mut deepest = 0;
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    for line in text.lines() {
        let content = line.trim_start_matches([' ', '\t']);
        if flow == 0 && !content.is_empty() && !content.starts_with('#') {
            let indent = line.len() - content.len();
            while indents.last().is_some_and(|&i| i >= indent) {
                indents.pop();
            }
            indents.push(indent);
            let dashes = content.split("- ").take_while(|s| s.trim().is_empty()).count();
            deepest = deepest.max(indents.len() + dashes);
        }
        let (mut single, mut double, mut escaped) = (false, false, false);
        for c in content.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' if double => escaped = true,
                '"' if !single => double = !double,
                '\'' if !double => single = !single,
                '#' if !single && !double => break,
                '[' | '{' if !single && !double => {
                    flow += 1;
                    deepest = deepest.max(indents.len() + flow);
                }
                ']' | '}' if !single && !double => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
    }
    deepest
}

/// Parses one YAML document into a value, with the depth bound and merge keys applied.
pub fn parse_yaml(text: &str) -> std::result::Result<Value, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let depth = yaml_depth(text);
    if depth > MAX_YAML_DEPTH {
        return Err(format!("nested {depth} levels deep; the limit is {MAX_YAML_DEPTH}"));
    }
    let mut value: Value = serde_yaml_ng::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
    value.apply_merge().map_err(|e| format!("invalid YAML merge key: {e}"))?;
    Ok(value)
}

/// The first document of a YAML stream (as SnakeYAML's `loadAll` gives Orca document 0), with
/// the same depth bound and merge keys as [`parse_yaml`].
pub fn first_yaml_document(text: &str) -> std::result::Result<Value, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let depth = yaml_depth(text);
    if depth > MAX_YAML_DEPTH {
        return Err(format!("nested {depth} levels deep; the limit is {MAX_YAML_DEPTH}"));
    }
    let first = serde_yaml_ng::Deserializer::from_str(text).next().ok_or("it holds no YAML document")?;
    let mut value = Value::deserialize(first).map_err(|e| format!("invalid YAML: {e}"))?;
    value.apply_merge().map_err(|e| format!("invalid YAML merge key: {e}"))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_bounded_before_parsing() {
        let deep = format!("x: {}{}\n", "[".repeat(32_000), "]".repeat(32_000));
        let started = std::time::Instant::now();
        let error = parse_yaml(&deep).unwrap_err();
        assert!(error.contains("limit is 64"), "{error}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let dashes = format!("{}x\n", "- ".repeat(10_000));
        assert!(parse_yaml(&dashes).is_err());
        let indented: String = (0..200).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        assert!(parse_yaml(&indented).is_err());
        assert!(parse_yaml("a: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['\n").is_ok(), "inside quotes");
        assert!(parse_yaml("aws:\n  accounts:\n    - name: a\n      regions: [{name: us-west-2}]\n").is_ok());
    }

    #[test]
    fn merge_keys_and_byte_order_marks() {
        let value = parse_yaml("\u{feff}base: &base\n  regions: [us-west-2]\nacct:\n  <<: *base\n  name: a\n").unwrap();
        assert_eq!(value["acct"]["regions"][0].as_str(), Some("us-west-2"));
        assert_eq!(value["acct"]["name"].as_str(), Some("a"));
    }

    #[test]
    fn reads_stop_at_the_limit_whatever_the_source() {
        let zero = read_path(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(zero.to_string().contains("1024-byte limit"), "{zero}");
        assert_eq!(read_bounded(&b"\xef\xbb\xbfok"[..], 10).unwrap(), "ok");
    }
}
