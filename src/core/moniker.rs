//! Spinnaker names: the moniker (`app`, `stack`, `detail`), the Spinnaker cluster it forms
//! (`app-stack-detail`, which is also the task definition family), server group names with a
//! version (`app-stack-detail-v003`), Frigga's parser for existing names, and Clouddriver's rule
//! for picking the next version. Pure.

use std::collections::BTreeSet;

use serde::Serialize;

/// Clouddriver probes at most this many candidate names before giving up (`MAX_NEXT_SERVER_GROUP_ATTEMPTS`).
pub const MAX_CANDIDATES: usize = 5;

/// A Spinnaker moniker. Empty strings are normalised to `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Moniker {
    pub app: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

impl Moniker {
    pub fn new(app: &str, stack: Option<&str>, detail: Option<&str>) -> Self {
        Moniker { app: app.to_string(), stack: non_empty(stack), detail: non_empty(detail) }
    }

    /// The Spinnaker cluster name (`MonikerHelper.getClusterName`): `app`, `app-stack`,
    /// `app-stack-detail`, or `app--detail` when there is a detail but no stack.
    pub fn cluster(&self) -> String {
        match (&self.stack, &self.detail) {
            (stack, Some(detail)) => {
                format!("{}-{}-{}", self.app, stack.as_deref().unwrap_or(""), detail)
            }
            (Some(stack), None) => format!("{}-{}", self.app, stack),
            (None, None) => self.app.clone(),
        }
    }

    /// Clouddriver's `isSameName` on all three parts: both blank, or equal.
    pub fn same_cluster(&self, other: &Moniker) -> bool {
        self.app == other.app && self.stack == other.stack && self.detail == other.detail
    }

    /// The server group name for `version`.
    pub fn server_group(&self, version: u32) -> String {
        format!("{}-{}", self.cluster(), version_label(version))
    }
}

/// The application of a Spinnaker cluster name: its first part (`web` of `web-prod-blue`).
pub fn application_of(cluster: &str) -> &str {
    cluster.split('-').next().unwrap_or(cluster)
}

/// `v000`-style label; also the inputs-mode container name.
pub fn version_label(version: u32) -> String {
    format!("v{version:03}")
}

/// A name parsed by Frigga: the moniker when the name follows `app[-stack[-detail]]`, and the
/// version when it ends in `-vNNN` (3 to 6 digits).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedName {
    pub moniker: Option<Moniker>,
    pub version: Option<u32>,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '_'
}

fn is_hyphen_char(c: char) -> bool {
    is_name_char(c) || c == '-' || c == '~' || c == '^'
}

/// Frigga's `Names.parseName` (current version: `v\d{3,6}` and `~^` allowed in details).
pub fn parse_name(name: &str) -> ParsedName {
    let (cluster, version) = match name.rsplit_once("-v") {
        Some((prefix, digits))
            if (3..=6).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && prefix.chars().all(is_hyphen_char) =>
        {
            (prefix, digits.parse::<u32>().ok())
        }
        _ => (name, None),
    };
    let mut parts = cluster.splitn(3, '-');
    let app = parts.next().unwrap_or_default();
    let stack = parts.next();
    let detail = parts.next();
    let valid = !app.is_empty()
        && app.chars().all(is_name_char)
        && stack.is_none_or(|s| s.chars().all(is_name_char))
        && detail.is_none_or(|d| d.chars().all(is_hyphen_char));
    if !valid {
        return ParsedName::default();
    }
    ParsedName { moniker: Some(Moniker::new(app, stack, detail)), version }
}

