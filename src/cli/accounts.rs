//! Account management on `clouddriver.yml` the way Halyard does it: list, add an AWS or ECS
//! account, remove one, enable or disable the ECS provider, and validate offline. Edits are made
//! on the text, so the rest of the file — its order, its comments — stays as it was; the edited
//! text is validated before it is written, and a refused edit leaves the file byte for byte as
//! it was. Pure except for reading and writing that one file.

use std::path::Path;

use serde::Serialize;

use crate::core::config::Config;
use crate::core::error::{Error, FieldError, Result};

/// One problem found by `accounts validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    pub key: String,
    pub message: String,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// The value after `key:` on a line (without comments), if the line is that key.
fn key_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let t = line.trim_start().strip_prefix("- ").unwrap_or(line.trim_start());
    let rest = t.strip_prefix(key)?.strip_prefix(':')?;
    let rest = match rest.find(" #") {
        Some(i) => &rest[..i],
        None => rest,
    };
    Some(rest.trim())
}

/// The end (exclusive) of the block that starts at `start` with indentation `indent`: the next
/// non-blank, non-comment line indented no deeper.
fn block_end(lines: &[String], start: usize, indent: usize) -> usize {
    let mut end = start + 1;
    let mut last_content = start + 1;
    while end < lines.len() {
        if !is_blank_or_comment(&lines[end]) {
            if indent_of(&lines[end]) <= indent {
                break;
            }
            last_content = end + 1;
        }
        end += 1;
    }
    last_content
}

/// Finds `key:` as a direct child of the block `[from, to)` whose children are indented more than `parent_indent`.
fn find_child(lines: &[String], from: usize, to: usize, parent_indent: Option<usize>, key: &str) -> Option<usize> {
    let child_indent = (from..to)
        .find(|&i| !is_blank_or_comment(&lines[i]) && parent_indent.is_none_or(|p| indent_of(&lines[i]) > p))
        .map(|i| indent_of(&lines[i]))?;
    (from..to).find(|&i| !is_blank_or_comment(&lines[i]) && indent_of(&lines[i]) == child_indent && key_value(&lines[i], key).is_some())
}

/// A comment-preserving editor of a clouddriver.yml text.
#[derive(Debug, Clone)]
pub struct Editor {
    lines: Vec<String>,
    trailing_newline: bool,
    /// The file's line ending (`\r\n` for a file written on Windows), kept on every line.
    newline: &'static str,
}

impl Editor {
    pub fn new(text: &str) -> Self {
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        Editor { lines: text.lines().map(str::to_string).collect(), trailing_newline: text.ends_with('\n') || text.is_empty(), newline }
    }

    pub fn text(&self) -> String {
        let mut s = self.lines.join(self.newline);
        if self.trailing_newline && !s.is_empty() {
            s.push_str(self.newline);
        }
        s
    }

    /// Ensures `provider:` exists at the top level; returns its line.
    fn provider(&mut self, provider: &str) -> usize {
        if let Some(i) = find_child(&self.lines, 0, self.lines.len(), None, provider) {
            return i;
        }
        self.lines.push(format!("{provider}:"));
        self.lines.len() - 1
    }

    /// Ensures `provider.accounts` is a block sequence; returns (key line, item indent, insertion line).
    fn accounts(&mut self, provider: &str) -> Result<(usize, usize, usize)> {
        let p = self.provider(provider);
        let p_indent = indent_of(&self.lines[p]);
        let end = block_end(&self.lines, p, p_indent);
        let key = match find_child(&self.lines, p + 1, end, Some(p_indent), "accounts") {
            Some(k) => k,
            None => {
                let child_indent =
                    (p + 1..end).find(|&i| !is_blank_or_comment(&self.lines[i])).map(|i| indent_of(&self.lines[i])).unwrap_or(p_indent + 2);
                self.lines.insert(end, format!("{}accounts:", " ".repeat(child_indent)));
                end
            }
        };
        let key_indent = indent_of(&self.lines[key]);
        match key_value(&self.lines[key], "accounts") {
            Some("") => {}
            Some("[]") => self.lines[key] = format!("{}accounts:", " ".repeat(key_indent)),
            Some(_) => {
                return Err(Error::Config(format!(
                    "`{provider}.accounts` is written in flow style on one line; write it as a block list (one `- name:` per account) to edit it here"
                )));
            }
            None => unreachable!("found by key"),
        }
        let end = block_end(&self.lines, key, key_indent);
        let items_end = {
            // Items may sit at the key's own indentation (`- name:` under `accounts:`).
            let mut e = key + 1;
            let mut last = key + 1;
            while e < self.lines.len() {
                let l = &self.lines[e];
                if !is_blank_or_comment(l) {
                    let ind = indent_of(l);
                    if ind < key_indent || (ind == key_indent && !l.trim_start().starts_with('-')) {
                        break;
                    }
                    last = e + 1;
                }
                e += 1;
            }
            last.max(end)
        };
        let item_indent = (key + 1..items_end)
            .find(|&i| self.lines[i].trim_start().starts_with("- "))
            .map(|i| indent_of(&self.lines[i]))
            .unwrap_or(key_indent + 2);
        Ok((key, item_indent, items_end))
    }

