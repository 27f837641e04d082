//! The console's actions: each behind a confirmation that says what will happen (and asks a
//! second time when nothing — or nothing healthy — would keep serving, or when that cannot be
//! checked), posted with the session's CSRF token and a one-time form token (the operation's
//! `clientRequestId`: a double click is one task) as the Clouddriver operations the API takes,
//! through the same [`submit`](crate::serve::ops::submit). Everything is scoped by the page's
//! account, region and ECS cluster; a rollback's current group is the console's own finding.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use maud::html;
use serde_json::{Value, json};

use super::session::{csrf_of, csrf_ok, random_id};
use super::widgets::counts;
use super::{answer, denied_page, encode, error_page, may_write, page, post_form};
use crate::core::access::Identity;
use crate::core::operation::Operation;
use crate::core::view::ServerGroupView;
use crate::serve::http::{Peer, query_pairs};
use crate::serve::{App, Audited};

/// A confirmation's form as posted: its keys read here, once, into typed fields.
#[derive(Debug, Default)]
struct ActionForm {
    csrf: Option<String>,
    /// The one-time token (64 hex digits) the confirmation page made.
    token: Option<String>,
    acknowledged: bool,
    /// The current server group the rollback confirmation named.
    current: Option<String>,
    confirm_name: Option<String>,
    min: Option<String>,
    max: Option<String>,
    desired: Option<String>,
    /// (container or `image`, image) of a new version.
    images: Vec<(String, String)>,
}

impl ActionForm {
    fn parse(body: &[u8]) -> ActionForm {
        let mut pairs = query_pairs(body);
        let mut take = |key: &str| pairs.remove(key).map(|v| v.trim().to_string());
        let mut form = ActionForm {
            csrf: take("csrf"),
            token: take("form").filter(|f| f.len() == 64 && f.bytes().all(|b| b.is_ascii_hexdigit())),
            acknowledged: take("acknowledge").as_deref() == Some("yes"),
            current: take("current"),
            confirm_name: take("confirmName"),
            min: take("min"),
            max: take("max"),
            desired: take("desired"),
            images: Vec::new(),
        };
        form.images = pairs
            .into_iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("image.")?.to_string(), v.trim().to_string())))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        form.images.sort();
        form
    }

    fn number(&self, value: &Option<String>, key: &str) -> Result<i64, String> {
        value.as_deref().and_then(|v| v.parse::<i64>().ok()).ok_or_else(|| format!("{key} must be a whole number"))
    }
}

/// What an action does, said in the confirmation.
fn describe(action: &str, name: &str, others: &[String]) -> Option<String> {
    let serving = if others.is_empty() {
        "no other server group of its cluster is enabled".to_string()
    } else {
        format!("{} keeps serving", others.join(", "))
    };
    Some(match action {
        "disable" => {
            format!("disable {name}: suspend its scaling, deregister it from its target groups and set its desired count to 0; {serving}")
        }
        "enable" => format!("enable {name}: restore its desired count and scaling and register it with its target groups"),
        "resize" => format!("resize {name} to the capacity below"),
        "redeploy" => format!(
            "deploy a new version of {name}'s cluster from {name} itself — its task definition, every setting of its service and its scaling — with the images below; {name} keeps serving until you disable it"
        ),
        "rollback" => match others.first() {
            Some(current) => format!("roll back to {name}: enable it, wait until it is healthy, then disable {current}"),
            None => return None,
        },
        "destroy" => format!("destroy {name}: delete its service, scalable target, scaling policies and alarms; this cannot be undone"),
        _ => return None,
    })
}

