//! Who may call `serve`: the principals file (`serve --principals FILE`), or the one all-powerful
//! principal of `--token-file`/`--token-env`, or, on loopback without either, an anonymous one.
//! A principal is known by the SHA-256 of its bearer token; a presented token is hashed and
//! compared with every known digest in constant time, so neither a match's position nor its
//! prefix shows in the timing. The file is read again on SIGHUP; a file that does not load
//! leaves the previous principals in place. No message ever quotes a token or a digest.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde_yaml_ng::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::core::access::{Principal, role};
use crate::core::error::{Error, Result};

/// The principals file's size limit: a few hundred principals fit in far less.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The shortest bearer token accepted.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Each principal with one of its token digests (a principal has one entry per token).
type Known = Vec<(Arc<Principal>, [u8; 32])>;

/// Where the principals come from.
#[derive(Debug, Clone)]
enum Origin {
    File(PathBuf),
    Fixed,
}

/// The known principals and their token digests.
#[derive(Debug)]
pub struct Principals {
    origin: Origin,
    known: Known,
}

impl Principals {
    /// One principal with every permission, known by `token_digest`.
    pub fn operator(token_digest: [u8; 32]) -> Principals {
        Principals { origin: Origin::Fixed, known: vec![(Arc::new(Principal::operator("operator")), token_digest)] }
    }

    /// One principal with every permission, known by its bearer token (hashed here, kept as a digest).
    pub fn from_token(token: &str) -> Principals {
        Principals::operator(Sha256::digest(token.trim().as_bytes()).into())
    }

    /// No authentication (a loopback `serve` without tokens): every request is the operator.
    pub fn open() -> Principals {
        Principals { origin: Origin::Fixed, known: Vec::new() }
    }

    /// True when requests need no token.
    pub fn is_open(&self) -> bool {
        matches!(self.origin, Origin::Fixed) && self.known.is_empty()
    }

    /// Reads the principals file.
    pub fn load(path: &Path) -> Result<Principals> {
        let text = crate::core::input::read_text_limited(path, MAX_FILE_BYTES, "--principals")?;
        let value: Value = crate::core::input::parse_yaml(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let known = parse(&value, base).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Ok(Principals { origin: Origin::File(path.to_path_buf()), known })
    }

    /// The principals file again (SIGHUP); None when these principals do not come from a file.
    pub fn reload(&self) -> Option<Result<Principals>> {
        match &self.origin {
            Origin::File(path) => Some(Principals::load(path)),
            Origin::Fixed => None,
        }
    }

    /// How many principals there are.
    pub fn len(&self) -> usize {
        self.known.iter().map(|(p, _)| &p.name).collect::<BTreeSet<_>>().len()
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// The principal a bearer token belongs to (every request is the anonymous operator's on an
    /// open `serve`); None for an unknown token or one longer than [`MAX_TOKEN_BYTES`].
    pub fn authenticate(&self, token: Option<&str>) -> Option<Arc<Principal>> {
        if self.is_open() {
            return Some(Arc::new(Principal::operator("anonymous")));
        }
        self.authenticate_digest(&digest_of(token.filter(|t| t.len() <= MAX_TOKEN_BYTES)?))
    }

    /// The principal whose token has `digest` (compared with every known digest in constant time).
    pub fn authenticate_digest(&self, digest: &[u8; 32]) -> Option<Arc<Principal>> {
        if self.is_open() {
            return Some(Arc::new(Principal::operator("anonymous")));
        }
        let mut found = None;
        for (principal, known) in &self.known {
            if bool::from(digest.ct_eq(known)) {
                found = Some(principal.clone());
            }
        }
        found
    }
}

/// The longest bearer token accepted (hashing a larger one is work for nothing).
pub const MAX_TOKEN_BYTES: usize = 4096;

/// The SHA-256 of a token as principals are matched: surrounding whitespace removed.
pub fn digest_of(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

/// The principals named in the file's `principals:` list.
fn parse(value: &Value, base: &Path) -> std::result::Result<Known, String> {
    let Some(list) = value.get("principals").and_then(Value::as_sequence) else {
        return Err("expected `principals:`, a list of {name, tokenSha256 or tokenFile, roles, trustedService}".into());
    };
    let mut known: Known = Vec::new();
    let mut names = BTreeSet::new();
    for (i, entry) in list.iter().enumerate() {
        let (principal, digests) = principal(entry, base).map_err(|e| format!("principals[{i}]: {e}"))?;
        if !names.insert(principal.name.clone()) {
            return Err(format!(
                "principals[{i}]: the name `{}` is used twice; list every token of one principal under it",
                principal.name
            ));
        }
        let principal = Arc::new(principal);
        for digest in digests {
            if let Some((other, _)) = known.iter().find(|(_, d)| *d == digest) {
                return Err(format!(
                    "principals[{i}] ({}) has the same token as {}; give each principal its own",
                    principal.name, other.name
                ));
            }
            known.push((principal.clone(), digest));
        }
    }
    if known.is_empty() {
        return Err("no principals are defined: nobody could call serve".into());
    }
    Ok(known)
}

const KEYS: [&str; 6] = ["name", "tokenSha256", "tokenFile", "roles", "trustedService", "admin"];

fn principal(entry: &Value, base: &Path) -> std::result::Result<(Principal, Vec<[u8; 32]>), String> {
    let Some(map) = entry.as_mapping() else { return Err("expected a mapping".into()) };
    for key in map.keys() {
        let key = key.as_str().unwrap_or_default();
        if !KEYS.contains(&key) {
            return Err(format!("unknown key `{key}`; the keys are {}", KEYS.join(", ")));
        }
    }
    let name = entry.get("name").and_then(Value::as_str).map(str::trim).filter(|n| !n.is_empty() && n.len() <= 128);
    let Some(name) = name else { return Err("`name` is required (at most 128 characters)".into()) };
    let mut digests = Vec::new();
    for hex in strings(entry.get("tokenSha256"), "tokenSha256")? {
        digests.push(
            digest_from_hex(&hex).ok_or_else(|| format!("{name}: tokenSha256 must be 64 hexadecimal digits (`sha256sum` of the token)"))?,
        );
    }
    for file in strings(entry.get("tokenFile"), "tokenFile")? {
        let path = base.join(&file);
        let token = crate::core::input::read_text_limited(&path, 64 * 1024, "tokenFile").map_err(|e| format!("{name}: {e}"))?;
        let token = token.trim();
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(format!("{name}: the token in {} is shorter than {MIN_TOKEN_CHARS} characters", path.display()));
        }
        digests.push(Sha256::digest(token.as_bytes()).into());
    }
    if digests.is_empty() {
        return Err(format!("{name}: give tokenSha256 or tokenFile"));
    }
    let roles = strings(entry.get("roles"), "roles")?.iter().filter_map(|r| role(r)).collect();
    let flag = |key: &str| match entry.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{name}: `{key}` is true or false")),
    };
    let principal = Principal { name: name.to_string(), roles, trusted_service: flag("trustedService")?, admin: flag("admin")? };
    Ok((principal, digests))
}

/// A string or a list of strings (values never quoted in errors: they may be secrets).
fn strings(value: Option<&Value>, key: &str) -> std::result::Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Sequence(items)) => {
            items.iter().map(|i| i.as_str().map(str::to_string).ok_or_else(|| format!("`{key}` lists strings"))).collect()
        }
        Some(_) => Err(format!("`{key}` is a string or a list of strings")),
    }
}

