//! Architecture invariants as tests (ARCHITECTURE.md): only `src/aws/` talks to the SDK, only
//! `src/cli/output.rs` (and `main.rs`'s logger set-up) writes to stdout, every module says what it is for.

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
    out
}

/// Paths into an AWS SDK crate (`aws_sdk_ecs::…`, `aws_config::…`); names in strings (log
/// filter directives) are not uses.
fn sdk_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for prefix in ["aws_sdk_", "aws_config", "aws_smithy", "aws_credential_types"] {
        let mut rest = text;
        while let Some(i) = rest.find(prefix) {
            let ident: String = rest[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            let after = &rest[i + ident.len()..];
            if after.starts_with("::") {
                found.push(ident.clone());
            }
            rest = &rest[i + ident.len().max(1)..];
        }
    }
    found
}

#[test]
fn only_the_aws_module_imports_the_sdk() {
    for (path, text) in sources() {
        if path.contains("/src/aws/") {
            continue;
        }
        let paths = sdk_paths(&text);
        assert!(paths.is_empty(), "{path} uses {paths:?}: only src/aws/ may talk to the AWS SDK");
    }
    assert_eq!(sdk_paths("use aws_sdk_ecs::Client; \"aws_sdk_ecs=info\""), vec!["aws_sdk_ecs"]);
}

#[test]
fn only_output_prints() {
    for (path, text) in sources() {
        if path.ends_with("/src/cli/output.rs") {
            continue;
        }
        for needle in ["println!", "print!(", "eprintln!", "eprint!("] {
            assert!(!text.contains(needle), "{path} uses `{needle}`: only src/cli/output.rs writes results");
        }
    }
}

#[test]
fn every_module_opens_with_a_doc_paragraph() {
    for (path, text) in sources() {
        assert!(text.starts_with("//!"), "{path} must open with a `//!` paragraph on what it is for");
    }
}

/// A module's code without its unit tests.
fn without_tests(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

#[test]
fn the_layers_are_folders_and_only_look_down() {
    let mut seen = [0usize; 2];
    for (path, text) in sources() {
        let code = without_tests(&text);
        if path.contains("/src/core/") {
            seen[0] += 1;
            for needle in
                ["crate::engine", "crate::aws", "crate::cli", "crate::serve", "async fn", ".await", "tokio::", "std::net", "std::env"]
            {
                assert!(!code.contains(needle), "{path} uses `{needle}`: the core is pure and synchronous and names no shell");
            }
            if !path.ends_with("/src/core/input.rs") {
                assert!(!code.contains("std::fs"), "{path} uses std::fs: only core/input.rs reads files");
            }
        }
        if path.contains("/src/engine/") {
            seen[1] += 1;
            for needle in ["crate::cli", "crate::serve", "clap::", "std::env::var"] {
                assert!(!code.contains(needle), "{path} uses `{needle}`: the engine does not know the command line or serve");
            }
        }
        if path.contains("/src/serve/") {
            assert!(!code.contains("crate::cli"), "{path} uses the CLI: serve takes its options as values");
        }
    }
    assert!(seen[0] >= 10 && seen[1] >= 5, "the core and engine folders were not found: {seen:?}");
}
