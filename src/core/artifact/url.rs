//! Artifact URLs as they are shown and checked: credentials never shown, and whether an
//! account may reach a URL at all (its URL restrictions and credentialed domains).

use super::ArtifactAccount;

/// A URL as messages show it: without `user:password@` and without its query (either may
/// carry a credential).
pub fn shown_url(url: &str) -> String {
    let url = url.split('?').next().unwrap_or(url);
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, String::new()));
            let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

/// A URL's scheme and host (lowercased; an IPv6 literal without brackets), as far as they can
/// be read before the shell parses the URL it connects to.
pub fn scheme_and_host(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map(|(h, _)| h).unwrap_or(host),
    };
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// Whether `account` may download from `url`: its URL restrictions, and for an account with
/// credentials, that the host is one its credentials are for. The message names the account
/// and the host.
pub fn check_reach(account: &ArtifactAccount, url: &str) -> Result<(), String> {
    let Some((scheme, host)) = scheme_and_host(url) else { return Err(format!("{} is not an absolute URL", shown_url(url))) };
    let name = &account.name;
    if account.uses_auth() && account.restrictions.allowed_domains.is_empty() {
        return Err(format!(
            "artifact account `{name}` sends credentials but lists no urlRestrictions.allowedDomains; \
             list the hosts its credentials are for (refused: {host})"
        ));
    }
    account.restrictions.check_host(&scheme, &host).map_err(|why| format!("artifact account `{name}` may not reach {host}: {why}"))
}