/// Clouddriver's candidate order for the next version (`EcsServerGroupNameResolver`): from the
/// highest taken version (or 0) up to 999, then wrapping to 0, skipping taken ones, at most five.
/// The first free candidate wins; a candidate is free when no ACTIVE or DRAINING service has its name.
pub fn candidate_versions(taken: &BTreeSet<u32>) -> Vec<u32> {
    let max = taken.iter().next_back().copied().unwrap_or(0);
    (max..1000).chain(0..max).filter(|v| !taken.contains(v)).take(MAX_CANDIDATES).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(app: &str, stack: Option<&str>, detail: Option<&str>) -> Moniker {
        Moniker::new(app, stack, detail)
    }

    #[test]
    fn cluster_names() {
        assert_eq!(m("app", None, None).cluster(), "app");
        assert_eq!(m("app", Some("prod"), None).cluster(), "app-prod");
        assert_eq!(m("app", None, Some("canary")).cluster(), "app--canary");
        assert_eq!(m("app", Some("prod"), Some("canary")).cluster(), "app-prod-canary");
        assert_eq!(m("app", Some(""), Some("")).cluster(), "app");
        assert_eq!(m("myapp", Some("kcats"), Some("liated")).server_group(8), "myapp-kcats-liated-v008");
    }

    #[test]
    fn frigga_parsing() {
        let p = parse_name("app--details-v003");
        assert_eq!(p.moniker, Some(m("app", None, Some("details"))));
        assert_eq!(p.version, Some(3));
        let p = parse_name("application-stack-details");
        assert_eq!(p.moniker, Some(m("application", Some("stack"), Some("details"))));
        assert_eq!(p.version, None);
        let p = parse_name("cass-nccpintegration-random-junk-d0prod-z0useast1a-v003");
        assert_eq!(p.moniker, Some(m("cass", Some("nccpintegration"), Some("random-junk-d0prod-z0useast1a"))));
        assert_eq!(parse_name("app-v123456").version, Some(123456));
        assert_eq!(parse_name("app-v1234567").version, None);
        assert_eq!(parse_name("app-v12").version, None);
        assert_eq!(parse_name("app-v001-v002").version, Some(2));
        assert_eq!(parse_name("app-v001-v002").moniker, Some(m("app", Some("v001"), None)));
        assert_eq!(parse_name("-bad-v001"), ParsedName::default());
        assert_eq!(parse_name("bad name"), ParsedName::default());
        assert_eq!(parse_name("app-st~ack-v001"), ParsedName::default());
        assert_eq!(parse_name("app-stack-de~ta^il-v001").version, Some(1));
    }

    #[test]
    fn prefix_clusters_are_different_clusters() {
        let prod = m("app", Some("prod"), None);
        let canary = parse_name("app-prod-canary-v004").moniker.unwrap();
        assert!(!prod.same_cluster(&canary));
        assert!(prod.same_cluster(&parse_name("app-prod-v004").moniker.unwrap()));
    }

    fn taken(v: &[u32]) -> BTreeSet<u32> {
        v.iter().copied().collect()
    }

    #[test]
    fn next_version_rules() {
        // First deploy gets v000.
        assert_eq!(candidate_versions(&taken(&[]))[0], 0);
        assert_eq!(candidate_versions(&taken(&[0]))[0], 1);
        // max + 1; gaps below the max are not reused.
        assert_eq!(candidate_versions(&taken(&[1, 3, 4, 5, 6]))[0], 7);
        // Wrap-around after v999, then skip taken numbers.
        assert_eq!(candidate_versions(&taken(&[999])), vec![0, 1, 2, 3, 4]);
        assert_eq!(candidate_versions(&taken(&[0, 1, 999])), vec![2, 3, 4, 5, 6]);
        // At most five candidates.
        assert_eq!(candidate_versions(&taken(&[7])), vec![8, 9, 10, 11, 12]);
        // max itself is a candidate only when it is not taken (never, by construction) — so
        // with nothing taken the list starts at 0.
        assert_eq!(candidate_versions(&taken(&[])), vec![0, 1, 2, 3, 4]);
        // Everything taken: no candidate.
        let all: BTreeSet<u32> = (0..1000).collect();
        assert!(candidate_versions(&all).is_empty());
    }
}
