//! What is done about work a process or replica abandoned (a crash, a lost lease): the server
//! group a deploy was creating undone (when it still carries that deploy's crash marker), and the
//! server groups of cut-short lifecycle operations read back into one line each. Each opens its
//! own AWS session, so the task runner (`serve`) never names the AWS layer.

use crate::aws::Session;
use crate::core::config::{Account, Config};
use crate::core::error::Error;
use crate::engine::journal::Creating;
use crate::engine::lifecycle;

/// One report line: what became of the server group an abandoned deploy was creating.
pub async fn undo_create(config: &Config, creating: &Creating) -> String {
    let name = &creating.server_group;
    let undone = async {
        let account = config.account(&creating.account).map_err(|e| Error::Config(e.to_string()))?;
        let session = Session::connect(&account, &creating.region).await?;
        lifecycle::undo_create(&session, creating).await
    };
    undone.await.unwrap_or_else(|e| {
        format!(
            "could not undo {name}: {e}; `ecs-deployer cleanup --account {} --region {}` removes it once it is old enough",
            creating.account, creating.region
        )
    })
}

/// One line: the traffic journal an abandoned task left on `rule`, restored (see
/// [`crate::engine::traffic::restore_owned`]).
pub async fn restore_rule(account: &Account, region: &str, rule: &crate::core::traffic::RuleRef, task: &str) -> String {
    crate::engine::traffic::restore_owned(account, region, rule, task).await
}

/// One line: what server group `name` of `account`/`region` is now (see [`lifecycle::state_line`]).
pub async fn state_line(account: &Account, region: &str, ecs_cluster: Option<&str>, name: &str) -> String {
    match Session::connect(account, region).await {
        Ok(session) => lifecycle::state_line(&session, ecs_cluster, name).await,
        Err(e) => format!("could not read {name} back: {e}"),
    }
}
