//! How server group names and tags are read and written: the moniker tags of the `tags` naming
//! strategy, the moniker and version of an existing service as the account's namer derives them,
//! the versions a Spinnaker cluster has taken, and the crash marker a deploy leaves on a server
//! group until it is complete. Pure.

use std::collections::BTreeSet;

use crate::core::config::NamingStrategy;
use crate::core::model::ServiceState;
use crate::core::moniker::{self, Moniker};

/// Tags the `tags` naming strategy writes.
pub const TAG_APPLICATION: &str = "moniker.spinnaker.io/application";
pub const TAG_CLUSTER: &str = "moniker.spinnaker.io/cluster";
pub const TAG_STACK: &str = "moniker.spinnaker.io/stack";
pub const TAG_DETAIL: &str = "moniker.spinnaker.io/detail";
pub const TAG_SEQUENCE: &str = "moniker.spinnaker.io/sequence";

/// The crash marker: CreateService tags every new server group with it (the value: when its
/// deploy started, in seconds since the epoch), and the deploy removes it only once every step
/// is done. A server group that still carries it is incomplete.
pub const TAG_INCOMPLETE: &str = "ecs-deployer/incomplete";

/// The crash marker's value: when the deploy started (seconds since the epoch) and which deploy
/// attempt it is, e.g. `1764581599 4f1c2a9b0e7d`.
pub fn incomplete_marker(started_at: i64, deploy_id: &str) -> String {
    format!("{started_at} {deploy_id}")
}

/// The crash marker among a service's tags, if its deploy never finished.
pub fn marker_of(tags: &[(String, String)]) -> Option<&str> {
    tags.iter().find(|(k, _)| k == TAG_INCOMPLETE).map(|(_, v)| v.as_str())
}

/// When the deploy that created a service with these tags started, if it never finished.
pub fn incomplete_since(tags: &[(String, String)]) -> Option<i64> {
    marker_of(tags).map(|v| v.split(' ').next().and_then(|t| t.parse().ok()).unwrap_or(0))
}

/// Why a server group is incomplete — its deploy never finished — and since when: the crash
/// marker is still on it, or it has no scalable target (every deploy registers one; this is how
/// it shows in accounts that cannot tag services, since its creation).
pub fn incompleteness(service: &ServiceState, has_target: bool) -> Option<(String, Option<i64>)> {
    match incomplete_since(&service.tags) {
        Some(since) => Some(("its deploy never finished (crash marker still set)".into(), Some(since))),
        None if !has_target => Some(("it has no scalable target".into(), service.created_at)),
        None => None,
    }
}

/// Derives the moniker and version of an existing service the way the account's namer does.
pub fn derive_moniker(naming: NamingStrategy, name: &str, tags: &[(String, String)]) -> (Option<Moniker>, Option<u32>) {
    let parsed = moniker::parse_name(name);
    let Some(mut m) = parsed.moniker else {
        return (None, None);
    };
    let mut version = parsed.version;
    if naming == NamingStrategy::Tags {
        let tag = |k: &str| tags.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        if let Some(app) = tag(TAG_APPLICATION) {
            m.app = app;
        }
        if let Some(stack) = tag(TAG_STACK) {
            m.stack = Some(stack).filter(|s| !s.is_empty());
        }
        if let Some(detail) = tag(TAG_DETAIL) {
            m.detail = Some(detail).filter(|s| !s.is_empty());
        }
        if let Some(seq) = tag(TAG_SEQUENCE).and_then(|s| s.parse().ok()) {
            version = Some(seq);
        }
    }
    (Some(m), version)
}

/// Versions taken in the moniker's Spinnaker cluster, from the services of the ECS cluster.
pub fn taken_versions<'a>(
    moniker: &Moniker,
    naming: NamingStrategy,
    services: impl Iterator<Item = (&'a str, &'a [(String, String)])>,
) -> BTreeSet<u32> {
    services
        .filter_map(|(name, tags)| match derive_moniker(naming, name, tags) {
            (Some(m), Some(v)) if m.same_cluster(moniker) => Some(v),
            _ => None,
        })
        .collect()
}

/// Under the default namer a service can only belong to the cluster if its name starts with the
/// cluster name and a hyphen; only those need describing.
pub fn may_belong(moniker: &Moniker, naming: NamingStrategy, name: &str) -> bool {
    may_be_named_under(Some(&moniker.cluster()), naming, name)
}

/// The same rule for an application or cluster name as `prefix`; without one, any name the
/// namer can parse.
pub fn may_be_named_under(prefix: Option<&str>, naming: NamingStrategy, name: &str) -> bool {
    match (naming, prefix) {
        (NamingStrategy::Default, Some(prefix)) => name.starts_with(&format!("{prefix}-")),
        _ => moniker::parse_name(name).moniker.is_some(),
    }
}

/// Which server groups a listing takes — of one application, of one cluster, or every one —
/// for `list`, cleanup, the strategies and the read API alike.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    pub naming: NamingStrategy,
    pub app: Option<&'a str>,
    pub cluster: Option<&'a str>,
}

impl Selection<'_> {
    /// Whether a listed service name is worth describing (under the tags namer only the tags
    /// tell, so every name the namer can parse is).
    pub fn may_name(&self, name: &str) -> bool {
        may_be_named_under(self.cluster.or(self.app), self.naming, name)
    }

    /// The same, given the tag index's services of the application in this ECS cluster (the
    /// `tags` namer): those, and the ones whose name alone says the application or cluster (an
    /// untagged service is named by its name, and the index cannot find it) — not every
    /// parseable name.
    pub fn may_name_indexed(&self, name: &str, indexed: &BTreeSet<String>) -> bool {
        indexed.contains(name) || may_be_named_under(self.cluster.or(self.app), NamingStrategy::Default, name)
    }

    /// The server group `service` is — its moniker and version — when it is one of the
    /// selection: an ACTIVE service (DRAINING and INACTIVE ones are being or were deleted) from
    /// whose name or tags the namer reads a versioned moniker of the application and cluster.
    pub fn member(&self, service: &ServiceState) -> Option<(Moniker, u32)> {
        if service.status != "ACTIVE" {
            return None;
        }
        let (moniker, version) = derive_moniker(self.naming, &service.service_name, &service.tags);
        let moniker = moniker.filter(|m| self.app.is_none_or(|a| m.app == a) && self.cluster.is_none_or(|c| m.cluster() == c))?;
        Some((moniker, version?))
    }
}