/// Why taking `name` away leaves nothing (healthy) serving, if it does: the second
/// confirmation's reason. Err when that cannot be checked — a check that cannot be made refuses.
async fn leaves_nothing_serving(app: &App, account: &str, region: &str, name: &str) -> Result<Option<String>, String> {
    let sg = app.reader.server_group(account, region, name).await.map_err(|e| e.into_error().to_string())?;
    if !sg.enabled() {
        return Ok(None);
    }
    let (others, healthy) = enabled_peers(app, account, &sg).await?;
    Ok(if others.is_empty() {
        Some(format!("{name} is the cluster's only enabled server group"))
    } else if !healthy && counts(&sg).0 > 0 {
        Some(format!("{name} is the only server group of its cluster with healthy tasks"))
    } else {
        None
    })
}

/// Whether an action takes a server group out of service: a disable, a destroy, a resize to
/// desired 0 (what needs the second confirmation when nothing else serves).
fn takes_out_of_service(action: &str, fields: &ActionForm) -> bool {
    match action {
        "disable" | "destroy" => true,
        "resize" => fields.desired.as_deref().and_then(|d| d.parse::<i64>().ok()) == Some(0),
        _ => false,
    }
}

/// The other enabled server groups of a server group's cluster — same account, region and ECS
/// cluster — and whether any has a task up; Err when they cannot be read.
async fn enabled_peers(app: &App, account: &str, sg: &ServerGroupView) -> Result<(Vec<String>, bool), String> {
    let peers = enabled_peer_views(app, account, sg).await?;
    let healthy = peers.iter().any(|g| counts(g).0 > 0);
    Ok((peers.iter().map(|g| g.name.clone()).collect(), healthy))
}

/// The peers' views, newest first.
async fn enabled_peer_views(app: &App, account: &str, sg: &ServerGroupView) -> Result<Vec<ServerGroupView>, String> {
    let groups = app.reader.groups(account, &sg.moniker.app, Some(&sg.cluster)).await.map_err(|e| e.into_error().to_string())?;
    let same_place = |g: &ServerGroupView| g.region == sg.region && g.ecs_cluster == sg.ecs_cluster;
    Ok(groups.iter().filter(|g| g.name != sg.name && g.enabled() && same_place(g)).cloned().collect())
}

