//! Architecture invariants as tests (ARCHITECTURE.md): only `src/aws/` talks to the SDK, only
//! `src/cli/output.rs` (and `main.rs`'s logger set-up) writes to stdout, every module says what
//! it is for, the layers only look down, JSON is read by key only at the edges, no file grows
//! past 700 lines of code, and rules the code once wrote twice stay written once. The rules
//! read code, not text: strings and comments are not uses, and test modules are cut out
//! precisely (each `#[cfg(test)]` item, wherever it is), not everything after the first one.

use std::path::Path;

fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.to_string_lossy().into_owned(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out.sort();
    out
}

/// Which bytes of `text` are code: not inside a comment, a string or a char literal.
fn code_mask(text: &str) -> Vec<bool> {
    let b = text.as_bytes();
    let mut mask = vec![true; b.len()];
    let mut i = 0;
    let blank = |from: usize, to: usize, mask: &mut Vec<bool>| mask[from..to.min(b.len())].iter_mut().for_each(|m| *m = false);
    while i < b.len() {
        let rest = &b[i..];
        let end = if rest.starts_with(b"//") {
            i + rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len())
        } else if rest.starts_with(b"/*") {
            i + 2 + text[i + 2..].find("*/").map_or(rest.len() - 2, |p| p + 2)
        } else if let Some(hashes) = raw_string_start(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let open = 2 + hashes + usize::from(rest[0] == b'b');
            i + open + text[i + open..].find(&close).map_or(rest.len() - open, |p| p + close.len())
        } else if rest[0] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        } else if rest[0] == b'\'' && char_literal_len(&text[i..]).is_some() {
            i + char_literal_len(&text[i..]).unwrap()
        } else {
            i += 1;
            continue;
        };
        blank(i, end, &mut mask);
        i = end;
    }
    mask
}

/// `r"`, `r#"`, `br##"`…: the number of hashes of a raw string starting here.
fn raw_string_start(rest: &[u8]) -> Option<usize> {
    let after_b = if rest.first() == Some(&b'b') { &rest[1..] } else { rest };
    let after_r = after_b.strip_prefix(b"r")?;
    let hashes = after_r.iter().take_while(|&&c| c == b'#').count();
    (after_r.get(hashes) == Some(&b'"')).then_some(hashes)
}

/// The length of a char literal (`'x'`, `'\n'`, `'\''`, `'{'`) starting here; None for a lifetime.
fn char_literal_len(s: &str) -> Option<usize> {
    let mut chars = s.char_indices().skip(1);
    let (_, c) = chars.next()?;
    if c == '\\' {
        return s[2..].find('\'').map(|p| p + 3);
    }
    let (at, close) = chars.next()?;
    (close == '\'').then_some(at + 1)
}

/// `text` without its `#[cfg(test)]` items (a module with its braces, a `use`, a function),
/// with comments and literals kept: only the test code is cut.
fn without_tests(text: &str) -> String {
    let mask = code_mask(text);
    let mut out = String::new();
    let mut from = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("#[cfg(test)]").map(|p| p + search) {
        search = found + 1;
        if !mask[found] || found < from {
            continue;
        }
        out.push_str(&text[from..found]);
        from = item_end(text, &mask, found + "#[cfg(test)]".len());
        search = from;
    }
    out.push_str(&text[from..]);
    out
}

