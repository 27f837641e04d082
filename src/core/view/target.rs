//! Which server group a dynamic target names (`TargetServerGroup`, §2.4) and Clouddriver's
//! selection among a cluster's server groups (`ClusterController.getTargetServerGroup`). Pure.

use super::server_group::ServerGroupView;

/// A dynamic target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Current,
    Previous,
    Oldest,
    Largest,
    Fail,
}

impl Target {
    /// Case-insensitive, `_asg` and `_asg_dynamic` suffixes stripped; `newest` is current,
    /// `ancestor` previous.
    pub fn parse(text: &str) -> Option<Target> {
        let lower = text.to_ascii_lowercase();
        let bare = lower.strip_suffix("_asg_dynamic").or_else(|| lower.strip_suffix("_asg")).unwrap_or(&lower);
        match bare {
            "current" | "newest" => Some(Target::Current),
            "previous" | "ancestor" => Some(Target::Previous),
            "oldest" => Some(Target::Oldest),
            "largest" => Some(Target::Largest),
            "fail" => Some(Target::Fail),
            _ => None,
        }
    }
}

/// Candidates in `region` (enabled ones only with `only_enabled`), newest first; None when none
/// or ambiguous.
pub fn select_target<'a>(
    groups: &'a [ServerGroupView],
    region: &str,
    target: Target,
    only_enabled: bool,
    validate_oldest: bool,
) -> Option<&'a ServerGroupView> {
    let mut candidates: Vec<&ServerGroupView> = groups.iter().filter(|sg| sg.region == region && !(only_enabled && sg.disabled)).collect();
    candidates.sort_by_key(|sg| std::cmp::Reverse(sg.created_time));
    match target {
        Target::Current => candidates.first().copied(),
        Target::Previous => candidates.get(1).copied(),
        Target::Oldest if validate_oldest && candidates.len() < 2 => None,
        Target::Oldest => candidates.last().copied(),
        Target::Largest => candidates.iter().copied().reduce(|best, sg| if sg.instances.len() > best.instances.len() { sg } else { best }),
        Target::Fail if candidates.len() == 1 => candidates.first().copied(),
        Target::Fail => None,
    }
}
