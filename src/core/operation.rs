//! The Clouddriver operations ecs-deployer runs — the one place their names (`createServerGroup`,
//! …) and task phases live; every list, route, message and result derives from [`Operation`].
//! Also what an operations list names before it is validated (so `serve` authorizes on it first)
//! and an explicit rollback's context. Pure.

use serde_json::Value;

/// A Clouddriver operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreateServerGroup,
    DisableServerGroup,
    EnableServerGroup,
    ResizeServerGroup,
    DestroyServerGroup,
    RollbackServerGroup,
    CloneServerGroup,
    ShiftTraffic,
    SwitchBackTraffic,
    FinishTrafficShift,
}

impl Operation {
    /// Every operation, in the order lists and messages show them.
    pub const ALL: [Operation; 10] = [
        Operation::CreateServerGroup,
        Operation::DisableServerGroup,
        Operation::EnableServerGroup,
        Operation::ResizeServerGroup,
        Operation::DestroyServerGroup,
        Operation::RollbackServerGroup,
        Operation::CloneServerGroup,
        Operation::ShiftTraffic,
        Operation::SwitchBackTraffic,
        Operation::FinishTrafficShift,
    ];

    /// Clouddriver's name (`disableServerGroup`).
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateServerGroup => "createServerGroup",
            Operation::DisableServerGroup => "disableServerGroup",
            Operation::EnableServerGroup => "enableServerGroup",
            Operation::ResizeServerGroup => "resizeServerGroup",
            Operation::DestroyServerGroup => "destroyServerGroup",
            Operation::RollbackServerGroup => "rollbackServerGroup",
            Operation::CloneServerGroup => "cloneServerGroup",
            Operation::ShiftTraffic => "shiftTraffic",
            Operation::SwitchBackTraffic => "switchBackTraffic",
            Operation::FinishTrafficShift => "finishTrafficShift",
        }
    }

    /// The operation of Clouddriver's name.
    pub fn parse(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.name() == name)
    }

    /// The phase of a task's history lines while it runs (`DISABLE_ECS_SERVER_GROUP`).
    pub fn phase(self) -> &'static str {
        match self {
            Operation::CreateServerGroup => "CREATE_ECS_SERVER_GROUP",
            Operation::DisableServerGroup => "DISABLE_ECS_SERVER_GROUP",
            Operation::EnableServerGroup => "ENABLE_ECS_SERVER_GROUP",
            Operation::ResizeServerGroup => "RESIZE_ECS_SERVER_GROUP",
            Operation::DestroyServerGroup => "DESTROY_ECS_SERVER_GROUP",
            Operation::RollbackServerGroup => "ROLLBACK_ECS_SERVER_GROUP",
            Operation::CloneServerGroup => "CLONE_ECS_SERVER_GROUP",
            Operation::ShiftTraffic => "SHIFT_TRAFFIC",
            Operation::SwitchBackTraffic => "SWITCH_BACK_TRAFFIC",
            Operation::FinishTrafficShift => "FINISH_TRAFFIC_SHIFT",
        }
    }

    /// Every name, for messages: `a, b, … or z`.
    pub fn names() -> String {
        let names: Vec<&str> = Operation::ALL.iter().map(|o| o.name()).collect();
        let (last, rest) = names.split_last().expect("operations exist");
        format!("{} or {last}", rest.join(", "))
    }
}

/// The accounts an operations list names, read before it is validated (`credentials` /
/// `account` of each operation, a deploy's `source.account`), so that `serve` authorizes on
/// them before validation could tell a caller anything about accounts it may not use.
pub fn named_accounts(value: &Value) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for item in value.as_array().map(Vec::as_slice).unwrap_or_default() {
        for body in item.as_object().into_iter().flat_map(|o| o.values()) {
            let named = [body.get("credentials"), body.get("account"), body.get("source").and_then(|s| s.get("account"))];
            names
                .extend(named.into_iter().flatten().filter_map(Value::as_str).map(str::trim).filter(|n| !n.is_empty()).map(str::to_string));
        }
    }
    names.into_iter().collect()
}

/// An explicit rollback's `rollbackContext`: the server group to restore and the one to disable
/// (Clouddriver's `restoreServerGroupName`, `rollbackServerGroupName`), blanks as missing.
pub fn rollback_context(body: &Value) -> (Option<String>, Option<String>) {
    let context = body.get("rollbackContext");
    let name =
        |key: &str| context.and_then(|c| c.get(key)).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    (name("restoreServerGroupName"), name("rollbackServerGroupName"))
}

/// A rollback's description as the enable of the restored server group reads it.
pub fn restoring(body: &Value, restore: &str) -> Value {
    let mut described = body.clone();
    if let Some(d) = described.as_object_mut() {
        d.insert("serverGroupName".into(), Value::String(restore.to_string()));
    }
    described
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_phases_and_what_a_list_names() {
        assert!(Operation::ALL.iter().all(|o| Operation::parse(o.name()) == Some(*o)));
        assert_eq!(Operation::parse("upsertEntityTags"), None);
        assert!(Operation::names().ends_with("switchBackTraffic or finishTrafficShift"));
        let ops =
            json!([{"createServerGroup": {"credentials": "a", "source": {"account": "b"}}}, {"disableServerGroup": {"account": " c "}}]);
        assert_eq!(named_accounts(&ops), ["a", "b", "c"]);
        let body = json!({"rollbackContext": {"restoreServerGroupName": "x-v001", "rollbackServerGroupName": " "}});
        assert_eq!(rollback_context(&body), (Some("x-v001".into()), None));
        assert_eq!(restoring(&body, "x-v001")["serverGroupName"], "x-v001");
    }
}
