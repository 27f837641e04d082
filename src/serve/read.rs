//! Clouddriver's read API for ECS (`clouddriver-read-api.md` §1, §7): the cluster, server group,
//! target and application views Orca reads to plan, resolve sources and targets and decide when
//! a stage is done, and the instance and list views Deck shows. Each answers from
//! [`crate::engine::read::Reader`] (live, coalesced), after READ on the account; a missing
//! account, region, cluster or server group is a 404 that names it, as Orca expects.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{App, Audited, Peer, denied, problem};
use crate::core::access::{Authorization, Identity};
use crate::core::view::{self, ServerGroupView, Target};
use crate::engine::read::ReadError;

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/applications/{app}", get(application))
        .route("/applications/{app}/clusters", get(application_clusters))
        .route("/applications/{app}/serverGroups", get(application_server_groups))
        .route("/applications/{app}/serverGroups/{account}/{region}/{name}", get(application_server_group))
        .route("/applications/{app}/clusters/{account}/{cluster}/{provider}", get(cluster))
        .route("/applications/{app}/clusters/{account}/{cluster}/{provider}/serverGroups/{name}", get(cluster_server_groups))
        .route("/applications/{app}/clusters/{account}/{cluster}/{provider}/{region}/serverGroups/target/{target}", get(target))
        .route("/serverGroups/{account}/{region}/{name}", get(server_group))
        .route("/instances/{account}/{region}/{id}", get(instance))
}

/// A request's caller, as the handlers need it.
struct Caller {
    app: Arc<App>,
    identity: Identity,
    peer: Option<std::net::SocketAddr>,
    path: String,
}

impl Caller {
    /// Why the caller gets no view of `account` (through `provider`): the provider is not ECS or
    /// the account is not configured (404), or the caller may not read it (403, audited).
    fn refusal(&self, provider: Option<&str>, account: &str) -> Option<Response> {
        if let Some(provider) = provider.filter(|p| !p.eq_ignore_ascii_case("ecs")) {
            return Some(not_found(&format!("cloud provider `{provider}` is not served here; only `ecs`")));
        }
        if self.app.config.account(account).is_err() {
            return Some(not_found(&format!("account `{account}` is not configured")));
        }
        // Nothing to refuse unless some account is denied.
        denied(&self.app.config, &self.identity, &[account.to_string()], Authorization::Read)?;
        let mut read = Audited::new(self.identity.clone(), &Method::GET, &self.path, self.peer);
        read.event.accounts = vec![account.to_string()];
        read.event.reason = Some(format!("no READ on {account}"));
        let message = format!("Access denied to account {account}");
        Some(read.answer(&self.app, "denied", problem(StatusCode::FORBIDDEN, &message, Vec::new())))
    }
}

fn caller(app: Arc<App>, identity: Identity, Peer(peer): Peer, path: String) -> Caller {
    Caller { app, identity, peer, path }
}

fn not_found(message: &str) -> Response {
    problem(StatusCode::NOT_FOUND, message, Vec::new())
}

fn failure(e: ReadError) -> Response {
    match e {
        ReadError::NotFound(message) => not_found(&message),
        ReadError::Aws(e) => problem(StatusCode::SERVICE_UNAVAILABLE, &format!("AWS could not be read: {e}"), Vec::new()),
    }
}

fn query(raw: Option<&str>) -> std::collections::HashMap<String, String> {
    super::http::query_pairs(raw.unwrap_or_default().as_bytes())
}

fn flag(query: &std::collections::HashMap<String, String>, key: &str, default: bool) -> bool {
    query.get(key).map_or(default, |v| v.eq_ignore_ascii_case("true"))
}

/// R1: the moniker cluster with its server groups of every region; 404 when it has none.
async fn cluster(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(peer): Extension<Peer>,
    Path((application, account, name, provider)): Path<(String, String, String, String)>,
) -> Response {
    let caller = caller(app, identity, peer, format!("/applications/{application}/clusters/{account}/{name}/{provider}"));
    if let Some(r) = caller.refusal(Some(&provider), &account) {
        return r;
    }
    match caller.app.reader.groups(&account, &application, Some(&name)).await {
        Ok(groups) if groups.is_empty() => not_found(&format!("cluster `{name}` of `{application}` has no server groups in {account}")),
        Ok(groups) => axum::Json(view::cluster(&account, &name, groups.to_vec())).into_response(),
        Err(e) => failure(e),
    }
}

