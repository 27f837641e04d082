//! Where an artifact download may connect: Spinnaker's URL restrictions (kork's
//! `UrlRestrictions`, Clouddriver's per-account `urlRestrictions`) with the same keys —
//! `allowedSchemes`, `allowedHostnamesRegex`, `allowedDomains`, `rejectLocalhost`,
//! `rejectLinkLocal`, `rejectVerbatimIps`, `rejectedIps`, `excludedDomains`,
//! `extraExcludedPatterns` — and safer defaults: link-local addresses (the instance metadata
//! and the ECS task-credentials endpoint) are always refused, and the private ranges are in the
//! default `rejectedIps`. A URL is judged in two steps, both here: its scheme and host name
//! ([`UrlRestrictions::check_host`]), then every address the name resolves to
//! ([`UrlRestrictions::check_address`], IPv4 embedded in IPv6 unwrapped). The shell resolves
//! and connects only to addresses that passed. Pure.

use ::core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::collections::BTreeMap;

use ipnet::IpNet;
use serde_yaml_ng::Value as Yaml;

/// A regular expression as configured (Java's `String.matches`: the whole host must match).
#[derive(Clone)]
pub struct Pattern {
    text: String,
    regex: regex_lite::Regex,
}

impl Pattern {
    fn new(text: &str) -> Result<Pattern, String> {
        let regex = regex_lite::Regex::new(&format!("^(?:{text})$")).map_err(|e| format!("`{text}` is not a regular expression: {e}"))?;
        Ok(Pattern { text: text.to_string(), regex })
    }

    fn matches(&self, host: &str) -> bool {
        self.regex.is_match(host)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Pattern {}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

/// The keys of a `urlRestrictions` mapping.
pub const KEYS: [&str; 9] = [
    "allowedSchemes",
    "allowedHostnamesRegex",
    "allowedDomains",
    "rejectLocalhost",
    "rejectLinkLocal",
    "rejectVerbatimIps",
    "rejectedIps",
    "excludedDomains",
    "extraExcludedPatterns",
];

/// kork's default: a name with a dot (Kubernetes resolves single-label names to its services).
const DEFAULT_HOSTNAMES: &str = r".*\..+";
/// kork's default excluded domains (`orca.spinnaker`, `metadata.internal`, …).
const DEFAULT_EXCLUDED: [&str; 4] = ["spinnaker", "local", "localdomain", "internal"];
/// ecs-deployer's default `rejectedIps` (kork's is empty): the private and shared ranges, where
/// the services beside `serve` live.
pub const PRIVATE_RANGES: [&str; 5] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"];
/// Always refused, whatever is configured: link-local (169.254.169.254 and the ECS task
/// credentials at 169.254.170.2 among them) and EC2's IPv6 metadata range.
const ALWAYS_REFUSED: [&str; 3] = ["169.254.0.0/16", "fe80::/10", "fd00:ec2::/32"];

/// Where downloads may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlRestrictions {
    pub allowed_schemes: Vec<String>,
    allowed_hostnames: Pattern,
    /// When not empty, the only hosts allowed (each a regular expression on the whole host).
    pub allowed_domains: Vec<Pattern>,
    pub reject_localhost: bool,
    pub reject_verbatim_ips: bool,
    pub rejected_ips: Vec<IpNet>,
    excluded_domains: Vec<String>,
    extra_excluded: Vec<Pattern>,
}

impl Default for UrlRestrictions {
    fn default() -> Self {
        UrlRestrictions {
            allowed_schemes: vec!["http".into(), "https".into()],
            allowed_hostnames: Pattern::new(DEFAULT_HOSTNAMES).expect("a valid pattern"),
            allowed_domains: Vec::new(),
            reject_localhost: true,
            reject_verbatim_ips: true,
            rejected_ips: PRIVATE_RANGES.iter().map(|r| r.parse().expect("a valid range")).collect(),
            excluded_domains: DEFAULT_EXCLUDED.iter().map(|d| d.to_string()).collect(),
            extra_excluded: Vec::new(),
        }
    }
}

/// A `urlRestrictions` key's problem: (key, message).
pub type Problem = (String, String);

impl UrlRestrictions {
    /// Reads a `urlRestrictions` mapping (None: the defaults); keys not given keep their default.
    pub fn parse(value: Option<&Yaml>) -> Result<UrlRestrictions, Vec<Problem>> {
        let mut out = UrlRestrictions::default();
        let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(out) };
        let Some(map) = value.as_mapping() else {
            return Err(vec![("urlRestrictions".into(), "`urlRestrictions` is a mapping of kork's URL restriction keys".into())]);
        };
        let mut problems = Vec::new();
        for (key, value) in map {
            let key = key.as_str().unwrap_or_default();
            if let Err(message) = out.set(key, value) {
                problems.push((format!("urlRestrictions.{key}"), message));
            }
        }
        if problems.is_empty() { Ok(out) } else { Err(problems) }
    }

