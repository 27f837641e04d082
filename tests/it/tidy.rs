//! Architecture invariants as tests (ARCHITECTURE.md): only `src/aws/` talks to the SDK, only
//! `src/output.rs` (and `main.rs`'s logger set-up) writes to stdout, every module says what it is for.

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

#[test]
fn only_the_aws_module_imports_the_sdk() {
    for (path, text) in sources() {
        if path.contains("/src/aws/") {
            continue;
        }
        for needle in ["aws_sdk_", "aws_config::", "aws_smithy_types::", "aws_smithy_runtime_api::", "aws_credential_types::"] {
            assert!(!text.contains(needle), "{path} mentions `{needle}`: only src/aws/ may talk to the AWS SDK");
        }
    }
}

#[test]
fn only_output_prints() {
    for (path, text) in sources() {
        if path.ends_with("/src/output.rs") {
            continue;
        }
        for needle in ["println!", "print!(", "eprintln!", "eprint!("] {
            assert!(!text.contains(needle), "{path} uses `{needle}`: only src/output.rs writes results");
        }
    }
}

#[test]
fn every_module_opens_with_a_doc_paragraph() {
    for (path, text) in sources() {
        assert!(text.starts_with("//!"), "{path} must open with a `//!` paragraph on what it is for");
    }
}

#[test]
fn planning_is_pure() {
    for (path, text) in sources() {
        let pure = [
            "plan.rs",
            "moniker.rs",
            "taskdef/mod.rs",
            "taskdef/check.rs",
            "validate.rs",
            "description.rs",
            "model.rs",
            "scaling.rs",
            "health.rs",
            "strategy.rs",
        ];
        if pure.iter().any(|p| path.ends_with(&format!("/src/{p}"))) {
            for needle in ["async fn", ".await", "tokio::", "std::net", "std::fs"] {
                assert!(!text.contains(needle), "{path} uses `{needle}`: the planning core is pure and synchronous");
            }
        }
    }
}
