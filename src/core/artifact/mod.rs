//! Clouddriver's artifact accounts and what downloading an artifact takes, as values. The
//! `artifacts:` section of clouddriver.yml (`s3`, `http`, `github`, `gitlab`, `bitbucket`, each
//! with `enabled` and `accounts[]`, keys as `clouddriver-artifacts` binds them) becomes
//! [`ArtifactAccount`]s; a kork `Artifact` ([`ArtifactRef`]) is matched to the account that
//! handles its type ([`choose_account`]) and turned into the request that fetches it
//! ([`fetch_of`]): an S3 GetObject or an HTTP GET with the provider's headers. Credentials
//! given as files are named, not read, here; the shell reads them just before the request.
//! Pure. One concept per file: [`accounts`], [`fetch`], [`url`], [`document`].

mod accounts;
mod document;
mod fetch;
mod url;

use serde::Serialize;

pub use accounts::*;
pub use document::*;
pub use fetch::*;
pub use url::*;

/// The error code of every problem with a deploy's task definition artifact.
pub const INVALID_CODE: &str = "createServerGroupDescription.resolvedTaskDefinitionArtifact.invalid";

/// The artifact types ecs-deployer downloads, with the account kind that handles each.
pub const TYPES: [(&str, Kind); 6] = [
    ("embedded/base64", Kind::Embedded),
    ("s3/object", Kind::S3),
    ("http/file", Kind::Http),
    ("github/file", Kind::GitHub),
    ("gitlab/file", Kind::GitLab),
    ("bitbucket/file", Kind::Bitbucket),
];

/// Clouddriver's always-present account for `embedded/base64` (`EmbeddedArtifactAccount`).
pub const EMBEDDED_ACCOUNT: &str = "embedded-artifact";
/// The account Clouddriver adds when `artifacts.http` is enabled and no account uses auth.
pub const NO_AUTH_HTTP_ACCOUNT: &str = "no-auth-http-account";

/// The provider an artifact account belongs to (the key under `artifacts:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    Embedded,
    S3,
    Http,
    GitHub,
    GitLab,
    Bitbucket,
}

