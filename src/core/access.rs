//! Who may do what, the way Spinnaker decides it. An account's `permissions` are Fiat's
//! `Permissions`: a map from an authorization (`READ`, `WRITE`, `EXECUTE`, `CREATE`) to roles,
//! trimmed and lowercased; an account whose map names no role at all is unrestricted (everyone
//! has every authorization), otherwise a principal has an authorization when one of its roles is
//! listed under it. The legacy `requiredGroupMembership` list means READ and WRITE for those
//! roles, and is ignored when `permissions` restrict the account (Fiat's `BaseAccessControlled`).
//! A request's [`Identity`] is the authenticated principal, the user a trusted service acts for
//! and, when that service sent `X-SPINNAKER-ACCOUNTS`, the only accounts the request may touch.
//! Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

/// One of Fiat's authorizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Authorization {
    Read,
    Write,
    Execute,
    Create,
}

impl Authorization {
    /// The name as Fiat spells it (`READ`).
    pub fn name(self) -> &'static str {
        match self {
            Authorization::Read => "READ",
            Authorization::Write => "WRITE",
            Authorization::Execute => "EXECUTE",
            Authorization::Create => "CREATE",
        }
    }

    /// Parses a key of a `permissions` map; Spring binds enum keys case-insensitively.
    pub fn parse(key: &str) -> Option<Authorization> {
        match key.trim().to_ascii_uppercase().as_str() {
            "READ" => Some(Authorization::Read),
            "WRITE" => Some(Authorization::Write),
            "EXECUTE" => Some(Authorization::Execute),
            "CREATE" => Some(Authorization::Create),
            _ => None,
        }
    }
}

/// A role name as Fiat compares it: trimmed and lowercased; None when blank.
pub fn role(name: &str) -> Option<String> {
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_lowercase())
}

/// An account's permissions; the default is unrestricted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Permissions(BTreeMap<Authorization, BTreeSet<String>>);

impl Permissions {
    /// The permissions of an account from its `permissions` map (already keyed) and its legacy
    /// `requiredGroupMembership`.
    pub fn new(permissions: BTreeMap<Authorization, Vec<String>>, required_group_membership: &[String]) -> Permissions {
        let mut map: BTreeMap<Authorization, BTreeSet<String>> = BTreeMap::new();
        for (authorization, roles) in permissions {
            let roles: BTreeSet<String> = roles.iter().filter_map(|r| role(r)).collect();
            if !roles.is_empty() {
                map.entry(authorization).or_default().extend(roles);
            }
        }
        if map.is_empty() {
            let legacy: BTreeSet<String> = required_group_membership.iter().filter_map(|r| role(r)).collect();
            if !legacy.is_empty() {
                map.insert(Authorization::Read, legacy.clone());
                map.insert(Authorization::Write, legacy);
            }
        }
        Permissions(map)
    }

    /// True when some authorization names a role (Fiat's `isRestricted`).
    pub fn is_restricted(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether a holder of `roles` (lowercased) has `authorization`.
    pub fn allows(&self, roles: &BTreeSet<String>, authorization: Authorization) -> bool {
        !self.is_restricted() || self.0.get(&authorization).is_some_and(|listed| !listed.is_disjoint(roles))
    }

    /// The roles listed under `authorization`.
    pub fn roles(&self, authorization: Authorization) -> Vec<&str> {
        self.0.get(&authorization).map(|r| r.iter().map(String::as_str).collect()).unwrap_or_default()
    }
}

/// Someone `serve` knows: a name, roles and what it may do beyond them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    /// Lowercased, as Fiat compares them.
    pub roles: BTreeSet<String>,
    /// May act for users: `X-SPINNAKER-USER` and `X-SPINNAKER-ACCOUNTS` are honoured.
    pub trusted_service: bool,
    /// Every authorization on every account (Fiat's admin), and every task.
    pub admin: bool,
}

impl Principal {
    /// The principal of `--token-file`/`--token-env`, or of a token-less loopback `serve`: every
    /// permission, and trusted, so Orca's user headers name the task's owner.
    pub fn operator(name: &str) -> Principal {
        Principal { name: name.to_string(), roles: BTreeSet::new(), trusted_service: true, admin: true }
    }
}

/// Who a request comes from and for.
#[derive(Debug, Clone)]
pub struct Identity {
    pub principal: Arc<Principal>,
    /// The user a trusted service acts for (`X-SPINNAKER-USER`).
    pub user: Option<String>,
    /// The accounts the user may use (`X-SPINNAKER-ACCOUNTS`), lowercased; None: not narrowed.
    pub allowed_accounts: Option<BTreeSet<String>>,
}

impl Identity {
    /// The identity of a request by `principal`, honouring the user headers only for a trusted
    /// service (from anyone else they are ignored).
    pub fn new(principal: Arc<Principal>, user: Option<&str>, accounts: Option<&str>) -> Identity {
        if !principal.trusted_service {
            return Identity { principal, user: None, allowed_accounts: None };
        }
        let user = user.map(str::trim).filter(|u| !u.is_empty()).map(|u| u.chars().take(256).collect());
        let allowed_accounts = accounts.map(|list| list.split(',').filter_map(role).collect());
        Identity { principal, user, allowed_accounts }
    }

