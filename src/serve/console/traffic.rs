//! The console's traffic page (blue-green.md §7): every rule that forwards to a cluster's target
//! groups, with each target group's weight and share and the server groups behind it; a shift
//! with its steps and bake (followed live on the task page), one-click switch-back and finish —
//! posted as `shiftTraffic`, `switchBackTraffic` and `finishTrafficShift` through the same
//! [`submit`] as every operation, with the session's CSRF token and a one-time form token.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::session::{csrf_of, csrf_ok, random_id};
use super::{answer, denied_page, encode, error_page, may_write, page, post_form};
use crate::core::access::{Authorization, Identity};
use crate::core::operation::Operation;
use crate::core::traffic::RuleRef;
use crate::core::view::ServerGroupView;
use crate::engine::traffic::{RuleWeights, rules_of};
use crate::serve::http::{Peer, query_pairs};
use crate::serve::{App, Audited, denied};

/// The server groups of `cluster` in `account` and `region`, as the read API sees them.
async fn cluster_groups(app: &App, account: &str, region: &str, cluster: &str) -> Result<Vec<ServerGroupView>, String> {
    let application = crate::core::moniker::application_of(cluster);
    let groups = app.reader.groups(account, application, Some(cluster)).await.map_err(|e| e.into_error().to_string())?;
    Ok(groups.iter().filter(|g| g.region == region && g.cluster == cluster).cloned().collect())
}

pub(super) async fn show(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    Path((account, region, cluster)): Path<(String, String, String)>,
) -> Response {
    let (csrf, cookie) = csrf_of(&app, &headers);
    if denied(&app.config, &identity, std::slice::from_ref(&account), Authorization::Read).is_some() {
        let path = format!("/console/traffic/{account}/{region}/{cluster}");
        return denied_page(&app, identity, peer, &path, (vec![account], None), &csrf, cookie);
    }
    let groups = match cluster_groups(&app, &account, &region, &cluster).await {
        Ok(groups) => groups,
        Err(e) => return error_page(StatusCode::NOT_FOUND, &cluster, &csrf, cookie, e),
    };
    let mut names: Vec<String> = groups.iter().flat_map(|g| g.target_groups.clone()).collect();
    names.sort();
    names.dedup();
    let read = match app.config.account(&account) {
        Ok(a) if !names.is_empty() => rules_of(&a, &region, &names).await.map_err(|e| e.to_string()),
        Ok(_) => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    };
    let writable = may_write(&app, &identity, &account);
    let target = format!("/console/traffic/{}/{}/{}", encode(&account), encode(&region), encode(&cluster));
    let body = html! {
        h1 { "Traffic of " (cluster) " " span.muted { "in " (account) " · " (region) } }
        @match &read {
            Err(e) => p.error { "Could not read the rules: " (e) },
            Ok(rules) if rules.is_empty() => p.muted { "No listener rule forwards to the target groups of " (cluster) "." },
            Ok(rules) => @for rule in rules { (rule_section(rule, &groups, writable.then_some((&target, csrf.as_str())))) },
        }
    };
    answer(StatusCode::OK, page(&format!("Traffic of {cluster}"), Some(&csrf), body), cookie)
}

/// One rule: its weights per target group and server group, and the forms when writable.
fn rule_section(rule: &RuleWeights, groups: &[ServerGroupView], form: Option<(&String, &str)>) -> Markup {
    let (kind, arn) = match &rule.rule {
        RuleRef::Rule(arn) => ("rule", arn),
        RuleRef::ListenerDefault(arn) => ("listener", arn),
    };
    let behind = |tg: &str| groups.iter().filter(|g| g.target_groups.iter().any(|t| t == tg)).collect::<Vec<_>>();
    // Any group with a target group can take traffic: a shift adds its target group to the rule.
    let candidates: Vec<&ServerGroupView> = groups.iter().filter(|g| !g.target_groups.is_empty()).collect();
    let mut outside: Vec<&String> =
        candidates.iter().flat_map(|g| &g.target_groups).filter(|tg| !rule.target_groups.iter().any(|(t, _, _)| t == *tg)).collect();
    outside.sort();
    outside.dedup();
    // Proposed: from the group behind the largest share, to another group.
    let live = rule.target_groups.iter().max_by_key(|(_, _, share)| *share).map(|(tg, _, _)| tg.as_str()).unwrap_or_default();
    let from = candidates.iter().find(|g| g.enabled() && g.target_groups.iter().any(|t| t == live)).map(|g| g.name.as_str());
    let to = candidates.iter().find(|g| Some(g.name.as_str()) != from).map(|g| g.name.as_str());
    let hidden = |csrf: &str| {
        html! {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="form" value=(random_id());
            input type="hidden" name="kind" value=(kind);
            input type="hidden" name="rule" value=(arn);
        }
    };
    html! {
        section.rule {
            h2 { @if kind == "rule" { "Listener rule " } @else { "Listener default action " } code { (arn) } }
            @if let Some(owner) = &rule.held_by { p.warning { "A traffic operation of " (owner) " holds this rule now." } }
            table.weights {
                thead { tr { th { "Target group" } th { "Weight" } th { "Share" } th { "Server groups" } } }
                tbody { @for (tg, weight, share) in &rule.target_groups {
                    tr class=(if *share > 0 { "enabled" } else { "disabled" }) {
                        td { (tg) } td.weight { (weight) } td.share { (share) "%" }
                        td { @for g in behind(tg) { span.tag { (g.name) " " (if g.enabled() { "enabled" } else { "disabled" }) } " " } }
                    }
                }
                @for tg in &outside {
                    tr.disabled {
                        td { (tg) } td.weight.muted { "not in the rule" } td.share { "0%" }
                        td { @for g in behind(tg) { span.tag { (g.name) " " (if g.enabled() { "enabled" } else { "disabled" }) } " " } }
                    }
                } }
            }
            @if let Some((target, csrf)) = form {
                form.shift method="post" action=(format!("{target}/shift")) {
                    (hidden(csrf))
                    label { "From " select name="from" { @for g in &candidates {
                        option value=(g.name) selected[Some(g.name.as_str()) == from] { (g.name) }
                    } } }
                    label { " to " select name="to" { @for g in &candidates {
                        option value=(g.name) selected[Some(g.name.as_str()) == to] { (g.name) }
                    } } }
                    label { " in steps (percent) " input type="text" name="steps" value="10,50,100" size="12"; }
                    label { " baking " input type="number" name="bake" value="60" min="0" size="5"; " s each" }
                    label { input type="checkbox" name="force" value="yes"; " go on even if the checks fail (images gone, targets not healthy)" }
                    button type="submit" { "Shift" }
                }
                @if rule.can_switch_back {
                    form.switch-back method="post" action=(format!("{target}/switch-back")) {
                        (hidden(csrf)) button type="submit" { "Switch back" }
                    }
                }
                form.finish method="post" action=(format!("{target}/finish")) {
                    (hidden(csrf)) button type="submit" { "Finish: disable the server groups at weight 0" }
                }
            }
        }
    }
}