    fn set(&mut self, key: &str, value: &Yaml) -> Result<(), String> {
        match key {
            "allowedSchemes" => self.allowed_schemes = strings(value)?.iter().map(|s| s.to_ascii_lowercase()).collect(),
            "allowedHostnamesRegex" => self.allowed_hostnames = Pattern::new(&scalar(value)?)?,
            "allowedDomains" => self.allowed_domains = patterns(value)?,
            "rejectLocalhost" => self.reject_localhost = flag(value)?,
            "rejectVerbatimIps" => self.reject_verbatim_ips = flag(value)?,
            "rejectLinkLocal" if flag(value)? => {}
            "rejectLinkLocal" => {
                return Err("link-local addresses (instance metadata, ECS task credentials) are always refused; remove the key".into());
            }
            "rejectedIps" => {
                self.rejected_ips = strings(value)?.iter().map(|r| range(r)).collect::<Result<_, _>>()?;
            }
            "excludedDomains" => self.excluded_domains = strings(value)?.iter().map(|d| normal_name(d)).collect(),
            "extraExcludedPatterns" => self.extra_excluded = patterns(value)?,
            other => return Err(format!("unknown key `{other}`; the keys are {}", KEYS.join(", "))),
        }
        Ok(())
    }

    /// The restrictions with `allowed_domains` set when none are configured (the hosts an
    /// account with credentials sends them to by default).
    pub fn with_default_domains(mut self, domains: &[&str]) -> UrlRestrictions {
        if self.allowed_domains.is_empty() {
            self.allowed_domains = domains.iter().map(|d| Pattern::new(d).expect("a valid pattern")).collect();
        }
        self
    }

    /// The allowed domains as configured, for messages.
    pub fn allowed_domain_texts(&self) -> Vec<&str> {
        self.allowed_domains.iter().map(|p| p.text.as_str()).collect()
    }

    /// Whether `host` (lowercased, without brackets) is one of the allowed domains.
    pub fn is_allowed_domain(&self, host: &str) -> bool {
        self.allowed_domains.iter().any(|p| p.matches(&normal_name(host)))
    }

