//! The console's pages: the applications of every readable account, an application's clusters,
//! a server group (its tasks, containers, events, alarms and the operations run on it through
//! `serve`) and a task that follows itself until it ends. Each reads the read API's typed views;
//! access is checked (and a refusal audited) before anything is read.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use maud::{Markup, html};

use super::session::csrf_of;
use super::widgets::{action_links, cluster_table, created, health_bar, state_badges};
use super::{answer, denied_page, encode, error_page, may_write, page, redirect};
use crate::core::access::{Authorization, Identity};
use crate::core::view::ServerGroupView;
use crate::serve::http::{Peer, query_pairs};
use crate::serve::{App, denied, may_see, readable_accounts, visible_to};

pub(super) async fn home(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let wanted = query_pairs(query.unwrap_or_default().as_bytes()).remove("app").filter(|a| !a.trim().is_empty());
    if let Some(name) = wanted {
        return redirect(&format!("/console/applications/{}", encode(name.trim())));
    }
    let (csrf, cookie) = csrf_of(&app, &headers);
    let accounts = readable_accounts(&app.config, &identity);
    let reads = futures::future::join_all(accounts.iter().map(|a| app.reader.applications(a))).await;
    let mut apps: Vec<(String, Vec<String>)> = Vec::new();
    for (account, read) in accounts.iter().zip(reads) {
        for name in read.map(|names| names.to_vec()).unwrap_or_default() {
            match apps.iter_mut().find(|(a, _)| *a == name) {
                Some((_, in_accounts)) => in_accounts.push(account.clone()),
                None => apps.push((name, vec![account.clone()])),
            }
        }
    }
    apps.sort();
    let body = html! {
        h1 { "Applications" }
        form.search method="get" action="/console" {
            label for="app" { "Application" }
            input #app type="text" name="app" placeholder="orders" required;
            button type="submit" { "Show its clusters" }
        }
        @if apps.is_empty() { p.muted { "No server group in the accounts you may read." } }
        ul.apps {
            @for (name, in_accounts) in &apps {
                li { a href=(format!("/console/applications/{}", encode(name))) { (name) } " " span.muted { (in_accounts.join(", ")) } }
            }
        }
        p.muted { "Signed in as " (identity.principal.name) ". Accounts you may read: " (accounts.join(", ")) "." }
    };
    answer(StatusCode::OK, page("Applications", Some(&csrf), body), cookie)
}

pub(super) async fn application(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let (csrf, cookie) = csrf_of(&app, &headers);
    let accounts = readable_accounts(&app.config, &identity);
    let reads = futures::future::join_all(accounts.iter().map(|a| app.reader.groups(a, &name, None))).await;
    let mut read = Vec::new();
    let mut problems = Vec::new();
    for (account, groups) in accounts.iter().zip(reads) {
        match groups {
            Ok(groups) => read.push((account.clone(), groups)),
            Err(e) => problems.push(format!("{account}: {}", e.into_error())),
        }
    }
    // Each account's clusters, in the order their newest server group appears.
    let mut clusters: Vec<(&str, &str, Vec<&ServerGroupView>)> = Vec::new();
    for (account, groups) in &read {
        for sg in groups.iter() {
            match clusters.iter_mut().find(|(a, c, _)| a == account && *c == sg.cluster) {
                Some((_, _, list)) => list.push(sg),
                None => clusters.push((account, &sg.cluster, vec![sg])),
            }
        }
    }
    let body = html! {
        h1 { "Application " (name) }
        @for p in &problems { p.error { (p) } }
        @if clusters.is_empty() && problems.is_empty() { p { "No server group of " (name) " in the accounts you may read." } }
        @for (account, cluster, groups) in &clusters {
            section.cluster {
                h2 { (cluster) " " span.muted { "in " (account) } }
                @let mut regions: Vec<&str> = groups.iter().filter(|g| !g.target_groups.is_empty()).map(|g| g.region.as_str()).collect();
                @if !regions.is_empty() {
                    p.traffic { @for region in { regions.sort(); regions.dedup(); regions } {
                        a href=(format!("/console/traffic/{}/{}/{}", encode(account), encode(region), encode(cluster))) { "Traffic in " (region) } " "
                    } }
                }
                (cluster_table(&app, &identity, account, groups))
            }
        }
    };
    answer(StatusCode::OK, page(&name, Some(&csrf), body), cookie)
}

