//! The read views behind Clouddriver's read API (`clouddriver-read-api.md`, Decisions D1, D4, D5):
//! server groups, clusters and instances, read live from AWS when asked — no caching agents.
//! Identical concurrent reads share one AWS read and a finished read is reused for a short TTL;
//! a write invalidates its account's views, so a poller never sees state older than its own
//! write. Task definitions, immutable per revision, are kept without expiry. A server group is at
//! most three dependent round trips after its ECS cluster is known (DescribeServices → ListTasks,
//! DescribeScalableTargets, DescribeTaskDefinition, DescribeTargetHealth, DescribeScalingPolicies,
//! DescribeSubnets → DescribeTasks), plus DescribeContainerInstances for `bridge`/`host` tasks.
//! The JSON is built by the pure [`crate::core::view`].

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared, join_all, try_join_all};
use serde_json::Value;

use crate::aws::Session;
use crate::core::config::{Account, Config, NamingStrategy};
use crate::core::error::AwsError;
use crate::core::model::{ResourceId, ServiceState};
use crate::core::naming::{Selection, derive_moniker};
use crate::core::settings::TagIndex;
use crate::core::view::{self, InstanceAt, ServerGroupFacts, ServerGroupView};

/// Why a view could not be given.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadError {
    /// No such account, region, server group, cluster or instance; the message names it.
    NotFound(String),
    /// AWS could not be read.
    Aws(AwsError),
}

impl ReadError {
    /// As the CLI reports it: a missing account or region is a configuration error (exit 2), a
    /// failed read an AWS error (exit 1).
    pub fn into_error(self) -> crate::core::error::Error {
        match self {
            ReadError::NotFound(message) => crate::core::error::Error::Config(message),
            ReadError::Aws(error) => crate::core::error::Error::Aws { error, report: Vec::new() },
        }
    }
}

impl From<AwsError> for ReadError {
    fn from(e: AwsError) -> Self {
        ReadError::Aws(e)
    }
}

/// A finished read, as the cache keeps it: typed views (never JSON), shared by reference.
#[derive(Debug, Clone)]
enum View {
    Names(Arc<Vec<String>>),
    Group(Arc<ServerGroupView>),
    Groups(Arc<Vec<ServerGroupView>>),
    Instance(Arc<InstanceAt>),
}

impl View {
    // Each key is read into one kind of view; the other arms cannot be reached.
    fn names(self) -> Arc<Vec<String>> {
        if let View::Names(n) = self { n } else { Arc::default() }
    }
    fn group(self) -> Option<Arc<ServerGroupView>> {
        if let View::Group(g) = self { Some(g) } else { None }
    }
    fn groups(self) -> Arc<Vec<ServerGroupView>> {
        if let View::Groups(g) = self { g } else { Arc::default() }
    }
    fn instance(self) -> Option<Arc<InstanceAt>> {
        if let View::Instance(i) = self { Some(i) } else { None }
    }
}

type Outcome = Result<View, ReadError>;

/// Past this many views, finished ones past every TTL are dropped when a new read starts.
const PRUNE_ABOVE: usize = 1024;

/// How long an account's list of ECS clusters in a region is reused (at least the TTL of views):
/// ECS clusters come and go far more rarely than services, and a miss reads the list again.
const ECS_CLUSTERS_TTL: Duration = Duration::from_secs(30);

/// How many reads of one AWS account run at once (the read API and the console together), so a
/// burst of reads never takes the account's request budget from deploys.
const READS_PER_ACCOUNT: usize = 4;

/// What a view is of; identical keys share one read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    EcsClusters { account: String, region: String },
    ServiceNames { account: String, region: String, ecs_cluster: String },
    ServerGroup { account: String, region: String, name: String },
    Groups { account: String, app: String, cluster: Option<String> },
    Instance { account: String, region: String, task_id: String },
    Applications { account: String },
}