    /// Checks a URL's scheme and host (a name, or an IP literal without brackets) before any
    /// connection: the scheme, verbatim addresses, the name filters and the allowed domains.
    /// An IP literal is also checked as an address.
    pub fn check_host(&self, scheme: &str, host: &str) -> Result<(), String> {
        if !self.allowed_schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
            return Err(format!("the scheme `{scheme}` is not allowed (allowedSchemes: {})", self.allowed_schemes.join(", ")));
        }
        let name = normal_name(host);
        if name.is_empty() {
            return Err("the URL names no host".into());
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            self.check_address(ip)?;
            if self.reject_verbatim_ips {
                return Err(format!("{host} is an IP address; verbatim addresses are refused (rejectVerbatimIps)"));
            }
        } else if !(self.name_passes_filters(&name) || (!self.reject_localhost && name == "localhost")) {
            return Err(format!("the host {host} is not allowed (allowedHostnamesRegex, excludedDomains)"));
        }
        if !self.allowed_domains.is_empty() && !self.is_allowed_domain(&name) {
            return Err(format!("the host {host} is not among the allowed domains ({})", self.allowed_domain_texts().join(", ")));
        }
        Ok(())
    }

    fn name_passes_filters(&self, name: &str) -> bool {
        if self.allowed_domains.iter().any(|p| p.text == name) {
            return true;
        }
        let excluded = self.excluded_domains.iter().any(|d| name.len() > d.len() + 1 && name.ends_with(&format!(".{d}")));
        self.allowed_hostnames.matches(name) && !excluded && !self.extra_excluded.iter().any(|p| p.matches(name))
    }

    /// Checks one address a host resolved to (or its literal): link-local always refused;
    /// loopback and unspecified with `rejectLocalhost`; the `rejectedIps` ranges. IPv4 carried
    /// in IPv6 (mapped, compatible, NAT64) is judged as the IPv4 address it carries.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), String> {
        for ip in [Some(ip), embedded_v4(ip).map(IpAddr::V4)].into_iter().flatten() {
            if let Some(range) = ALWAYS_REFUSED.iter().map(|r| r.parse::<IpNet>().expect("a valid range")).find(|r| r.contains(&ip)) {
                return Err(format!("{ip} is a link-local address ({range}: instance metadata, task credentials); never reachable"));
            }
            if self.reject_localhost && is_local(ip) {
                return Err(format!("{ip} is a loopback or unspecified address (rejectLocalhost)"));
            }
            if let Some(range) = self.rejected_ips.iter().find(|r| r.contains(&ip)) {
                return Err(format!("{ip} is in {range}, a rejected range (rejectedIps)"));
            }
        }
        Ok(())
    }
}

/// The IPv4 address an IPv6 address carries, if it carries one: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`, deprecated but routed by some stacks) and NAT64's well-known
/// prefix (`64:ff9b::a.b.c.d`).
fn embedded_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = ip else { return None };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let compatible = s[..6].iter().all(|x| *x == 0) && v6 != Ipv6Addr::UNSPECIFIED && v6 != Ipv6Addr::LOCALHOST;
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|x| *x == 0);
    (compatible || nat64).then_some(tail)
}

fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.octets()[0] == 0,
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified(),
    }
}