/// A traffic form as posted.
struct TrafficForm {
    csrf: Option<String>,
    token: Option<String>,
    rule: (String, String),
    from: Option<String>,
    to: Option<String>,
    steps: Option<String>,
    bake: Option<String>,
    force: bool,
}

impl TrafficForm {
    fn parse(body: &[u8]) -> TrafficForm {
        let mut pairs = query_pairs(body);
        let mut take = |key: &str| pairs.remove(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        TrafficForm {
            csrf: take("csrf"),
            token: take("form").filter(|f| f.len() == 64 && f.bytes().all(|b| b.is_ascii_hexdigit())),
            rule: (take("kind").unwrap_or_default(), take("rule").unwrap_or_default()),
            from: take("from"),
            to: take("to"),
            steps: take("steps"),
            bake: take("bake"),
            force: take("force").as_deref() == Some("yes"),
        }
    }

    /// The operation the form posts.
    fn operation(&self, action: &str, account: &str, region: &str) -> Result<Value, String> {
        let key = if self.rule.0 == "listener" { "listener" } else { "rule" };
        let mut body = json!({"credentials": account, "region": region, key: self.rule.1, "force": self.force});
        let operation = match action {
            "shift" => {
                let steps: Result<Vec<i32>, _> =
                    self.steps.as_deref().unwrap_or("100").split(',').map(|s| s.trim().parse::<i32>()).collect();
                let steps = steps.map_err(|_| "steps are percents separated by commas (10,50,100)".to_string())?;
                let bake: u64 =
                    self.bake.as_deref().unwrap_or("0").parse().map_err(|_| "the bake is a whole number of seconds".to_string())?;
                body["from"] = json!(self.from);
                body["to"] = json!(self.to);
                body["steps"] = json!(steps);
                body["bakeSeconds"] = json!(bake);
                Operation::ShiftTraffic
            }
            "switch-back" => Operation::SwitchBackTraffic,
            "finish" => Operation::FinishTrafficShift,
            other => return Err(format!("no such traffic action: {other}")),
        };
        Ok(json!([{ operation.name(): body }]))
    }
}

pub(super) async fn act(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    Path((account, region, cluster, action)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Response {
    let form = TrafficForm::parse(&body);
    let path = format!("/console/traffic/{account}/{region}/{cluster}/{action}");
    let post = Audited::new(identity, &Method::POST, &path, peer);
    let (csrf, _) = csrf_of(&app, &headers);
    let not_done = |status: StatusCode, message: String| {
        answer(status, page("Not done", Some(&csrf), html! { p.error { (message) " Nothing was changed." } }), None)
    };
    if !csrf_ok(&app, &headers, form.csrf.as_deref()) || form.token.is_none() {
        let message = "This form is stale or was not sent by the console (missing CSRF or form token).".to_string();
        return post.answer(&app, "refused", not_done(StatusCode::FORBIDDEN, message));
    }
    let ops = match form.operation(&action, &account, &region) {
        Ok(ops) => ops,
        Err(message) => return post.answer(&app, "invalid", not_done(StatusCode::BAD_REQUEST, format!("{message}."))),
    };
    post_form(&app, post, &ops, form.token.as_deref().unwrap_or_default(), &csrf).await
}