/// R3: the cluster's server groups named `name`, an array over every region; one object with `?region=`.
async fn cluster_server_groups(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(peer): Extension<Peer>,
    Path((application, account, cluster, provider, name)): Path<(String, String, String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let caller =
        caller(app, identity, peer, format!("/applications/{application}/clusters/{account}/{cluster}/{provider}/serverGroups/{name}"));
    if let Some(r) = caller.refusal(Some(&provider), &account) {
        return r;
    }
    let region = query(raw.as_deref()).remove("region");
    match caller.app.reader.groups(&account, &application, Some(&cluster)).await {
        Ok(groups) => {
            let named: Vec<&ServerGroupView> =
                groups.iter().filter(|sg| sg.name == name && region.as_ref().is_none_or(|r| &sg.region == r)).collect();
            match (named.first(), region) {
                (None, _) => not_found(&format!("server group `{name}` not found in cluster `{cluster}` of {account}")),
                (Some(sg), Some(_)) => axum::Json(sg).into_response(),
                (Some(_), None) => axum::Json(named).into_response(),
            }
        }
        Err(e) => failure(e),
    }
}

/// R4: the server group a dynamic target names in one region (Clouddriver's rules); 404 when
/// none or ambiguous, 400 for a target that is not one.
async fn target(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(peer): Extension<Peer>,
    Path((application, account, cluster, provider, region, target)): Path<(String, String, String, String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let path = format!("/applications/{application}/clusters/{account}/{cluster}/{provider}/{region}/serverGroups/target/{target}");
    let caller = caller(app, identity, peer, path);
    if let Some(r) = caller.refusal(Some(&provider), &account) {
        return r;
    }
    let Some(which) = Target::parse(&target) else {
        let message = format!(
            "target `{target}` is not one of current, newest, previous, ancestor, oldest, largest, fail (with _asg or _asg_dynamic)"
        );
        return problem(StatusCode::BAD_REQUEST, &message, Vec::new());
    };
    let query = query(raw.as_deref());
    let (only_enabled, validate_oldest) = (flag(&query, "onlyEnabled", false), flag(&query, "validateOldest", true));
    match caller.app.reader.groups(&account, &application, Some(&cluster)).await {
        Ok(groups) => match view::select_target(&groups, &region, which, only_enabled, validate_oldest) {
            Some(sg) => axum::Json(sg.clone()).into_response(),
            None => not_found(&format!("no server group of cluster `{cluster}` in {account}/{region} is the {target}")),
        },
        Err(e) => failure(e),
    }
}

/// R2: one server group, described by name; 404 when it does not exist.
async fn server_group(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(peer): Extension<Peer>,
    Path((account, region, name)): Path<(String, String, String)>,
) -> Response {
    let caller = caller(app, identity, peer, format!("/serverGroups/{account}/{region}/{name}"));
    one_server_group(&caller, &account, &region, &name, None).await
}

/// Deck's server group details: R2 within the application.
async fn application_server_group(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(peer): Extension<Peer>,
    Path((application, account, region, name)): Path<(String, String, String, String)>,
) -> Response {
    let caller = caller(app, identity, peer, format!("/applications/{application}/serverGroups/{account}/{region}/{name}"));
    one_server_group(&caller, &account, &region, &name, Some(&application)).await
}

/// One server group, after READ on its account; of `application` when given.
async fn one_server_group(caller: &Caller, account: &str, region: &str, name: &str, application: Option<&str>) -> Response {
    if let Some(r) = caller.refusal(None, account) {
        return r;
    }
    match caller.app.reader.server_group(account, region, name).await {
        Ok(sg) if application.is_none_or(|a| sg.moniker.app == a) => axum::Json(&*sg).into_response(),
        Ok(_) => not_found(&format!("server group `{name}` is not of application `{}`", application.unwrap_or_default())),
        Err(e) => failure(e),
    }
}

/// Deck's instance details: a task of a server group, by task id or ARN.
async fn instance(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(peer): Extension<Peer>,
    Path((account, region, id)): Path<(String, String, String)>,
) -> Response {
    let caller = caller(app, identity, peer, format!("/instances/{account}/{region}/{id}"));
    if let Some(r) = caller.refusal(None, &account) {
        return r;
    }
    match caller.app.reader.instance(&account, &region, &id).await {
        Ok(instance) => axum::Json(&*instance).into_response(),
        Err(e) => failure(e),
    }
}

/// The application's server groups in every account the caller may read: (account, groups).
/// An application's server groups per readable account, and the accounts that could not be read
/// (with why): one unreadable account does not hide the others.
struct ApplicationGroups {
    found: Vec<(String, Arc<Vec<ServerGroupView>>)>,
    failed: Vec<(String, String)>,
}

impl ApplicationGroups {
    /// Nothing found and something unreadable: whether the application exists cannot be told.
    fn unknown(&self) -> Option<Response> {
        (self.found.is_empty() && !self.failed.is_empty()).then(|| {
            let accounts: Vec<String> = self.failed.iter().map(|(a, e)| format!("{a} ({e})")).collect();
            problem(StatusCode::SERVICE_UNAVAILABLE, &format!("AWS could not be read for {}", accounts.join("; ")), Vec::new())
        })
    }

    /// The failed accounts as the application view's `errors` entries.
    fn errors(&self) -> Vec<serde_json::Value> {
        self.failed.iter().map(|(account, message)| json!({"account": account, "message": message})).collect()
    }

    /// `response` with an HTTP `Warning` naming the accounts that could not be read, if any.
    fn warned(&self, mut response: Response) -> Response {
        if !self.failed.is_empty() {
            let names: Vec<&str> = self.failed.iter().map(|(a, _)| a.as_str()).collect();
            let text = format!("199 ecs-deployer \"could not read accounts: {}\"", names.join(", "));
            if let Ok(value) = axum::http::HeaderValue::from_str(&text) {
                response.headers_mut().insert(axum::http::header::WARNING, value);
            }
        }
        response
    }
}

async fn application_groups(caller: &Caller, application: &str) -> ApplicationGroups {
    let accounts = super::readable_accounts(&caller.app.config, &caller.identity);
    let reads = accounts.iter().map(|a| caller.app.reader.groups(a, application, None));
    let results = futures::future::join_all(reads).await;
    let mut out = ApplicationGroups { found: Vec::new(), failed: Vec::new() };
    for (account, result) in accounts.into_iter().zip(results) {
        match result {
            Ok(groups) if !groups.is_empty() => out.found.push((account, groups)),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!("application {application}: account {account} could not be read: {e:?}");
                out.failed.push((account, read_error_text(&e)));
            }
        }
    }
    out
}

fn read_error_text(e: &ReadError) -> String {
    match e {
        ReadError::NotFound(message) => message.clone(),
        ReadError::Aws(e) => e.to_string(),
    }
}

/// The moniker clusters of `groups`, in order of first appearance.
fn cluster_names(groups: &[ServerGroupView]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in groups.iter().map(|sg| &sg.cluster) {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// R8: the application view (`ApplicationViewModel`); 404 when no readable account has it.
async fn application(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(peer): Extension<Peer>,
    Path(application): Path<String>,
) -> Response {
    let caller = caller(app, identity, peer, format!("/applications/{application}"));
    let groups = application_groups(&caller, &application).await;
    if let Some(response) = groups.unknown() {
        return response;
    }
    if groups.found.is_empty() {
        return not_found(&format!("application `{application}` has no server groups in any account you may read"));
    }
    let clusters: serde_json::Map<String, serde_json::Value> = groups
        .found
        .iter()
        .map(|(account, groups)| {
            let entries: Vec<serde_json::Value> = cluster_names(groups)
                .into_iter()
                .map(|name| {
                    let members: Vec<&str> = groups.iter().filter(|sg| sg.cluster == name).map(|sg| sg.name.as_str()).collect();
                    json!({"name": name, "loadBalancers": [], "serverGroups": members, "provider": "ecs"})
                })
                .collect();
            (account.clone(), json!(entries))
        })
        .collect();
    let mut view = json!({"name": application, "attributes": {"name": application, "cloudProviders": "ecs"}, "clusters": clusters});
    if !groups.failed.is_empty() {
        view["errors"] = json!(groups.errors());
    }
    groups.warned(axum::Json(view).into_response())
}

/// Deck's cluster names per account.
async fn application_clusters(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(peer): Extension<Peer>,
    Path(application): Path<String>,
) -> Response {
    let caller = caller(app, identity, peer, format!("/applications/{application}/clusters"));
    let groups = application_groups(&caller, &application).await;
    if let Some(response) = groups.unknown() {
        return response;
    }
    let out: serde_json::Map<String, serde_json::Value> = groups.found.iter().map(|(a, g)| (a.clone(), json!(cluster_names(g)))).collect();
    groups.warned(axum::Json(out).into_response())
}

/// Deck's list of server groups (`ServerGroupViewModel`, with `isDisabled`), optionally only
/// `?clusters=account:cluster,…`.
async fn application_server_groups(
    State(app): State<Arc<App>>,
    Extension(identity): Extension<Identity>,
    Extension(peer): Extension<Peer>,
    Path(application): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let caller = caller(app, identity, peer, format!("/applications/{application}/serverGroups"));
    let wanted: Vec<(String, String)> = query(raw.as_deref())
        .get("clusters")
        .map(|c| c.split(',').filter_map(|p| p.split_once(':')).map(|(a, c)| (a.to_string(), c.to_string())).collect())
        .unwrap_or_default();
    let groups = application_groups(&caller, &application).await;
    if let Some(response) = groups.unknown() {
        return response;
    }
    let listed: Vec<view::ListEntry> = groups
        .found
        .iter()
        .flat_map(|(account, groups)| groups.iter().map(move |sg| (account, sg)))
        .filter(|(account, sg)| wanted.is_empty() || wanted.iter().any(|(a, c)| a == *account && &sg.cluster == c))
        .map(|(_, sg)| view::list_entry(sg))
        .collect();
    groups.warned(axum::Json(listed).into_response())
}