/// Where the item starting at `at` ends: after its `;`, or after the `}` matching its first `{`.
fn item_end(text: &str, mask: &[bool], at: usize) -> usize {
    let b = text.as_bytes();
    let mut depth = 0usize;
    for i in at..b.len() {
        if !mask[i] {
            continue;
        }
        match b[i] {
            b';' if depth == 0 => return i + 1,
            b'{' => depth += 1,
            b'}' if depth == 1 => return i + 1,
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    b.len()
}

/// The code of `text` — test items cut out, comments and literals blanked — for the rules below.
fn code(text: &str) -> String {
    let cut = without_tests(text);
    let mask = code_mask(&cut);
    cut.bytes().zip(mask).map(|(c, code)| if code || c == b'\n' { c as char } else { ' ' }).collect()
}

/// Whether `code` names module path `path` (`crate::aws` as `crate::aws::…`, `crate::aws;`…,
/// never `crate::aws_x`).
fn names(code: &str, path: &str) -> bool {
    code.match_indices(path).any(|(i, _)| !code[i + path.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// The keyed reads of JSON in `text` (`v["key"]`, `v.get("key")`), with their lines; writes
/// (`v["key"] = …`) are not reads.
fn keyed_reads(text: &str) -> Vec<String> {
    let cut = without_tests(text);
    let mask = code_mask(&cut);
    let mut found = Vec::new();
    let lines = cut.split('\n').scan(0, |at, l| {
        let start = *at;
        *at += l.len() + 1;
        Some((start, l))
    });
    for (start, line) in lines {
        for (i, _) in line.match_indices("[\"").chain(line.match_indices(".get(\"")) {
            let indexing = line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ')' || c == ']');
            if !mask[start + i] || (line[i..].starts_with("[\"") && !indexing) {
                continue;
            }
            let tail = &line[i..];
            let close = tail.find("\"]").map(|p| p + 2).unwrap_or(tail.len());
            let write =
                tail.starts_with("[\"") && tail[close..].trim_start().starts_with('=') && !tail[close..].trim_start().starts_with("==");
            if !write {
                found.push(line.trim().to_string());
            }
        }
    }
    found
}

/// Paths into an AWS SDK crate (`aws_sdk_ecs::…`, `aws_config::…`); names in strings (log
/// filter directives) are not uses.
fn sdk_paths(text: &str) -> Vec<String> {
    let code = code(text);
    let mut found = Vec::new();
    for prefix in ["aws_sdk_", "aws_config", "aws_smithy", "aws_credential_types"] {
        for (i, _) in code.match_indices(prefix) {
            let ident: String = code[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if code[i + ident.len()..].starts_with("::") && !found.contains(&ident) {
                found.push(ident);
            }
        }
    }
    found
}

fn rel(path: &str) -> &str {
    path.split("/src/").last().unwrap_or(path)
}

#[test]
fn the_rules_read_code_and_cut_test_modules_precisely() {
    let text = "//! doc\nfn a() { let s = \"#[cfg(test)] {\"; let c = '{'; }\n#[cfg(test)]\nmod tests {\n    fn t() { let v = x[\"k\"]; }\n}\nfn b<'a>(v: &'a V) -> &'a str { v[\"after\"].as_str() }\n#[cfg(test)]\nuse std::fmt;\nfn c() { crate::aws_x::y(); }\n";
    let cut = without_tests(text);
    assert!(cut.contains("fn a()") && cut.contains("fn b<'a>") && cut.contains("fn c()"), "code after a test module is kept: {cut}");
    assert!(!cut.contains("fn t()") && !cut.contains("use std::fmt"), "test items are cut: {cut}");
    assert_eq!(keyed_reads(text), ["fn b<'a>(v: &'a V) -> &'a str { v[\"after\"].as_str() }"]);
    assert!(keyed_reads("fn w(v: &mut V) { v[\"k\"] = json!(1); }").is_empty(), "a write is not a read");
    assert!(keyed_reads("fn l() { for f in [\"a.yml\", \"b.yml\"] {} }").is_empty(), "an array literal is not a read");
    assert_eq!(keyed_reads("fn g(v: &V) { v.get(\"k\"); if v[\"a\"] == 1 {} }").len(), 2);
    assert!(keyed_reads("// v[\"in a comment\"]\nfn f() { let s = \"x.get(\\\"y\\\")\"; }").is_empty());
    assert!(!names(&code(text), "crate::aws") && names("use crate::aws::Session;", "crate::aws"));
    assert!(names("use crate::aws;", "crate::aws") && !names(&code("// crate::aws::x\nlet s = \"crate::aws::y\";"), "crate::aws"));
    assert!(names("x.await?", ".await") && !names("self.awaiting_hook", ".await"), "a name, not a prefix of one");
    assert_eq!(sdk_paths("use aws_sdk_ecs::Client; \"aws_sdk_ecs=info\""), vec!["aws_sdk_ecs"]);
    assert_eq!(code("let r = r#\"a \"quoted\" {\"#; let x = 1;").matches('{').count(), 0);
}

#[test]
fn only_the_aws_module_imports_the_sdk() {
    for (path, text) in sources() {
        if path.contains("/src/aws/") {
            continue;
        }
        let paths = sdk_paths(&text);
        assert!(paths.is_empty(), "{} uses {paths:?}: only src/aws/ may talk to the AWS SDK", rel(&path));
    }
}

#[test]
fn only_output_prints() {
    for (path, text) in sources() {
        if path.ends_with("/src/cli/output.rs") {
            continue;
        }
        let code = code(&text);
        for needle in ["println!", "print!(", "eprintln!", "eprint!("] {
            assert!(!code.contains(needle), "{} uses `{needle}`: only src/cli/output.rs writes results", rel(&path));
        }
    }
}

#[test]
fn every_module_opens_with_a_doc_paragraph() {
    for (path, text) in sources() {
        assert!(text.starts_with("//!"), "{} must open with a `//!` paragraph on what it is for", rel(&path));
    }
}

/// The modules each layer must not name, and why.
const LAYERS: [(&str, &[&str], &str); 4] = [
    (
        "core/",
        &["crate::engine", "crate::aws", "crate::cli", "crate::serve", "tokio", "std::net", "std::env"],
        "the core is pure and synchronous and names no shell",
    ),
    ("aws/", &["crate::engine", "crate::serve", "crate::cli", "clap"], "the AWS layer knows AWS and the core only"),
    ("engine/", &["crate::cli", "crate::serve", "clap", "std::env::var"], "the engine does not know the command line or serve"),
    ("serve/", &["crate::cli", "crate::aws"], "serve takes its options as values and reaches AWS through the engine"),
];

#[test]
fn the_layers_are_folders_and_only_look_down() {
    let mut seen = [0usize; 4];
    for (path, text) in sources() {
        let code = code(&text);
        for (n, (folder, forbidden, why)) in LAYERS.iter().enumerate() {
            if !rel(&path).starts_with(folder) {
                continue;
            }
            seen[n] += 1;
            for name in *forbidden {
                assert!(!names(&code, name), "{} names `{name}`: {why}", rel(&path));
            }
        }
        if rel(&path).starts_with("core/") {
            for needle in ["async fn", ".await"] {
                assert!(!names(&code, needle), "{} uses `{needle}`: the core is synchronous", rel(&path));
            }
            if !path.ends_with("/src/core/input.rs") {
                assert!(!names(&code, "std::fs"), "{} uses std::fs: only core/input.rs reads files", rel(&path));
            }
        }
    }
    assert!(seen.iter().all(|n| *n >= 5), "the layer folders were not found: {seen:?}");
}

#[test]
fn json_is_read_by_key_only_at_the_edges() {
    let inner = |p: &str| p.starts_with("engine/") || p.starts_with("serve/console/") || p == "cli/run.rs";
    let mut checked = 0;
    for (path, text) in sources() {
        if !inner(rel(&path)) {
            continue;
        }
        checked += 1;
        let reads = keyed_reads(&text);
        assert!(
            reads.is_empty(),
            "{} reads JSON by key: {reads:#?}; parse into a typed value at the edge (core/view, core/description) and read fields",
            rel(&path)
        );
    }
    assert!(checked >= 20, "the engine and console were not found ({checked} files)");
}

#[test]
fn no_file_holds_more_than_700_lines_of_code() {
    for (path, text) in sources() {
        // The task definition schema is data generated from AWS's model, not code to read.
        if path.ends_with("/src/core/taskdef/schema.rs") {
            continue;
        }
        let lines = without_tests(&text).lines().count();
        assert!(lines <= 700, "{} has {lines} lines besides its tests: split it, one concept per file", rel(&path));
    }
}

#[test]
fn rules_written_once_stay_written_once() {
    let once: [(&str, &str, &str); 4] = [
        ("TargetTracking-", "core/scaling.rs", "the target-tracking alarm rule (core::scaling::is_target_tracking_alarm)"),
        ("resolvedTaskDefinitionArtifact.invalid", "core/artifact/mod.rs", "the artifact error code (core::artifact::INVALID_CODE)"),
        ("PoisonError", "core/sync.rs", "the mutex-poison policy (core::sync)"),
        ("\"createServerGroup\"", "core/operation.rs", "the operation names (core::operation::Operation)"),
    ];
    for (path, text) in sources() {
        let cut = without_tests(&text);
        let cut: String = cut.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        for (needle, home, rule) in once {
            if !rel(&path).ends_with(home) {
                assert!(!cut.contains(needle), "{} spells `{needle}`: {rule} is written once, in {home}", rel(&path));
            }
        }
        let code = code(&text);
        let blocks = code.matches("\nimpl Session {").count();
        assert!(blocks <= 1, "{} has {blocks} `impl Session` blocks: one per file, so a service's calls are in one place", rel(&path));
        if !rel(&path).ends_with("core/sync.rs") {
            for poison in [".lock().unwrap()", ".lock().expect(", ".read().unwrap()", ".write().unwrap()", "e.into_inner())"] {
                assert!(!code.contains(poison), "{} handles a poisoned lock itself (`{poison}`): use core::sync", rel(&path));
            }
        }
    }
}