impl Key {
    fn account(&self) -> &str {
        match self {
            Key::EcsClusters { account, .. }
            | Key::ServiceNames { account, .. }
            | Key::ServerGroup { account, .. }
            | Key::Groups { account, .. }
            | Key::Instance { account, .. }
            | Key::Applications { account } => account,
        }
    }
}

/// A read in flight or finished: its shared result and when it finished.
struct Entry {
    read: Shared<BoxFuture<'static, Outcome>>,
    finished: Arc<OnceLock<Instant>>,
}

/// The read views of one `serve` (or one CLI command).
pub struct Reader {
    config: Arc<Config>,
    ttl: Duration,
    views: Mutex<HashMap<Key, Entry>>,
    task_definitions: Mutex<HashMap<String, Value>>,
    /// Per AWS account id: the reads that may run at once.
    budgets: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

impl Reader {
    pub fn new(config: Arc<Config>, ttl: Duration) -> Arc<Reader> {
        Arc::new(Reader {
            config,
            ttl,
            views: Mutex::new(HashMap::new()),
            task_definitions: Mutex::new(HashMap::new()),
            budgets: Mutex::new(HashMap::new()),
        })
    }

    /// Runs one leaf read (AWS calls only, no other view inside) within the session's AWS
    /// account's budget of [`READS_PER_ACCOUNT`] at once.
    async fn within_budget<T>(&self, session: &Session, read: impl std::future::Future<Output = T>) -> T {
        let budget = {
            let mut budgets = crate::core::sync::lock(&self.budgets);
            let key = self.config.account(&session.account_name).map(|a| a.account_id).unwrap_or_else(|_| session.account_name.clone());
            budgets.entry(key).or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(READS_PER_ACCOUNT))).clone()
        };
        let _permit = budget.acquire().await.expect("never closed");
        read.await
    }

    /// How long ago the read of `key` finished (None: none finished is kept).
    fn age(&self, key: &Key) -> Option<Duration> {
        crate::core::sync::lock(&self.views).get(key).and_then(|e| e.finished.get().map(|at| at.elapsed()))
    }

    /// Forgets every view of `account` and of the other ECS accounts on its AWS account (they
    /// see the same services): the next read goes to AWS (after a write through `/ecs/ops`, or
    /// Orca's force-cache-refresh). The lists of ECS clusters stay: no operation creates one, and
    /// a server group not found in one is looked for again in a fresh list.
    pub fn invalidate(&self, account: &str) {
        let aws_account = |name: &str| self.config.account(name).ok().map(|a| a.account_id);
        let written = aws_account(account);
        let same = |name: &str| name == account || (written.is_some() && aws_account(name) == written);
        crate::core::sync::lock(&self.views).retain(|k, _| matches!(k, Key::EcsClusters { .. }) || !same(k.account()));
    }

    fn forget(&self, key: &Key) {
        crate::core::sync::lock(&self.views).remove(key);
    }

    /// The shared read of `key`: the one in flight, the one finished less than the TTL ago, or a
    /// new one started with `read`. A failed read is shared by its waiters but not reused.
    async fn shared(self: &Arc<Self>, key: Key, read: impl FnOnce() -> BoxFuture<'static, Outcome>) -> Outcome {
        let future = {
            let mut views = crate::core::sync::lock(&self.views);
            let ttl = if matches!(key, Key::EcsClusters { .. }) { self.ttl.max(ECS_CLUSTERS_TTL) } else { self.ttl };
            let fresh = |e: &Entry| e.finished.get().is_none_or(|at| at.elapsed() < ttl);
            match views.get(&key).filter(|e| fresh(e)) {
                Some(entry) => {
                    crate::core::metrics::read_view(if entry.finished.get().is_some() { "hit" } else { "coalesced" });
                    entry.read.clone()
                }
                None => {
                    crate::core::metrics::read_view("miss");
                    if views.len() >= PRUNE_ABOVE {
                        views.retain(|k, e| k == &key || e.finished.get().is_none_or(|at| at.elapsed() < ECS_CLUSTERS_TTL.max(self.ttl)));
                    }
                    let finished = Arc::new(OnceLock::new());
                    let done = finished.clone();
                    let inner = read();
                    let read = async move {
                        let out = inner.await;
                        let _ = done.set(Instant::now());
                        out
                    }
                    .boxed()
                    .shared();
                    views.insert(key.clone(), Entry { read: read.clone(), finished });
                    read
                }
            }
        };
        let out = future.await;
        // Something that does not exist stays so for the TTL (a burst of misses is one read
        // each); a failed AWS read is not reused.
        if matches!(out, Err(ReadError::Aws(_))) {
            let mut views = crate::core::sync::lock(&self.views);
            if views.get(&key).is_some_and(|e| e.finished.get().is_some()) {
                views.remove(&key);
            }
        }
        out
    }

    fn account(&self, name: &str) -> Result<Account, ReadError> {
        self.config.account(name).map_err(|_| ReadError::NotFound(format!("account `{name}` is not configured")))
    }

    async fn session(&self, account: &Account, region: &str) -> Result<Session, ReadError> {
        if !account.has_region(region) {
            return Err(ReadError::NotFound(format!("account `{}` has no region `{region}`", account.name)));
        }
        Ok(Session::connect(account, region).await?)
    }

    /// The account's ECS clusters in a region (ListClusters), shared like the views.
    async fn ecs_clusters(self: &Arc<Self>, session: &Session) -> Result<Vec<String>, ReadError> {
        let key = Key::EcsClusters { account: session.account_name.clone(), region: session.region.clone() };
        let (me, s) = (self.clone(), session.clone());
        let read = move || async move { Ok(View::Names(Arc::new(me.within_budget(&s, s.list_ecs_clusters()).await?))) }.boxed();
        Ok(self.shared(key, read).await?.names().to_vec())
    }

    /// The service names of an ECS cluster (ListServices), shared like the views: every
    /// application's view of the cluster reads them once per TTL.
    async fn service_names(self: &Arc<Self>, session: &Session, ecs_cluster: &str) -> Result<Vec<String>, ReadError> {
        let key =
            Key::ServiceNames { account: session.account_name.clone(), region: session.region.clone(), ecs_cluster: ecs_cluster.into() };
        let (me, s, c) = (self.clone(), session.clone(), ecs_cluster.to_string());
        let read = move || async move { Ok(View::Names(Arc::new(me.within_budget(&s, s.list_service_names(&c)).await?))) }.boxed();
        Ok(self.shared(key, read).await?.names().to_vec())
    }

    /// Server group `name` in the account's region (R2): described by name in every ECS cluster,
    /// so one created a moment ago is found. The newest ACTIVE one wins.
    pub async fn server_group(self: &Arc<Self>, account: &str, region: &str, name: &str) -> Result<Arc<ServerGroupView>, ReadError> {
        let key = Key::ServerGroup { account: account.into(), region: region.into(), name: name.into() };
        let (me, account, region, name) = (self.clone(), self.account(account)?, region.to_string(), name.to_string());
        let missing = ReadError::NotFound(format!("server group `{name}` not found in {}/{region}", account.name));
        let read = move || async move { me.read_server_group(&account, &region, &name).await.map(|g| View::Group(Arc::new(g))) }.boxed();
        self.shared(key, read).await?.group().ok_or(missing)
    }

    async fn read_server_group(self: &Arc<Self>, account: &Account, region: &str, name: &str) -> Result<ServerGroupView, ReadError> {
        let session = self.session(account, region).await?;
        let not_found = || ReadError::NotFound(format!("server group `{name}` not found in {}/{region}", account.name));
        let clusters = Key::EcsClusters { account: account.name.clone(), region: region.to_string() };
        let found = match self.find_service(&session, name).await? {
            Some(found) => Some(found),
            // A new ECS cluster may hold it: the list is read again, at most once per TTL.
            None if self.age(&clusters).is_some_and(|age| age >= self.ttl) => {
                self.forget(&clusters);
                self.find_service(&session, name).await?
            }
            None => None,
        };
        let (ecs_cluster, service) = found.ok_or_else(not_found)?;
        let every = Selection { naming: account.naming_strategy, app: None, cluster: None };
        let group = server_group_of(&every, service).ok_or_else(not_found)?;
        let facts = self.within_budget(&session, self.observe(&session, &ecs_cluster, vec![group])).await?;
        facts.first().map(view::server_group).ok_or_else(not_found)
    }

    /// Under the `tags` namer, the services the tag index finds tagged with the application, by
    /// ECS cluster (see [`Session::application_index`]); None to describe every parseable name.
    async fn application_index(&self, session: &Session, naming: NamingStrategy, app: &str) -> Option<Index> {
        let found = self.within_budget(session, session.application_index(naming, app)).await?;
        let mut by_ecs_cluster: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (ecs_cluster, name, _) in found {
            by_ecs_cluster.entry(ecs_cluster).or_default().insert(name);
        }
        Some(Index { by_ecs_cluster, trusted: crate::core::settings::get().tag_index == TagIndex::Only })
    }

    /// The ECS clusters to read: the account's (kept list) and any the index names that the list
    /// does not have yet; only the index's when it is trusted alone.
    async fn ecs_clusters_indexed(self: &Arc<Self>, session: &Session, index: Option<&Index>) -> Result<Vec<String>, ReadError> {
        if let Some(index) = index.filter(|i| i.trusted) {
            return Ok(index.by_ecs_cluster.keys().cloned().collect());
        }
        let mut listed = self.ecs_clusters(session).await?;
        let unlisted: Vec<String> = index.iter().flat_map(|i| i.by_ecs_cluster.keys()).filter(|c| !listed.contains(c)).cloned().collect();
        listed.extend(unlisted);
        Ok(listed)
    }

    /// The service names of `ecs_cluster` worth describing for `selection`: of the kept list, the
    /// ones the selection may name (with the index, see [`indexed_names`]); only the index's when
    /// it is trusted alone (no listing).
    async fn names_in(
        self: &Arc<Self>,
        session: &Session,
        ecs_cluster: &str,
        selection: &Selection<'_>,
        index: Option<&Index>,
    ) -> Result<Vec<String>, ReadError> {
        let indexed = || index.and_then(|i| i.by_ecs_cluster.get(ecs_cluster).cloned()).unwrap_or_default();
        if index.is_some_and(|i| i.trusted) {
            return Ok(indexed().into_iter().collect());
        }
        let listed = self.service_names(session, ecs_cluster).await?;
        Ok(match index {
            Some(_) => indexed_names(selection, listed, indexed()),
            None => listed.into_iter().filter(|n| selection.may_name(n)).collect(),
        })
    }

    /// The newest ACTIVE service named `name` in any of the ECS clusters, with its ECS cluster.
    async fn find_service(self: &Arc<Self>, session: &Session, name: &str) -> Result<Option<(String, ServiceState)>, ReadError> {
        let clusters = self.ecs_clusters(session).await?;
        let found = self.within_budget(session, session.describe_in_each(&clusters, name, true)).await?;
        Ok(found.into_iter().filter(|(_, s)| s.status == "ACTIVE").max_by_key(|(_, s)| s.created_at_ms))
    }

    /// The applications with a server group in the account (any region), from the services'
    /// names alone (ListServices per ECS cluster): the console's list, without describing anything.
    pub async fn applications(self: &Arc<Self>, account: &str) -> Result<Arc<Vec<String>>, ReadError> {
        let key = Key::Applications { account: account.into() };
        let (me, account) = (self.clone(), self.account(account)?);
        Ok(self
            .shared(key, move || async move { me.read_applications(&account).await.map(|a| View::Names(Arc::new(a))) }.boxed())
            .await?
            .names())
    }

    async fn read_applications(self: &Arc<Self>, account: &Account) -> Result<Vec<String>, ReadError> {
        let per_region = try_join_all(account.region_names().into_iter().map(|region| async move {
            let session = self.session(account, region).await?;
            let clusters = self.ecs_clusters(&session).await?;
            let names = try_join_all(clusters.iter().map(|c| self.service_names(&session, c))).await?;
            Ok::<_, ReadError>(names.into_iter().flatten().collect::<Vec<String>>())
        }))
        .await?;
        let mut apps: Vec<String> = per_region
            .into_iter()
            .flatten()
            .filter_map(|name| derive_moniker(NamingStrategy::Default, &name, &[]).0.map(|m| m.app))
            .collect();
        apps.sort();
        apps.dedup();
        Ok(apps)
    }

    /// Every server group of application `app` (of one moniker cluster when given) in every
    /// region of the account, as a JSON array (R1, R3, R4 and the application views).
    pub async fn groups(self: &Arc<Self>, account: &str, app: &str, cluster: Option<&str>) -> Result<Arc<Vec<ServerGroupView>>, ReadError> {
        let key = Key::Groups { account: account.into(), app: app.into(), cluster: cluster.map(str::to_string) };
        let (me, account, app, cluster) = (self.clone(), self.account(account)?, app.to_string(), cluster.map(str::to_string));
        let read =
            move || async move { me.read_groups(&account, &app, cluster.as_deref()).await.map(|g| View::Groups(Arc::new(g))) }.boxed();
        Ok(self.shared(key, read).await?.groups())
    }

    async fn read_groups(self: &Arc<Self>, account: &Account, app: &str, cluster: Option<&str>) -> Result<Vec<ServerGroupView>, ReadError> {
        let regions = try_join_all(account.region_names().into_iter().map(|region| self.groups_in(account, region, app, cluster))).await?;
        let mut all: Vec<ServerGroupView> = regions.into_iter().flatten().collect();
        all.sort_by_key(|sg| std::cmp::Reverse(sg.created_time));
        Ok(all)
    }

    async fn groups_in(
        self: &Arc<Self>,
        account: &Account,
        region: &str,
        app: &str,
        cluster: Option<&str>,
    ) -> Result<Vec<ServerGroupView>, ReadError> {
        self.views_in(account, region, None, Some(app), cluster).await
    }

    /// Every server group in the account's region — of one ECS cluster, application or moniker
    /// cluster when given — newest first: what `list --view` prints (not shared: one caller).
    pub async fn region_views(
        self: &Arc<Self>,
        account: &str,
        region: &str,
        ecs_cluster: Option<&str>,
        cluster: Option<&str>,
    ) -> Result<Vec<ServerGroupView>, ReadError> {
        let account = self.account(account)?;
        let mut all = self.views_in(&account, region, ecs_cluster, None, cluster).await?;
        all.sort_by_key(|sg| std::cmp::Reverse(sg.created_time));
        Ok(all)
    }

    async fn views_in(
        self: &Arc<Self>,
        account: &Account,
        region: &str,
        ecs_cluster: Option<&str>,
        app: Option<&str>,
        cluster: Option<&str>,
    ) -> Result<Vec<ServerGroupView>, ReadError> {
        let session = self.session(account, region).await?;
        let selection = Selection { naming: account.naming_strategy, app, cluster };
        let index = match app.or_else(|| cluster.map(crate::core::moniker::application_of)) {
            Some(app) => self.application_index(&session, account.naming_strategy, app).await,
            None => None,
        };
        let ecs_clusters = match ecs_cluster {
            Some(c) => vec![c.to_string()],
            None => self.ecs_clusters_indexed(&session, index.as_ref()).await?,
        };
        let per_ecs_cluster = try_join_all(ecs_clusters.into_iter().map(|c| {
            let (session, index) = (&session, &index);
            async move {
                let names = self.names_in(session, &c, &selection, index.as_ref()).await?;
                let services = self.within_budget(session, session.describe_services(&c, &names, true)).await?;
                let groups: Vec<_> = services.into_iter().filter_map(|s| server_group_of(&selection, s)).collect();
                let facts = self.within_budget(session, self.observe(session, &c, groups)).await?;
                Ok::<_, ReadError>(facts.iter().map(view::server_group).collect::<Vec<_>>())
            }
        }))
        .await?;
        Ok(per_ecs_cluster.into_iter().flatten().collect())
    }

    /// Instance `task_id` (a task id or ARN) of the account's region: the task as its server
    /// group shows it, with its account, region and server group; 404 for anything else.
    pub async fn instance(self: &Arc<Self>, account: &str, region: &str, task_id: &str) -> Result<Arc<InstanceAt>, ReadError> {
        let id = task_id.rsplit('/').next().unwrap_or(task_id).to_string();
        let key = Key::Instance { account: account.into(), region: region.into(), task_id: id.clone() };
        let (me, account, region) = (self.clone(), self.account(account)?, region.to_string());
        let missing = ReadError::NotFound(format!("instance `{id}` not found in {}/{region}", account.name));
        let read = move || async move { me.read_instance(&account, &region, &id).await.map(|i| View::Instance(Arc::new(i))) }.boxed();
        self.shared(key, read).await?.instance().ok_or(missing)
    }

    async fn read_instance(self: &Arc<Self>, account: &Account, region: &str, id: &str) -> Result<InstanceAt, ReadError> {
        let session = self.session(account, region).await?;
        let not_found = || ReadError::NotFound(format!("instance `{id}` not found in {}/{region}", account.name));
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(not_found());
        }
        let clusters = self.ecs_clusters(&session).await?;
        let groups = self
            .within_budget(
                &session,
                try_join_all(clusters.into_iter().map(|c| {
                    let session = &session;
                    async move { session.task_groups(&c, &[id.to_string()]).await }
                })),
            )
            .await?;
        let group = groups.into_iter().flatten().next().ok_or_else(not_found)?;
        let name = group.strip_prefix("service:").ok_or_else(not_found)?;
        let sg = self.server_group(&account.name, region, name).await.map_err(|_| not_found())?;
        let instance = sg.instances.iter().find(|i| i.name == id).ok_or_else(not_found)?;
        Ok(InstanceAt {
            instance: instance.clone(),
            account: account.name.clone(),
            region: region.to_string(),
            server_group: sg.name.clone(),
        })
    }

    /// A task definition, kept without expiry (a revision never changes); None when unreadable.
    async fn task_definition(&self, session: &Session, arn: &str) -> Option<Value> {
        if let Some(td) = crate::core::sync::lock(&self.task_definitions).get(arn) {
            return Some(td.clone());
        }
        let td = session.task_definition_json(arn).await.ok().filter(|td| !td.is_null())?;
        crate::core::sync::lock(&self.task_definitions).insert(arn.to_string(), td.clone());
        Some(td)
    }

    /// Everything the views show of `groups` (services of one ECS cluster): one concurrent round
    /// of reads for all of them, then DescribeTasks (inside `running_tasks`) and, for
    /// `bridge`/`host` tasks, their hosts.
    async fn observe(&self, session: &Session, ecs_cluster: &str, groups: Vec<Group>) -> Result<Vec<ServerGroupFacts>, ReadError> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = groups.iter().map(|(_, _, s)| ResourceId::of(ecs_cluster, &s.service_name).into()).collect();
        let distinct = |f: fn(&ServiceState) -> Vec<String>| groups.iter().flat_map(|(_, _, s)| f(s)).collect::<BTreeSet<String>>();
        let task_definitions = distinct(|s| vec![s.task_definition.clone()]);
        let target_groups = distinct(|s| s.target_group_arns.clone());
        let subnets: Vec<String> = distinct(|s| s.subnets.clone()).into_iter().collect();
        let (targets, tasks, tds, health, alarms, vpcs) = tokio::join!(
            session.describe_scalable_targets(&ids),
            try_join_all(groups.iter().map(|(_, _, s)| session.running_tasks(ecs_cluster, &s.service_name))),
            join_all(task_definitions.iter().map(|arn| async move { (arn.clone(), self.task_definition(session, arn).await) })),
            join_all(target_groups.iter().map(|tg| async move { session.target_health(tg).await.unwrap_or_default() })),
            try_join_all(ids.iter().map(|id| session.describe_scaling_policies(id))),
            session.subnet_vpcs(&subnets),
        );
        let (targets, tasks, alarms, vpcs) = (targets?, tasks?, alarms?, vpcs?);
        let hosts = self.hosts(session, ecs_cluster, &tasks).await?;
        let health: Vec<_> = health.into_iter().flatten().collect();
        Ok(groups
            .into_iter()
            .zip(tasks)
            .zip(alarms)
            .zip(ids)
            .map(|((((moniker, version, service), tasks), policies), id)| ServerGroupFacts {
                account: session.account_name.clone(),
                region: session.region.clone(),
                ecs_cluster: ecs_cluster.to_string(),
                scalable_target: targets.iter().find(|t| t.resource_id == id).cloned(),
                task_definition: tds.iter().find(|(arn, _)| *arn == service.task_definition).and_then(|(_, td)| td.clone()),
                target_health: health.iter().filter(|t| service.target_group_arns.contains(&t.target_group_arn)).cloned().collect(),
                hosts: hosts.clone(),
                alarms: crate::core::scaling::listed_alarm_names(&policies),
                vpc_id: service.subnets.first().and_then(|s| vpcs.iter().find(|(id, _)| id == s)).map(|(_, vpc)| vpc.clone()),
                moniker,
                version,
                service,
                tasks,
            })
            .collect())
    }

    /// The EC2 instances of the tasks that run on container instances.
    async fn hosts(&self, session: &Session, ecs_cluster: &str, tasks: &[Vec<Value>]) -> Result<Vec<(String, String)>, ReadError> {
        let arns: BTreeSet<String> = tasks.iter().flatten().filter_map(view::container_instance_arn).map(str::to_string).collect();
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        Ok(session.container_instance_hosts(ecs_cluster, &arns.into_iter().collect::<Vec<_>>()).await?)
    }
}

/// The tag index's answer for one application: its services by ECS cluster, and whether it is
/// trusted alone (`ECS_DEPLOYER_TAG_INDEX=only`: every server group carries its moniker tags).
struct Index {
    by_ecs_cluster: HashMap<String, BTreeSet<String>>,
    trusted: bool,
}

/// The names worth describing in an ECS cluster under the tag index: the listed ones the index
/// or their name puts in the selection, and the indexed ones the kept list does not have yet.
fn indexed_names(selection: &Selection<'_>, listed: Vec<String>, indexed: BTreeSet<String>) -> Vec<String> {
    let mut names: Vec<String> = listed.into_iter().filter(|n| selection.may_name_indexed(n, &indexed)).collect();
    names.extend(indexed.into_iter().filter(|n| !names.contains(n)).collect::<Vec<_>>());
    names
}

/// A service with the moniker and version its name (or tags) give it.
type Group = (crate::core::moniker::Moniker, Option<u32>, ServiceState);

/// The service as a server group of the selection (see [`Selection::member`]).
fn server_group_of(selection: &Selection<'_>, service: ServiceState) -> Option<Group> {
    let (moniker, version) = selection.member(&service)?;
    Some((moniker, Some(version), service))
}