    /// Who owns what this identity starts: the user acted for, else the principal.
    pub fn owner(&self) -> &str {
        self.user.as_deref().unwrap_or(&self.principal.name)
    }

    /// Whether this identity has `authorization` on `account` with `permissions`: the
    /// `X-SPINNAKER-ACCOUNTS` list (when sent) must name the account, and then the principal
    /// must be an admin or hold a role the account lists.
    pub fn may(&self, account: &str, permissions: &Permissions, authorization: Authorization) -> bool {
        if let Some(allowed) = &self.allowed_accounts
            && !allowed.contains(&account.to_lowercase())
        {
            return false;
        }
        self.principal.admin || permissions.allows(&self.principal.roles, authorization)
    }

    /// Whether this identity may download with an artifact account of `permissions`: READ when
    /// the account names roles (the principal's own roles: `X-SPINNAKER-ACCOUNTS` lists cloud
    /// accounts, not artifact accounts), else when it `writes_an_ecs_account` — an artifact
    /// account is used to deploy, so nobody who may deploy nowhere gets its credentials' reach.
    pub fn may_use_artifact_account(&self, permissions: &Permissions, writes_an_ecs_account: bool) -> bool {
        match permissions.is_restricted() {
            _ if self.principal.admin => true,
            true => permissions.allows(&self.principal.roles, Authorization::Read),
            false => writes_an_ecs_account,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|r| r.to_string()).collect()
    }

    fn principal(name: &str, list: &[&str], trusted: bool) -> Arc<Principal> {
        Arc::new(Principal { name: name.into(), roles: roles(list), trusted_service: trusted, admin: false })
    }

    #[test]
    fn fiat_semantics_unrestricted_restricted_and_legacy() {
        let open = Permissions::new(BTreeMap::new(), &[]);
        assert!(!open.is_restricted());
        assert!(open.allows(&roles(&[]), Authorization::Write));

        let blank = Permissions::new(BTreeMap::from([(Authorization::Write, vec![" ".to_string()])]), &[]);
        assert!(!blank.is_restricted(), "blank roles restrict nothing (Fiat drops them)");

        let split = Permissions::new(
            BTreeMap::from([(Authorization::Read, vec!["Readers ".into()]), (Authorization::Write, vec!["deployers".into()])]),
            &["legacy".into()],
        );
        assert!(split.allows(&roles(&["readers"]), Authorization::Read));
        assert!(!split.allows(&roles(&["readers"]), Authorization::Write));
        assert!(!split.allows(&roles(&["deployers"]), Authorization::Read), "WRITE does not imply READ in Fiat");
        assert!(!split.allows(&roles(&["legacy"]), Authorization::Read), "requiredGroupMembership is ignored beside permissions");

        let legacy = Permissions::new(BTreeMap::new(), &["Payments".into()]);
        assert!(legacy.allows(&roles(&["payments"]), Authorization::Read));
        assert!(legacy.allows(&roles(&["payments"]), Authorization::Write));
        assert!(!legacy.allows(&roles(&["other"]), Authorization::Write));
    }

    #[test]
    fn user_headers_count_only_from_trusted_services_and_narrow_the_accounts() {
        let open = Permissions::default();
        let team = Identity::new(principal("team", &["payments"], false), Some("mallory"), Some("prod"));
        assert_eq!(team.user, None);
        assert_eq!(team.owner(), "team");
        assert!(team.may("staging", &open, Authorization::Write), "the header is ignored, not obeyed");

        let orca = Identity::new(principal("orca", &["payments"], true), Some(" alice "), Some("Prod, staging,"));
        assert_eq!(orca.owner(), "alice");
        assert!(orca.may("prod", &open, Authorization::Write));
        assert!(!orca.may("other", &open, Authorization::Write), "an account outside X-SPINNAKER-ACCOUNTS");
        let restricted = Permissions::new(BTreeMap::from([(Authorization::Write, vec!["admins".into()])]), &[]);
        assert!(!orca.may("prod", &restricted, Authorization::Write), "the list narrows, it never grants");

        let admin = Identity::new(Arc::new(Principal::operator("operator")), None, None);
        assert!(admin.may("prod", &restricted, Authorization::Write));
    }

    #[test]
    fn artifact_accounts_are_used_with_read_or_by_those_who_may_deploy_somewhere() {
        let open = Permissions::default();
        let readers = Permissions::new(BTreeMap::from([(Authorization::Read, vec!["payments".into()])]), &[]);
        let nobody = Identity::new(principal("nobody", &[], false), None, None);
        let team = Identity::new(principal("team", &["payments"], false), None, None);
        let admin = Identity::new(Arc::new(Principal::operator("operator")), None, None);
        // (identity, permissions, writes an ECS account, may use)
        let table = [
            (&nobody, &open, false, false),
            (&nobody, &open, true, true),
            (&nobody, &readers, true, false),
            (&team, &readers, false, true),
            (&admin, &readers, false, true),
            (&admin, &open, false, true),
        ];
        for (i, (identity, permissions, writes, expected)) in table.into_iter().enumerate() {
            assert_eq!(identity.may_use_artifact_account(permissions, writes), expected, "row {i}");
        }
    }
}
