//! The pieces the console's pages are made of, each from a typed server group view: the health
//! bar (Up / Starting / Down / Unknown as the read API judges them; a starting task is the API's
//! `outOfService`), the state badges, relative times, the scaling cell, the action links and the
//! cluster table.

use std::time::Duration;

use maud::{Markup, html};

use super::{encode, may_write};
use crate::core::access::Identity;
use crate::core::view::ServerGroupView;
use crate::serve::App;

/// The health bar's counts of a server group: up, starting, down, unknown — the read API's
/// `instanceCounts`, `outOfService` being the tasks that are starting.
pub(super) fn counts(sg: &ServerGroupView) -> (usize, usize, usize, usize) {
    let c = &sg.instance_counts;
    (c.up, c.starting_tasks(), c.down, c.unknown)
}

pub(super) fn health_bar(sg: &ServerGroupView) -> Markup {
    let (up, starting, down, unknown) = counts(sg);
    let total = (up + starting + down + unknown).max(1);
    // Widths in 5 % steps as classes: the Content-Security-Policy allows no inline style.
    let part = |kind: &str, n: usize| format!("{kind} w{}", (n * 20 + total / 2) / total);
    html! {
        div.health title=(format!("{up} up, {starting} starting, {down} down, {unknown} unknown")) {
            @if up > 0 { span class=(part("up", up)) {} }
            @if starting > 0 { span class=(part("starting", starting)) {} }
            @if down > 0 { span class=(part("down", down)) {} }
            @if unknown > 0 { span class=(part("unknown", unknown)) {} }
        }
        span.counts { (up) " up · " (starting) " starting · " (down) " down · " (unknown) " unknown" }
    }
}

/// Enabled or disabled, and a badge when its scaling disagrees.
pub(super) fn state_badges(sg: &ServerGroupView) -> Markup {
    let enabled = sg.enabled();
    html! {
        span class=(if enabled { "badge on" } else { "badge off" }) { (if enabled { "enabled" } else { "disabled" }) }
        @if let Some(mismatch) = sg.scaling_mismatch { " " span.badge.warn title="disable or enable it again" { (mismatch) } }
    }
}

/// "3 minutes ago", with the exact time on hover.
pub(super) fn created(ms: i64) -> Markup {
    let now = crate::serve::now_ms();
    let secs = ((now - ms) / 1000).max(0);
    let text = match secs {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    };
    let exact = crate::core::time::rfc3339(std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64));
    html! { time datetime=(exact) title=(exact) { (text) } }
}

/// The scaling a server group carries: its policies' alarms.
fn scaling(sg: &ServerGroupView) -> Markup {
    let alarms = &sg.metric_alarms;
    html! {
        @if alarms.is_empty() { span.muted { "no alarms" } }
        @else { span title=(alarms.join(", ")) { (alarms.len()) " alarm" @if alarms.len() > 1 { "s" } } }
    }
}

pub(super) fn action_links(account: &str, region: &str, name: &str, enabled: bool) -> Markup {
    let href = |action: &str| format!("/console/confirm/{action}/{}/{}/{}", encode(account), encode(region), encode(name));
    html! {
        @if enabled { a href=(href("disable")) { "Disable" } } @else { a href=(href("enable")) { "Enable" } " " a href=(href("rollback")) { "Roll back to this" } }
        " " a href=(href("resize")) { "Resize" }
        " " a href=(href("redeploy")) { "Deploy new version" }
        " " a href=(href("destroy")) { "Destroy" }
    }
}

/// One cluster's server groups of one account, newest first, with the actions the caller may take.
pub(super) fn cluster_table(app: &App, identity: &Identity, account: &str, groups: &[&ServerGroupView]) -> Markup {
    let writable = may_write(app, identity, account);
    html! {
        table {
            thead { tr {
                th { "Server group" } th { "Region" } th { "State" } th { "Desired / running / pending" } th { "Capacity" }
                th { "Health" } th { "Target groups" } th { "Task definition" } th { "Scaling" } th { "Created" }
                @if writable { th { "Actions" } }
            } }
            tbody {
                @for sg in groups {
                    tr class=(if sg.enabled() { "enabled" } else { "disabled" }) {
                        td { a href=(format!("/console/server-groups/{}/{}/{}", encode(account), encode(&sg.region), encode(&sg.name))) { (sg.name) } }
                        td { (sg.region) }
                        td { (state_badges(sg)) }
                        td { @let n = &sg.task_counts; (n.desired) " / " (n.running) " / " (n.pending) }
                        td { (sg.capacity.min) "–" (sg.capacity.max) }
                        td { (health_bar(sg)) }
                        td { @for tg in &sg.target_group_health {
                            span.tag title="healthy / registered targets" { (tg.name) " " (tg.healthy) "/" (tg.targets) }
                        } }
                        td {
                            (sg.task_definition.as_ref().map(|td| td.task_name.as_str()).unwrap_or(""))
                            br; span.muted { (sg.image.image_id) }
                        }
                        td { (scaling(sg)) }
                        td { (created(sg.created_time)) }
                        @if writable { td.actions { (action_links(account, &sg.region, &sg.name, sg.enabled())) } }
                    }
                }
            }
        }
    }
}