pub(super) async fn confirm(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    Path((action, account, region, name)): Path<(String, String, String, String)>,
) -> Response {
    let (csrf, cookie) = csrf_of(&app, &headers);
    if !may_write(&app, &identity, &account) {
        let path = format!("/console/confirm/{action}/{account}/{region}/{name}");
        return denied_page(&app, identity, peer, &path, (vec![account], None), &csrf, cookie);
    }
    let sg = match app.reader.server_group(&account, &region, &name).await {
        Ok(sg) => sg,
        Err(e) => return error_page(StatusCode::NOT_FOUND, &name, &csrf, cookie, e.into_error().to_string()),
    };
    let (peers, unchecked) = match enabled_peers(&app, &account, &sg).await {
        Ok(peers) => (peers, None),
        Err(e) => ((Vec::new(), false), Some(e)),
    };
    let (others, others_healthy) = peers;
    let Some(what) = describe(&action, &name, &others).filter(|_| unchecked.is_none() || action != "rollback") else {
        let message = match action.as_str() {
            "rollback" => format!("{name} has no enabled server group beside it to roll back from"),
            _ => format!("No such action: {action}"),
        };
        return error_page(StatusCode::NOT_FOUND, "Not possible", &csrf, cookie, message);
    };
    // A new version: every container of the live server group, with the image it runs now.
    let images: Vec<(String, String)> = match action.as_str() {
        "redeploy" => sg.containers.iter().filter_map(|c| Some((c.name.clone()?, c.image.clone().unwrap_or_default()))).collect(),
        _ => Vec::new(),
    };
    let takes_away = matches!(action.as_str(), "disable" | "destroy" | "resize") && sg.enabled();
    let leaves_none = takes_away && unchecked.is_none() && others.is_empty();
    let only_healthy = takes_away && unchecked.is_none() && !others.is_empty() && !others_healthy && counts(&sg).0 > 0;
    // A resize leaves nothing serving only at desired 0: its acknowledgement is asked for, not required.
    let required = action != "resize";
    let target = format!("/console/actions/{}/{}/{}/{}", encode(&action), encode(&account), encode(&region), encode(&name));
    let body = html! {
        h1 { "Confirm" }
        p.confirm { (what) "." }
        form method="post" action=(target) {
            input type="hidden" name="csrf" value=(csrf);
            // One-time: the same form posted twice (a double click) is one task.
            input type="hidden" name="form" value=(random_id());
            @if action == "rollback" { input type="hidden" name="current" value=(others.first().cloned().unwrap_or_default()); }
            @if action == "redeploy" {
                @for (field, image) in &images {
                    label { "Image of " code { (field) } " " input type="text" name=(format!("image.{field}")) value=(image) required; }
                }
            }
            @if action == "resize" {
                @let c = &sg.capacity;
                label { "Min " input type="number" name="min" min="0" value=(c.min); }
                label { "Max " input type="number" name="max" min="0" value=(c.max); }
                label { "Desired " input type="number" name="desired" min="0" value=(c.desired); }
            }
            @if action == "destroy" {
                label { "Type " code { (name) } " to confirm " input type="text" name="confirmName" autocomplete="off" required; }
            }
            @if let (true, Some(why)) = (takes_away, &unchecked) {
                p.warning { "Could not check what keeps serving (" (why) "): this may leave nothing serving." }
                label { input type="checkbox" name="acknowledge" value="yes" required[required]; " I understand that nothing may serve" }
            }
            @if leaves_none {
                p.warning {
                    @if action == "resize" { "At desired 0 this leaves" } @else { "This leaves" }
                    " the cluster with no enabled server group: nothing will take traffic."
                }
                label { input type="checkbox" name="acknowledge" value="yes" required[required]; " I understand that nothing will serve" }
            }
            @if only_healthy {
                p.warning { (name) " is the only server group of its cluster with healthy tasks: " (others.join(", ")) " has none up." }
                label { input type="checkbox" name="acknowledge" value="yes" required[required]; " I understand that nothing healthy will serve" }
            }
            button type="submit" { "Yes, " (action) " " (name) }
            " " a href=(format!("/console/server-groups/{}/{}/{}", encode(&account), encode(&region), encode(&name))) { "Cancel" }
        }
    };
    answer(StatusCode::OK, page("Confirm", Some(&csrf), body), cookie)
}

/// The Clouddriver operation an action posts.
fn operation(action: &str, account: &str, region: &str, name: &str, fields: &ActionForm) -> Result<Value, String> {
    let base = json!({"serverGroupName": name, "asgName": name, "region": region, "credentials": account, "account": account, "cloudProvider": "ecs"});
    let description = match action {
        "disable" | "enable" => base,
        "destroy" if fields.confirm_name.as_deref() != Some(name) => {
            return Err(format!("type the server group's name ({name}) to destroy it"));
        }
        "destroy" => base,
        "resize" => {
            let capacity = json!({"min": fields.number(&fields.min, "min")?, "max": fields.number(&fields.max, "max")?,
                "desired": fields.number(&fields.desired, "desired")?});
            let mut with = base.as_object().cloned().unwrap_or_default();
            with.insert("capacity".into(), capacity);
            Value::Object(with)
        }
        other => return Err(format!("no such action: {other}")),
    };
    let operation = match action {
        "disable" => Operation::DisableServerGroup,
        "enable" => Operation::EnableServerGroup,
        "destroy" => Operation::DestroyServerGroup,
        _ => Operation::ResizeServerGroup,
    };
    Ok(json!([{ operation.name(): description }]))
}

/// Why an action is refused before anything is posted: it would leave nothing serving and was
/// not acknowledged, or that could not be checked, or its form has no one-time token.
async fn unconfirmed(app: &App, action: &str, account: &str, region: &str, name: &str, fields: &ActionForm) -> Option<String> {
    if takes_out_of_service(action, fields) && !fields.acknowledged {
        match leaves_nothing_serving(app, account, region, name).await {
            Ok(None) => {}
            Ok(Some(why)) => return Some(format!("{why}; confirm that explicitly on the confirmation page.")),
            Err(e) => return Some(format!("Could not check what keeps serving ({e}); confirm explicitly on the confirmation page.")),
        }
    }
    fields.token.is_none().then(|| "This form is stale (it has no one-time token); open the confirmation page again.".to_string())
}

