//! Fuzzes the clouddriver.yml parser and editor: YAML text → accounts (every ECS account resolved,
//! role ARNs built), the offline validator, and the comment-preserving edits of `accounts`.
#![no_main]

use ecs_deployer::{accounts, config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(config) = config::Config::from_yaml(text) {
        for name in config.ecs_account_names() {
            if let Ok(account) = config.account(name) {
                for region in account.region_names() {
                    let _ = account.role_arn(region);
                }
            }
        }
    }
    let _ = accounts::validate_text(text, "fuzz.yml");
    let mut editor = accounts::Editor::new(text);
    let _ = editor.add_account("ecs", &[("name".into(), "fuzz-ecs".into()), ("awsAccount".into(), "aws-main".into())]);
    editor.remove_account("aws", "aws-main");
    editor.set_enabled("ecs", false);
    let edited = editor.text();
    let _ = accounts::validate_text(&edited, "fuzz.yml");
    let _ = accounts::has_account(&edited, "ecs", "fuzz-ecs");
});