    /// Appends an account entry (`fields` as `key: value` lines, first one `name`).
    pub fn add_account(&mut self, provider: &str, fields: &[(String, String)]) -> Result<()> {
        let (_, indent, at) = self.accounts(provider)?;
        let pad = " ".repeat(indent);
        let mut block = Vec::new();
        for (i, (k, v)) in fields.iter().enumerate() {
            let prefix = if i == 0 { format!("{pad}- ") } else { format!("{pad}  ") };
            if v.starts_with('\n') {
                block.push(format!("{prefix}{k}:"));
                for l in v.trim_start_matches('\n').lines() {
                    block.push(format!("{pad}  {l}"));
                }
            } else {
                block.push(format!("{prefix}{k}: {v}"));
            }
        }
        for (offset, line) in block.into_iter().enumerate() {
            self.lines.insert(at + offset, line);
        }
        Ok(())
    }

    /// Removes the account named `name` from `provider.accounts`; false when there is none.
    pub fn remove_account(&mut self, provider: &str, name: &str) -> bool {
        let Some(p) = find_child(&self.lines, 0, self.lines.len(), None, provider) else { return false };
        let p_indent = indent_of(&self.lines[p]);
        let end = block_end(&self.lines, p, p_indent);
        let Some(key) = find_child(&self.lines, p + 1, end, Some(p_indent), "accounts") else { return false };
        let mut i = key + 1;
        while i < self.lines.len() {
            let line = &self.lines[i];
            if !is_blank_or_comment(line) && indent_of(line) <= indent_of(&self.lines[key]) && !line.trim_start().starts_with('-') {
                break;
            }
            if line.trim_start().starts_with("- ") {
                let item_indent = indent_of(line);
                let mut j = i + 1;
                while j < self.lines.len() && (is_blank_or_comment(&self.lines[j]) || indent_of(&self.lines[j]) > item_indent) {
                    j += 1;
                }
                while j > i + 1 && is_blank_or_comment(&self.lines[j - 1]) {
                    j -= 1;
                }
                let names_it = (i..j).any(|k| {
                    let l = &self.lines[k];
                    (k == i || indent_of(l) == item_indent + 2) && key_value(l, "name").is_some_and(|v| v.trim_matches(['"', '\'']) == name)
                });
                if names_it {
                    self.lines.drain(i..j);
                    return true;
                }
                i = j;
                continue;
            }
            i += 1;
        }
        false
    }

    /// Sets `provider.enabled`.
    pub fn set_enabled(&mut self, provider: &str, enabled: bool) {
        let p = self.provider(provider);
        let p_indent = indent_of(&self.lines[p]);
        let end = block_end(&self.lines, p, p_indent);
        match find_child(&self.lines, p + 1, end, Some(p_indent), "enabled") {
            Some(i) => {
                let ind = indent_of(&self.lines[i]);
                let comment = self.lines[i].find(" #").map(|c| self.lines[i][c..].to_string()).unwrap_or_default();
                self.lines[i] = format!("{}enabled: {enabled}{comment}", " ".repeat(ind));
            }
            None => {
                let child_indent =
                    (p + 1..end).find(|&i| !is_blank_or_comment(&self.lines[i])).map(|i| indent_of(&self.lines[i])).unwrap_or(p_indent + 2);
                self.lines.insert(p + 1, format!("{}enabled: {enabled}", " ".repeat(child_indent)));
            }
        }
    }
}

/// Offline validation of configuration text: every problem with its key, by the typed
/// configuration's rules ([`Config::problems`]).
pub fn validate_text(text: &str, file: &str) -> Vec<Problem> {
    let problem = |key: String, message: String| Problem { file: file.to_string(), key, message };
    match Config::from_yaml(text) {
        Ok(config) => config.problems().into_iter().map(|p| problem(p.key, p.message)).collect(),
        Err(e) => vec![problem(String::new(), e.to_string())],
    }
}

/// True when `provider.accounts` of the YAML text has an entry named `name`.
pub fn has_account(text: &str, provider: &str, name: &str) -> bool {
    let value = crate::core::input::parse_yaml(text).unwrap_or_default();
    value
        .get(provider)
        .and_then(|p| p.get("accounts"))
        .and_then(|a| a.as_sequence())
        .is_some_and(|seq| seq.iter().any(|a| a.get("name").and_then(|n| n.as_str()) == Some(name)))
}

/// Reads the file to edit (empty when it does not exist yet).
pub fn read(path: &Path) -> Result<String> {
    match crate::core::input::read_path(path, 4 * 1024 * 1024) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(Error::Config(format!("{}: {e}", path.display()))),
    }
}