pub(super) async fn act(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    Path((action, account, region, name)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Response {
    let fields = ActionForm::parse(&body);
    let path = format!("/console/actions/{action}/{account}/{region}/{name}");
    let mut post = Audited::new(identity, &Method::POST, &path, peer);
    if !csrf_ok(&app, &headers, fields.csrf.as_deref()) {
        post.event.reason = Some("missing or wrong CSRF token".into());
        let markup = page(
            "Refused",
            None,
            html! { p.error { "This form is stale or was not sent by the console (missing CSRF token). Nothing was changed." } },
        );
        return post.answer(&app, "refused", answer(StatusCode::FORBIDDEN, markup, None));
    }
    let (csrf, _) = csrf_of(&app, &headers);
    let not_done = |message: String| page("Not done", Some(&csrf), html! { p.error { (message) " Nothing was changed." } });
    if let Some(message) = unconfirmed(&app, &action, &account, &region, &name, &fields).await {
        post.event.reason = Some(message.clone());
        return post.answer(&app, "invalid", answer(StatusCode::BAD_REQUEST, not_done(message), None));
    }
    let ops = match action.as_str() {
        "redeploy" => redeploy(&account, &region, &name, &fields),
        "rollback" => rollback_from_current(&app, &account, &region, &name, &fields).await,
        _ => operation(&action, &account, &region, &name, &fields),
    };
    let ops = match ops {
        Ok(ops) => ops,
        Err(message) => return post.answer(&app, "invalid", answer(StatusCode::BAD_REQUEST, not_done(format!("{message}.")), None)),
    };
    post_form(&app, post, &ops, fields.token.as_deref().unwrap_or_default(), &csrf).await
}

/// The rollback onto `name`, from the server group the console finds current — the newest other
/// enabled one of its cluster in the same account, region and ECS cluster — which must be the one
/// the confirmation named (else the cluster changed meanwhile and the person confirms again).
async fn rollback_from_current(app: &App, account: &str, region: &str, name: &str, fields: &ActionForm) -> Result<Value, String> {
    let sg = app.reader.server_group(account, region, name).await.map_err(|e| e.into_error().to_string())?;
    let peers = enabled_peer_views(app, account, &sg).await.map_err(|e| format!("could not read {name}'s cluster ({e})"))?;
    let current =
        peers.first().map(|g| g.name.as_str()).ok_or_else(|| format!("{name} has no enabled server group beside it to roll back from"))?;
    if fields.current.as_deref() != Some(current) {
        return Err(format!("the cluster changed since the confirmation: the current server group is now {current}; confirm again"));
    }
    let context = json!({"restoreServerGroupName": name, "rollbackServerGroupName": current});
    let rollback = json!({"credentials": account, "account": account, "region": region, "cloudProvider": "ecs",
        "rollbackType": "EXPLICIT", "rollbackContext": context});
    Ok(json!([{ Operation::RollbackServerGroup.name(): rollback }]))
}

/// The clone of `name` with the images given (container, image): the next version built from
/// the live server group itself, whatever deployed it — a manual red/black's first step.
fn redeploy(account: &str, region: &str, name: &str, fields: &ActionForm) -> Result<Value, String> {
    if fields.images.is_empty() {
        return Err("give the new version's images".into());
    }
    let images: serde_json::Map<String, Value> = fields.images.iter().map(|(c, i)| (c.clone(), json!(i))).collect();
    let clone = json!({"credentials": account, "account": account, "region": region, "cloudProvider": "ecs",
        "source": {"asgName": name}, "containerToImageMap": images});
    Ok(json!([{ Operation::CloneServerGroup.name(): clone }]))
}