/// A host as names are compared: lowercased, brackets and one trailing dot removed.
fn normal_name(host: &str) -> String {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

fn range(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{text}` is neither an IP address nor a CIDR range"))
}

fn scalar(value: &Yaml) -> Result<String, String> {
    match value {
        Yaml::String(s) => Ok(s.clone()),
        Yaml::Number(n) => Ok(n.to_string()),
        _ => Err("expected a string".into()),
    }
}

/// A list, or one comma-separated string (as Spring binds a list).
fn strings(value: &Yaml) -> Result<Vec<String>, String> {
    match value {
        Yaml::Null => Ok(Vec::new()),
        Yaml::String(s) => Ok(s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()),
        Yaml::Sequence(items) => items.iter().map(scalar).collect(),
        _ => Err("expected a list".into()),
    }
}

fn patterns(value: &Yaml) -> Result<Vec<Pattern>, String> {
    strings(value)?.iter().map(|p| Pattern::new(p)).collect()
}

fn flag(value: &Yaml) -> Result<bool, String> {
    match value {
        Yaml::Bool(b) => Ok(*b),
        Yaml::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Yaml::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// `base` with `over`'s keys laid over it (the section's restrictions under an account's own).
pub fn layered(base: Option<&Yaml>, over: Option<&Yaml>) -> Option<Yaml> {
    match (base.and_then(Yaml::as_mapping), over) {
        (Some(base), Some(Yaml::Mapping(over))) => {
            let mut merged: BTreeMap<String, Yaml> = BTreeMap::new();
            for (k, v) in base.iter().chain(over.iter()) {
                merged.insert(k.as_str().unwrap_or_default().to_string(), v.clone());
            }
            Some(Yaml::Mapping(merged.into_iter().map(|(k, v)| (Yaml::String(k), v)).collect()))
        }
        (_, Some(over)) => Some(over.clone()),
        (Some(_), None) => base.cloned(),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restrictions(yaml: &str) -> UrlRestrictions {
        UrlRestrictions::parse(Some(&serde_yaml_ng::from_str(yaml).unwrap())).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn link_local_is_refused_in_every_spelling_that_reaches_an_address() {
        let open = restrictions("{rejectLocalhost: false, rejectedIps: []}");
        for address in [
            "169.254.169.254",
            "169.254.170.2",
            "::ffff:169.254.169.254",
            "::ffff:a9fe:a9fe",
            "::a9fe:a9fe",
            "64:ff9b::a9fe:a9fe",
            "fe80::1",
            "fd00:ec2::254",
        ] {
            assert!(open.check_address(ip(address)).is_err(), "{address}");
        }
        assert!(open.check_address(ip("127.0.0.1")).is_ok());
        assert!(open.check_address(ip("10.1.2.3")).is_ok());
    }

    #[test]
    fn loopback_and_private_ranges_are_refused_by_default() {
        let defaults = UrlRestrictions::default();
        for address in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "10.0.0.1",
            "172.31.1.1",
            "192.168.1.1",
            "100.64.0.1",
            "fd12::1",
        ] {
            assert!(defaults.check_address(ip(address)).is_err(), "{address}");
        }
        for address in ["140.82.112.6", "2606:50c0:8000::154"] {
            assert!(defaults.check_address(ip(address)).is_ok(), "{address}");
        }
        let custom = restrictions("{rejectedIps: ['203.0.113.0/24', 198.51.100.7]}");
        assert!(custom.check_address(ip("10.0.0.1")).is_ok(), "a configured list replaces the default");
        assert!(custom.check_address(ip("203.0.113.9")).is_err());
        assert!(custom.check_address(ip("198.51.100.7")).is_err());
    }

    #[test]
    fn names_schemes_and_domains_follow_korks_rules() {
        let defaults = UrlRestrictions::default();
        assert!(defaults.check_host("https", "api.github.com").is_ok());
        assert!(defaults.check_host("ftp", "api.github.com").unwrap_err().contains("scheme"));
        assert!(defaults.check_host("http", "203.0.113.7").unwrap_err().contains("verbatim"));
        assert!(defaults.check_host("http", "169.254.169.254").unwrap_err().contains("link-local"), "the worst is named");
        assert!(defaults.check_host("http", "::ffff:169.254.169.254").is_err());
        for host in ["orca", "orca.spinnaker", "instance-data.ec2.internal", "metadata.google.internal", "printer.local"] {
            assert!(defaults.check_host("http", host).is_err(), "{host}");
        }
        let github = UrlRestrictions::default().with_default_domains(&[r"api\.github\.com", r"raw\.githubusercontent\.com"]);
        assert!(github.check_host("https", "api.github.com").is_ok());
        assert!(github.check_host("https", "API.GitHub.com.").is_ok(), "case and a trailing dot do not matter");
        assert!(github.check_host("https", "evil.example.com").unwrap_err().contains("allowed domains"));
        assert!(github.check_host("https", "api.github.com.evil.example").is_err(), "the whole host must match");
        let local = restrictions("{rejectLocalhost: false, rejectVerbatimIps: false}");
        assert!(local.check_host("http", "127.0.0.1").is_ok());
        assert!(local.check_host("http", "localhost").is_ok(), "allowed localhost passes the name filter, as in kork");
        assert!(local.check_host("http", "169.254.169.254").is_err());
    }

    #[test]
    fn configuration_problems_name_the_key() {
        let problems = UrlRestrictions::parse(Some(
            &serde_yaml_ng::from_str("{rejectLinkLocal: false, rejectedIps: [nonsense], allowedDomains: ['(('], bogus: 1}").unwrap(),
        ))
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["urlRestrictions.rejectLinkLocal", "urlRestrictions.rejectedIps", "urlRestrictions.allowedDomains", "urlRestrictions.bogus"]
        );
        let base: Yaml = serde_yaml_ng::from_str("{rejectLocalhost: false, allowedSchemes: [https]}").unwrap();
        let over: Yaml = serde_yaml_ng::from_str("{allowedSchemes: [http]}").unwrap();
        let merged = UrlRestrictions::parse(layered(Some(&base), Some(&over)).as_ref()).unwrap();
        assert!(!merged.reject_localhost && merged.allowed_schemes == ["http"], "the account's keys win, the rest is kept");
    }
}
