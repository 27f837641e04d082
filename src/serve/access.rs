//! Who may do what in `serve`, by Fiat's rules over the configured accounts: writes and reads
//! per account, the artifact accounts a caller may use, which tasks a caller may see or cancel
//! (and the store's filter for them), Clouddriver's 403, and the audited record of a request.

use std::net::SocketAddr;

use axum::http::Method;
use axum::response::Response;

use super::App;
use super::audit::Event;
use super::http::*;
use super::store::{self};
use crate::core::access::{Authorization, Identity};
use crate::core::artifact::ArtifactAccount;
use crate::core::config::Config;
use crate::engine::operations::list::Task;

/// What a request is about, for the audit log and the permission check.
pub(super) struct Audited {
    pub(super) identity: Identity,
    pub(super) event: Event,
}

impl Audited {
    pub(super) fn new(identity: Identity, method: &Method, path: &str, peer: Option<SocketAddr>) -> Audited {
        let mut event = event_of(method, path, peer);
        event.principal = Some(identity.principal.name.clone());
        event.on_behalf_of = identity.user.clone();
        Audited { identity, event }
    }

    /// Audits the post's outcome and returns the response.
    pub(super) fn answer(mut self, app: &App, outcome: &'static str, response: Response) -> Response {
        self.event.outcome = outcome;
        self.event.status = response.status().as_u16();
        app.audit.record(self.event);
        response
    }
}

/// Whether `identity` may download with `account` (see
/// [`Identity::may_use_artifact_account`]); the embedded account reaches nothing and is anyone's.
pub(super) fn may_use_artifact(config: &Config, identity: &Identity, account: &ArtifactAccount) -> bool {
    let writes_an_ecs_account =
        || config.ecs_account_names().into_iter().any(|name| denied(config, identity, &[name.to_string()], Authorization::Write).is_none());
    account.kind == crate::core::artifact::Kind::Embedded
        || identity.may_use_artifact_account(&account.permissions, !account.permissions.is_restricted() && writes_an_ecs_account())
}

/// The first account of `accounts` that `identity` may not use with `authorization`.
pub(super) fn denied<'a>(config: &Config, identity: &Identity, accounts: &'a [String], authorization: Authorization) -> Option<&'a str> {
    accounts.iter().map(String::as_str).find(|name| match config.account(name) {
        Ok(account) => !identity.may(name, &account.permissions, authorization),
        Err(_) => true,
    })
}

/// The configured ECS accounts `identity` may read (the read API's application views, the console).
pub(super) fn readable_accounts(config: &Config, identity: &Identity) -> Vec<String> {
    let names = config.ecs_account_names().into_iter().map(str::to_string);
    names.filter(|a| denied(config, identity, std::slice::from_ref(a), Authorization::Read).is_none()).collect()
}

/// Whether `identity` may see `task`: its owner (through the principal that posted it), a
/// principal that may read every account it touches, an admin.
pub(super) fn may_see(config: &Config, identity: &Identity, task: &Task) -> bool {
    if identity.principal.admin {
        return true;
    }
    let posted_by_this_principal = task.principal.as_deref() == Some(identity.principal.name.as_str());
    if posted_by_this_principal && task.owner_id.as_deref() == Some(identity.owner()) {
        return true;
    }
    !task.accounts.is_empty() && denied(config, identity, &task.accounts, Authorization::Read).is_none()
}

/// The store's filter for the tasks `identity` may see (mentioning `needle` when given): its own,
/// and those whose every account it may read; every task for an admin. [`may_see`] stays the
/// final word on each.
pub(super) fn visible_to(config: &Config, identity: &Identity, needle: Option<&str>) -> store::TaskFilter {
    let unreadable = (!identity.principal.admin).then(|| {
        let names = config.ecs_account_names().into_iter().map(str::to_string);
        names.filter(|a| denied(config, identity, std::slice::from_ref(a), Authorization::Read).is_some()).collect()
    });
    store::TaskFilter {
        own: Some((identity.principal.name.clone(), identity.owner().to_string())),
        unreadable_accounts: unreadable,
        mentioning: needle.map(str::to_string),
    }
}

/// Whether `identity` may cancel `task`: its owner (through the principal that posted it), a
/// principal that may write every account it touches, an admin.
pub(super) fn may_cancel(config: &Config, identity: &Identity, task: &Task) -> bool {
    let own = task.principal.as_deref() == Some(identity.principal.name.as_str()) && task.owner_id.as_deref() == Some(identity.owner());
    identity.principal.admin
        || own
        || (!task.accounts.is_empty() && denied(config, identity, &task.accounts, Authorization::Write).is_none())
}