impl Kind {
    /// The artifact type this kind downloads.
    pub fn artifact_type(self) -> &'static str {
        TYPES.iter().find(|(_, k)| *k == self).map(|(t, _)| *t).unwrap_or_default()
    }

    /// Clouddriver's `CREDENTIALS_TYPE` (`artifacts-s3`), shown in `GET /artifacts/credentials`.
    pub fn credentials_type(self) -> &'static str {
        match self {
            Kind::Embedded => "artifacts-embedded",
            Kind::S3 => "artifacts-s3",
            Kind::Http => "artifacts-http",
            Kind::GitHub => "artifacts-github",
            Kind::GitLab => "artifacts-gitlab",
            Kind::Bitbucket => "artifacts-bitbucket",
        }
    }

    /// The kind that handles `artifact_type`, if ecs-deployer downloads it.
    pub fn of_type(artifact_type: &str) -> Option<Kind> {
        TYPES.iter().find(|(t, _)| *t == artifact_type).map(|(_, k)| *k)
    }

    /// The key under `artifacts:` in clouddriver.yml.
    pub fn config_key(self) -> &'static str {
        match self {
            Kind::Embedded => "embedded",
            Kind::S3 => "s3",
            Kind::Http => "http",
            Kind::GitHub => "github",
            Kind::GitLab => "gitlab",
            Kind::Bitbucket => "bitbucket",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_yaml_ng::Value as Yaml;

    fn section(text: &str) -> Yaml {
        serde_yaml_ng::from_str::<Yaml>(text).unwrap()
    }

    fn artifact(kind: &str, reference: &str, account: Option<&str>) -> ArtifactRef {
        ArtifactRef {
            kind: Some(kind.into()),
            reference: Some(reference.into()),
            artifact_account: account.map(str::to_string),
            ..Default::default()
        }
    }

    const CONFIG: &str = "
s3: {enabled: true, accounts: [{name: bucket, region: us-west-2}, {name: minio, apiEndpoint: 'http://minio:9000', apiRegion: us-east-1, awsAccessKeyId: AK, awsSecretAccessKey: SK}]}
http: {enabled: true, accounts: [{name: web}]}
github: {enabled: true, accounts: [{name: gh, token: t0ken, useContentAPI: true}, {name: ghe, tokenFile: /run/gh, token: ignored, urlRestrictions: {allowedDomains: ['ghe\\.example\\.com']}}]}
gitlab: {enabled: true, accounts: [{name: gl, token: glt}]}
bitbucket: {enabled: true, accounts: [{name: bb, username: u, password: p}, {name: bbt, token: bt}]}
";

    #[test]
    fn accounts_are_bound_as_clouddriver_binds_them() {
        let accounts = accounts(Some(&section(CONFIG))).unwrap();
        let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["embedded-artifact", "bucket", "minio", "web", "no-auth-http-account", "gh", "ghe", "gl", "bb", "bbt"]);
        let ghe = accounts.iter().find(|a| a.name == "ghe").unwrap();
        assert_eq!(ghe.auth.token, Some(Secret::File("/run/gh".into())), "tokenFile wins over token");
        let minio = accounts.iter().find(|a| a.name == "minio").unwrap();
        assert_eq!(minio.s3.api_endpoint.as_deref(), Some("http://minio:9000"));
        assert!(minio.s3.access_key.is_some());
        assert!(!format!("{minio:?}").contains("SK"), "secrets are not in Debug output");
        let disabled = accounts_of("github: {accounts: [{name: gh}]}\n");
        assert_eq!(disabled, ["embedded-artifact"], "a provider without enabled: true has no accounts");
    }

    fn accounts_of(text: &str) -> Vec<String> {
        accounts(Some(&section(text))).unwrap().into_iter().map(|a| a.name).collect()
    }

    #[test]
    fn configuration_problems_are_named_by_key() {
        let problems = accounts(Some(&section(
            "gcs: {enabled: true}\nweird: {}\ngithub: {enabled: true, accounts: [{name: a}, {name: a}, {token: x}]}\n",
        )))
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["artifacts.weird", "artifacts.github.accounts[1].name", "artifacts.github.accounts[2].name"],
            "gcs is Clouddriver's"
        );
        let (readable, _) = read_accounts(Some(&section("weird: {}\ngitlab: {enabled: true, accounts: [{name: gl}]}\n")));
        assert_eq!(readable.len(), 2, "the accounts that read are kept for the checks that report on each");
    }

    #[test]
    fn the_account_is_the_named_one_the_fallback_or_the_only_one() {
        let accounts = accounts(Some(&section(CONFIG))).unwrap();
        let pick = |a: &ArtifactRef, fallback: Option<&str>| choose_account(&accounts, a, fallback, "f").map(|a| a.name.clone());
        assert_eq!(pick(&artifact("gitlab/file", "https://x", None), None).unwrap(), "gl", "the only gitlab account");
        assert_eq!(pick(&artifact("s3/object", "s3://b/k", Some("minio")), None).unwrap(), "minio");
        assert_eq!(pick(&artifact("s3/object", "s3://b/k", None), Some("bucket")).unwrap(), "bucket", "taskDefinitionArtifactAccount");
        assert_eq!(pick(&artifact("s3/object", "s3://b/k", Some("minio")), Some("bucket")).unwrap(), "minio", "the artifact's own wins");
        let err = pick(&artifact("s3/object", "s3://b/k", None), None).unwrap_err();
        assert!(err.message.contains("bucket, minio"), "{}", err.message);
        let err = pick(&artifact("github/file", "https://x", Some("gl")), None).unwrap_err();
        assert!(err.message.contains("`gl` supporting artifact type `github/file` cannot be found"), "{}", err.message);
        let err = pick(&artifact("gcs/object", "gs://b/k", None), None).unwrap_err();
        assert_eq!(err.field, "f.type");
        assert_eq!(pick(&artifact("embedded/base64", "e30=", Some("whatever")), None).unwrap(), "embedded-artifact");
    }

    #[test]
    fn each_provider_fetches_as_clouddriver_does() {
        let accounts = accounts(Some(&section(CONFIG))).unwrap();
        let fetch = |name: &str, a: ArtifactRef| fetch_of(accounts.iter().find(|x| x.name == name).unwrap(), &a, "f");
        let s3 = fetch("bucket", ArtifactRef { version: Some("v1".into()), ..artifact("s3/object", "s3://b/path/td.json", None) });
        assert_eq!(s3.unwrap(), Fetch::S3 { bucket: "b".into(), key: "path/td.json".into(), version_id: Some("v1".into()) });
        assert!(
            fetch("bucket", artifact("s3/object", "s3://bucket-only", None)).unwrap_err().message.contains("s3://<bucket>/<file-path>")
        );
        let Fetch::Http { url, headers, then_download_url } =
            fetch("gh", artifact("github/file", "https://api.github.com/repos/o/r/contents/td.json", None)).unwrap()
        else {
            panic!()
        };
        assert_eq!(url, "https://api.github.com/repos/o/r/contents/td.json?ref=master");
        assert!(!then_download_url);
        assert_eq!(headers[0], ("Authorization", Header::Token { prefix: "token ", token: Secret::Inline("t0ken".into()) }));
        assert_eq!(headers[1], ("Accept", Header::Plain("application/vnd.github.v3.raw".into())));
        let Fetch::Http { url, then_download_url, .. } = fetch(
            "ghe",
            ArtifactRef {
                version: Some("release/1".into()),
                ..artifact("github/file", "https://ghe.example.com/api/v3/repos/o/r/contents/td.json", None)
            },
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(url, "https://ghe.example.com/api/v3/repos/o/r/contents/td.json?ref=release%2F1");
        assert!(then_download_url, "without useContentAPI the metadata's download_url is fetched");
        let Fetch::Http { headers, .. } =
            fetch("gl", artifact("gitlab/file", "https://gitlab.com/api/v4/projects/1/repository/files/td.json/raw", None)).unwrap()
        else {
            panic!()
        };
        assert_eq!(headers, [("Private-Token", Header::Token { prefix: "", token: Secret::Inline("glt".into()) })]);
        let Fetch::Http { headers, .. } = fetch("bbt", artifact("bitbucket/file", "https://bitbucket.org/x", None)).unwrap() else {
            panic!()
        };
        assert_eq!(headers.len(), 2, "a token: Bearer and Accept json");
        let Fetch::Http { headers, .. } = fetch("bb", artifact("bitbucket/file", "https://bitbucket.org/x", None)).unwrap() else {
            panic!()
        };
        assert!(matches!(&headers[0], ("Authorization", Header::Basic(Basic::Pair { .. }))));
        assert!(fetch("web", artifact("http/file", "ftp://x", None)).unwrap_err().message.contains("Malformed content URL"));
    }

    #[test]
    fn urls_are_shown_without_credentials_and_reach_only_what_the_account_may() {
        assert_eq!(shown_url("https://user:pa55@host:8443/path/td.json?token=x"), "https://host:8443/path/td.json");
        assert_eq!(scheme_and_host("HTTP://u:p@[::FFFF:a9fe:a9fe]:80/x"), Some(("http".into(), "::ffff:a9fe:a9fe".into())));
        assert_eq!(scheme_and_host("https://Example.com:8443/x?y"), Some(("https".into(), "example.com".into())));
        let accounts = accounts(Some(&section(CONFIG))).unwrap();
        let account = |name: &str| accounts.iter().find(|a| a.name == name).unwrap();
        let refused = |name: &str, url: &str| check_reach(account(name), url).unwrap_err();
        for url in ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/x", "http://127.0.0.1:8080/td.json", "http://10.0.0.1/x"]
        {
            assert!(refused("web", url).contains("`web` may not reach"), "{url}");
        }
        assert!(
            check_reach(account("web"), "https://files.example.com/td.json").is_ok(),
            "an account without credentials: any public host"
        );
        assert!(refused("gh", "https://evil.example.com/steal").contains("allowed domains"), "a token goes only to GitHub");
        assert!(check_reach(account("gh"), "https://raw.githubusercontent.com/o/r/main/td.json").is_ok());
        assert!(refused("ghe", "https://api.github.com/x").contains("allowed domains"), "GitHub Enterprise: only its own hosts");
        let intranet = accounts_of_config("http: {enabled: true, accounts: [{name: intranet, username: u, password: p}]}\n");
        assert!(
            check_reach(&intranet[1], "https://files.example.com/td.json").unwrap_err().contains("lists no urlRestrictions.allowedDomains")
        );
        let a = artifact("http/file", "http://169.254.169.254/latest/meta-data/iam/security-credentials/role", None);
        assert!(fetch_of(account("web"), &a, "f").unwrap_err().message.contains("link-local"));
    }

    fn accounts_of_config(text: &str) -> Vec<ArtifactAccount> {
        accounts(Some(&section(text))).unwrap()
    }

    #[test]
    fn artifact_accounts_take_permissions_and_url_restrictions() {
        let configured = accounts_of_config(
            "urlRestrictions: {rejectLocalhost: false, rejectVerbatimIps: false}\n\
             http: {enabled: true, accounts: [{name: intranet, username: u, password: p, permissions: {READ: [Payments]}, \
             urlRestrictions: {allowedDomains: ['127\\.0\\.0\\.1']}}]}\n",
        );
        let intranet = &configured[1];
        assert!(intranet.permissions.is_restricted());
        assert_eq!(intranet.permissions.roles(crate::core::access::Authorization::Read), ["payments"]);
        assert!(check_reach(intranet, "http://127.0.0.1:9000/td.json").is_ok(), "the section's keys under the account's own");
        assert!(check_reach(intranet, "http://localhost:9000/td.json").is_err(), "credentials only to the listed host");
        let problems = accounts(Some(&section(
            "urlRestrictions: {rejectLinkLocal: false}\nhttp: {enabled: true, accounts: [{name: a}, {name: b, urlRestrictions: {rejectedIps: [x]}}]}\n",
        )))
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["artifacts.urlRestrictions.rejectLinkLocal", "artifacts.http.accounts[1].urlRestrictions.rejectedIps"]);
    }

    #[test]
    fn documents_are_json_or_the_first_yaml_document() {
        assert_eq!(parse_document(b"{\"family\": \"a\"}", "x", "f").unwrap()["family"], "a");
        let yaml = b"family: web\ncontainerDefinitions:\n  - name: web\n    essential: true\n---\nfamily: second\n";
        assert_eq!(parse_document(yaml, "x", "f").unwrap()["family"], "web");
        assert!(parse_document(b"\xff\xfe", "x", "f").unwrap_err().message.contains("UTF-8"));
        assert!(parse_document(b"{unclosed: [", "x", "f").is_err());
    }
}