pub(super) async fn server_group(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    Path((account, region, name)): Path<(String, String, String)>,
) -> Response {
    let (csrf, cookie) = csrf_of(&app, &headers);
    if denied(&app.config, &identity, std::slice::from_ref(&account), Authorization::Read).is_some() {
        let path = format!("/console/server-groups/{account}/{region}/{name}");
        return denied_page(&app, identity, peer, &path, (vec![account], None), &csrf, cookie);
    }
    let sg = match app.reader.server_group(&account, &region, &name).await {
        Ok(sg) => sg,
        Err(e) => return error_page(StatusCode::NOT_FOUND, &name, &csrf, cookie, e.into_error().to_string()),
    };
    let history = history_of(&app, &identity, &name).await;
    let body = html! {
        h1 { (name) " " (state_badges(&sg)) }
        p.muted { (account) " · " (region) " · ECS cluster " (sg.ecs_cluster) " · created " (created(sg.created_time)) }
        (health_bar(&sg))
        @if may_write(&app, &identity, &account) { p.actions { (action_links(&account, &region, &name, sg.enabled())) } }
        (tasks_table(&sg))
        (containers(&sg))
        h2 { "Latest ECS service events" }
        ul.events { @for e in &sg.service_events {
            li { (created(e.created_at.map(|s| s * 1000).unwrap_or(0))) " " (e.message) }
        } }
        h2 { "Scaling alarms" }
        ul { @for a in &sg.metric_alarms { li { (a) } } }
        h2 { "Operations run through serve" }
        (history)
    };
    answer(StatusCode::OK, page(&name, Some(&csrf), body), cookie)
}

fn tasks_table(sg: &ServerGroupView) -> Markup {
    html! {
        h2 { "Tasks" }
        table {
            thead { tr { th { "Task" } th { "Health" } th { "Checks" } th { "Status" } th { "Zone" } } }
            tbody {
                @for i in &sg.instances {
                    @let state = format!("{:?}", i.health_state);
                    tr {
                        td { (i.name) }
                        td { span class=(format!("state {}", state.to_lowercase())) { (state) } }
                        td { @for h in &i.health { span.tag { (h.kind) ": " (format!("{:?}", h.state)) } } }
                        td {
                            (i.last_status.as_deref().unwrap_or_default())
                            @if let Some(r) = &i.stopped_reason { br; span.muted { (r) } }
                        }
                        td { (i.availability_zone.as_deref().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

/// The task definition's containers: image, ports, environment, secrets by name only.
fn containers(sg: &ServerGroupView) -> Markup {
    html! {
        h2 { "Task definition " span.muted { (sg.task_definition.as_ref().map(|td| td.task_name.as_str()).unwrap_or_default()) } }
        @for container in &sg.containers {
            dl {
                dt { "Container" } dd { strong { (container.name.as_deref().unwrap_or_default()) } }
                dt { "Image" } dd { (container.image.as_deref().unwrap_or_default()) }
                dt { "Ports" } dd { @for p in &container.ports { span.tag { (p.map(|p| p.to_string()).unwrap_or_else(|| "null".into())) } } }
                dt { "Environment" } dd { @for e in &container.environment {
                    code { (e.name.as_deref().unwrap_or_default()) "=" (e.value.as_deref().unwrap_or_default()) } " "
                } }
                dt { "Secrets" } dd { @for s in &container.secret_names { code { (s.as_deref().unwrap_or_default()) } " " } }
            }
        }
    }
}

/// The tasks run through `serve` on a server group (newest first), that the caller may see.
async fn history_of(app: &App, identity: &Identity, name: &str) -> Markup {
    let needle = format!("\"{name}\"");
    let tasks = app.store.list(&visible_to(&app.config, identity, Some(&needle)), 100).await.unwrap_or_default();
    let mine: Vec<_> = tasks
        .into_iter()
        .filter(|t| may_see(&app.config, identity, t))
        .filter(|t| serde_json::to_string(t).is_ok_and(|s| s.contains(&needle)))
        .take(20)
        .collect();
    html! {
        @if mine.is_empty() { p.muted { "None yet." } }
        ul {
            @for t in &mine {
                li {
                    a href=(format!("/console/tasks/{}", t.id.as_deref().unwrap_or_default())) { (t.status.status) }
                    " — " (t.principal.as_deref().unwrap_or_default()) " — " (created(t.start_time_ms.unwrap_or(0) as i64))
                }
            }
        }
    }
}

pub(super) async fn task(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (csrf, cookie) = csrf_of(&app, &headers);
    let task = match app.store.get(&id).await {
        Ok(Some(t)) if may_see(&app.config, &identity, &t) => t,
        Ok(Some(t)) => return denied_page(&app, identity, peer, &format!("/console/tasks/{id}"), (t.accounts, Some(id)), &csrf, cookie),
        _ => return error_page(StatusCode::NOT_FOUND, "Not found", &csrf, cookie, format!("Task not found (id: {id})")),
    };
    let done = task.status.completed;
    let body = html! {
        h1 { "Task " span.muted { (id) } }
        p class=(if task.status.failed { "error" } else if done { "ok" } else { "running" }) #status { (task.status.status) }
        ol.history { @for line in &task.history { li { span.muted { (line.phase) } " " (line.status) } } }
        @if done { p { a href="/console" { "Back to the applications" } } }
    };
    let mut response = answer(StatusCode::OK, page("Task", Some(&csrf), body), cookie);
    if !done {
        // Polled until it finishes: the browser reloads the page every second (no script).
        response.headers_mut().insert("refresh", HeaderValue::from_static("1"));
    }
    response
}