/// Validates the edited text (through the typed configuration) and writes it atomically;
/// refuses (file unchanged) when invalid.
pub fn write_checked(path: &Path, text: &str) -> Result<()> {
    let problems = validate_text(text, &path.display().to_string());
    if !problems.is_empty() {
        return Err(Error::Invalid(
            problems
                .into_iter()
                .map(|p| FieldError::new(p.key, "config.invalid", format!("{}; the file was not changed", p.message)))
                .collect(),
        ));
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| Error::Config(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
}

/// The entry lines of a new AWS account.
pub fn aws_account_fields(name: &str, account_id: &str, regions: &[String], assume_role: Option<&str>) -> Vec<(String, String)> {
    let mut fields = vec![("name".to_string(), name.to_string()), ("accountId".to_string(), format!("\"{account_id}\""))];
    let regions: String = regions.iter().map(|r| format!("\n  - name: {r}")).collect();
    fields.push(("regions".to_string(), regions));
    if let Some(role) = assume_role {
        fields.push(("assumeRole".to_string(), role.to_string()));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# Spinnaker accounts\naws:\n  enabled: true   # the AWS provider\n  accounts:\n    - name: prod          # production\n      accountId: \"123456789012\"\n      regions:\n        - name: us-west-2\n  defaultAssumeRole: role/SpinnakerManaged\n\necs:\n  enabled: false\n  accounts:\n  - name: ecs-prod\n    awsAccount: prod\n# trailing comment\nother:\n  keep: me\n";

    #[test]
    fn adds_keep_comments_and_order() {
        let mut e = Editor::new(FILE);
        e.add_account("aws", &aws_account_fields("dev", "000000000042", &["us-east-1".into()], Some("role/Dev"))).unwrap();
        e.add_account("ecs", &[("name".into(), "ecs-dev".into()), ("awsAccount".into(), "dev".into())]).unwrap();
        e.set_enabled("ecs", true);
        let text = e.text();
        assert!(text.starts_with("# Spinnaker accounts\naws:\n  enabled: true   # the AWS provider\n"), "{text}");
        assert!(text.contains("    - name: prod          # production\n"));
        assert!(text.contains("    - name: dev\n      accountId: \"000000000042\"\n      regions:\n        - name: us-east-1\n      assumeRole: role/Dev\n  defaultAssumeRole"), "{text}");
        assert!(
            text.contains(
                "  - name: ecs-prod\n    awsAccount: prod\n  - name: ecs-dev\n    awsAccount: dev\n# trailing comment\nother:\n  keep: me\n"
            ),
            "{text}"
        );
        assert!(text.contains("ecs:\n  enabled: true\n"));
        assert!(validate_text(&text, "f").is_empty(), "{:?}", validate_text(&text, "f"));
        let config = Config::from_yaml(&text).unwrap();
        assert_eq!(config.account("ecs-dev").unwrap().account_id, "000000000042");
    }

    #[test]
    fn keeps_crlf_line_endings() {
        let mut editor = Editor::new("aws:\r\n  accounts:\r\n    - name: a\r\n      accountId: '123456789012'\r\n");
        editor.add_account("aws", &aws_account_fields("b", "210987654321", &["us-west-2".to_string()], None)).unwrap();
        let text = editor.text();
        assert!(text.contains("name: b") && !text.replace("\r\n", "").contains('\n'), "{text:?}");
    }

    #[test]
    fn removes_one_entry() {
        let mut e = Editor::new(FILE);
        e.add_account("ecs", &[("name".into(), "ecs-two".into()), ("awsAccount".into(), "prod".into())]).unwrap();
        assert!(e.remove_account("ecs", "ecs-prod"));
        assert!(!e.remove_account("ecs", "nope"));
        let text = e.text();
        assert!(!text.contains("ecs-prod") && text.contains("ecs-two") && text.contains("# trailing comment"), "{text}");
    }

    #[test]
    fn starts_from_an_empty_file() {
        let mut e = Editor::new("");
        e.add_account("aws", &aws_account_fields("a", "123456789012", &["us-west-2".into()], None)).unwrap();
        e.add_account("ecs", &[("name".into(), "e".into()), ("awsAccount".into(), "a".into())]).unwrap();
        e.set_enabled("aws", true);
        e.set_enabled("ecs", true);
        let text = e.text();
        assert!(validate_text(&text, "f").is_empty(), "{text}\n{:?}", validate_text(&text, "f"));
        assert!(Config::from_yaml(&text).unwrap().account("e").is_ok());
    }

    #[test]
    fn validation_names_each_problem() {
        let text = "aws:\n  enabled: false\n  accounts:\n    - name: a\n      accountId: 12\n      assumeRole: SpinnakerManaged\n      regions: [{name: us-west-2}]\necs:\n  enabled: true\n  accounts:\n    - name: e\n      awsAccount: missing\n    - name: a\n      awsAccount: a\n";
        let keys: Vec<String> = validate_text(text, "f").into_iter().map(|p| p.key).collect();
        for key in
            ["aws.accounts[0].accountId", "aws.accounts[0].assumeRole", "ecs.accounts[0].awsAccount", "ecs.accounts[1].name", "aws.enabled"]
        {
            assert!(keys.contains(&key.to_string()), "{key} missing from {keys:?}");
        }
        assert!(
            crate::core::config::role_is_well_formed("arn:aws-cn:iam::123456789012:role/x")
                && !crate::core::config::role_is_well_formed("arn:aws:iam::1:role/x")
        );
    }
}