fn digest_from_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The principals in use, replaced as a whole on reload.
#[derive(Debug, Clone)]
pub struct Current(Arc<RwLock<Arc<Principals>>>);

impl Current {
    pub fn new(principals: Principals) -> Current {
        Current(Arc::new(RwLock::new(Arc::new(principals))))
    }

    pub fn get(&self) -> Arc<Principals> {
        crate::core::sync::read(&self.0).clone()
    }

    /// Reads the principals file again; on failure the current principals stay.
    pub fn reload(&self) -> Option<Result<usize>> {
        let loaded = self.get().reload()?;
        Some(loaded.map(|principals| {
            let count = principals.len();
            *crate::core::sync::write(&self.0) = Arc::new(principals);
            count
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(token: &str) -> String {
        Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn principals_by_digest_or_file_with_rotation() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("payments-token"), "payments-token-0123456789\n").unwrap();
        let text = format!(
            "principals:\n  - name: orca\n    tokenSha256: [{}, {}]\n    roles: [Spinnaker-Admins]\n    trustedService: true\n  - name: team-payments\n    tokenFile: payments-token\n    roles: [payments]\n",
            hex("old-orca-token-0123456789"),
            hex("new-orca-token-0123456789")
        );
        std::fs::write(dir.path().join("principals.yml"), text).unwrap();
        let principals = Principals::load(&dir.path().join("principals.yml")).unwrap();
        assert_eq!(principals.len(), 2);
        for token in ["old-orca-token-0123456789", "new-orca-token-0123456789"] {
            let orca = principals.authenticate(Some(token)).unwrap();
            assert_eq!(orca.name, "orca");
            assert!(orca.trusted_service && orca.roles.contains("spinnaker-admins"));
        }
        let team = principals.authenticate(Some("payments-token-0123456789")).unwrap();
        assert_eq!((team.name.as_str(), team.trusted_service, team.admin), ("team-payments", false, false));
        assert!(principals.authenticate(Some("payments-token-012345678")).is_none());
        assert!(principals.authenticate(None).is_none());
    }

    #[test]
    fn bad_files_say_what_is_wrong_without_quoting_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("principals: []\n", "no principals"),
            ("principals:\n  - name: a\n    token: supersecretvalue-123\n", "unknown key `token`"),
            ("principals:\n  - name: a\n    tokenSha256: supersecretvalue-123\n", "64 hexadecimal"),
            ("principals:\n  - name: a\n", "give tokenSha256 or tokenFile"),
            ("principals:\n  - tokenSha256: supersecretvalue-123\n", "`name` is required"),
        ];
        for (text, expected) in cases {
            std::fs::write(dir.path().join("p.yml"), text).unwrap();
            let message = Principals::load(&dir.path().join("p.yml")).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(!message.contains("supersecret"), "{message}");
        }
        let flag = format!("principals:\n  - {{name: a, trustedService: supersecretvalue-123, tokenSha256: {}}}\n", hex("x"));
        std::fs::write(dir.path().join("p.yml"), flag).unwrap();
        let message = Principals::load(&dir.path().join("p.yml")).unwrap_err().to_string();
        assert!(message.contains("true or false") && !message.contains("supersecret"), "{message}");
        let same = format!("principals:\n  - {{name: a, tokenSha256: {0}}}\n  - {{name: b, tokenSha256: {0}}}\n", hex("x"));
        std::fs::write(dir.path().join("p.yml"), same).unwrap();
        assert!(Principals::load(&dir.path().join("p.yml")).unwrap_err().to_string().contains("same token"));
    }
}
