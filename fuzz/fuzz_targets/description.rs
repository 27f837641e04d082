//! Fuzzes the description parser and everything checked before AWS is called: JSON text →
//! createServerGroup description → validation and task-definition build (`deploy::prepare`), the
//! lifecycle operation parser, and the operations-list parser used by `ops` and `serve`.
#![no_main]

mod common;

use ecs_deployer::{deploy, description, operations, ops};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(value) = description::parse_json_text(text, "fuzz") else { return };
    let config = common::config();
    let _ = ops::parse(&config, value.clone());
    for kind in [operations::Kind::Disable, operations::Kind::Resize] {
        if let Ok(op) = description::server_group_operation_from_json(value.clone(), kind.operation()) {
            let _ = operations::validate(kind, &config, &op);
        }
    }
    if let Ok(d) = description::create_server_group_from_json(value) {
        let _ = deploy::prepare(&config, d, &deploy::DeployOptions::default());
    }
});
