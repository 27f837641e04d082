//! A loopback fake of the HTTP artifact stores (a plain web server, GitHub's contents API and raw
//! host, GitLab's repository files API, Bitbucket's src API) for the artifact tests. Each route
//! checks the credentials and the request shape its API expects and answers in one write with
//! `TCP_NODELAY`; fault routes answer 404, 403, a 500 before a 200, an answer slower than the
//! client's timeout, or a body larger than its limit; `/redirect?to=URL` answers 302 to URL.
//! Every request is recorded.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

pub const HTTP_USER: &str = "deployer";
pub const HTTP_PASSWORD: &str = "http-pa55word";
pub const GITHUB_TOKEN: &str = "ghp_secret_token_1234";
pub const GITLAB_TOKEN: &str = "glpat-secret-5678";
pub const BITBUCKET_TOKEN: &str = "bb-secret-9012";

/// One request as the fake saw it: the target (path and query) and the headers, names lowercased.
#[derive(Debug, Clone)]
pub struct Seen {
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

pub struct FakeStore {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

struct Shared {
    port: u16,
    json: String,
    yaml: String,
    counts: Mutex<HashMap<String, u32>>,
}

impl FakeStore {
    /// Serves `json` (and a YAML rendering of it at the `.yaml` routes) on a free port.
    pub fn start(json: &serde_json::Value) -> FakeStore {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared {
            port,
            json: json.to_string(),
            yaml: serde_yaml_ng::to_string(json).unwrap(),
            counts: Mutex::new(HashMap::new()),
        });
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (shared, log) = (shared.clone(), log.clone());
                std::thread::spawn(move || serve_one(stream, &shared, &log));
            }
        });
        FakeStore { port, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The requests whose target starts with `prefix`.
    pub fn seen(&self, prefix: &str) -> Vec<Seen> {
        self.seen.lock().unwrap().iter().filter(|s| s.target.starts_with(prefix)).cloned().collect()
    }
}

fn serve_one(mut stream: TcpStream, shared: &Shared, log: &Mutex<Vec<Seen>>) {
    stream.set_nodelay(true).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = head.split("\r\n");
    let target = lines.next().unwrap_or_default().split_whitespace().nth(1).unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string())))
        .collect();
    let seen = Seen { target: target.clone(), headers };
    log.lock().unwrap().push(seen.clone());
    if let Some(to) = target.strip_prefix("/redirect?to=") {
        let to = percent_encoding::percent_decode_str(to).decode_utf8_lossy().into_owned();
        let out = format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let _ = stream.write_all(out.as_bytes());
        return;
    }
    let (status, content_type, body, declared) = answer(&seen, shared);
    let length = declared.unwrap_or(body.len());
    let mut out =
        format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n").into_bytes();
    out.extend_from_slice(body.as_bytes());
    let _ = stream.write_all(&out);
}

fn basic_ok(seen: &Seen) -> bool {
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{HTTP_USER}:{HTTP_PASSWORD}")));
    seen.header("authorization") == Some(expected.as_str())
}

type Answer = (&'static str, &'static str, String, Option<usize>);

fn content(shared: &Shared, yaml: bool) -> Answer {
    if yaml { ("200 OK", "application/yaml", shared.yaml.clone(), None) } else { ("200 OK", "application/json", shared.json.clone(), None) }
}

fn unauthorized() -> Answer {
    ("401 Unauthorized", "application/json", "{\"message\": \"Bad credentials\"}".into(), None)
}

fn answer(seen: &Seen, shared: &Shared) -> Answer {
    let (path, query) = seen.target.split_once('?').unwrap_or((&seen.target, ""));
    let git_ref = query.split('&').find_map(|kv| kv.strip_prefix("ref=")).unwrap_or_default().to_string();
    match path {
        "/http/td.json" | "/http/td.yaml" if basic_ok(seen) => content(shared, path.ends_with(".yaml")),
        "/http/td.json" | "/http/td.yaml" => unauthorized(),
        "/github/repos/o/r/contents/td.json" => {
            if seen.header("authorization") != Some(&format!("token {GITHUB_TOKEN}")) {
                return unauthorized();
            }
            if seen.header("accept") == Some("application/vnd.github.v3.raw") {
                return content(shared, false);
            }
            let download = format!("http://127.0.0.1:{}/raw/o/r/{git_ref}/td.json", shared.port);
            ("200 OK", "application/json", serde_json::json!({"name": "td.json", "download_url": download}).to_string(), None)
        }
        p if p.starts_with("/raw/o/r/") => content(shared, false),
        "/gitlab/api/v4/projects/7/repository/files/td.json/raw" if seen.header("private-token") == Some(GITLAB_TOKEN) => {
            content(shared, false)
        }
        "/gitlab/api/v4/projects/7/repository/files/td.json/raw" => unauthorized(),
        "/bitbucket/2.0/repositories/o/r/src/main/td.json"
            if seen.header("authorization") == Some(&format!("Bearer {BITBUCKET_TOKEN}"))
                && seen.header("accept") == Some("application/json") =>
        {
            content(shared, false)
        }
        "/bitbucket/2.0/repositories/o/r/src/main/td.json" => unauthorized(),
        "/faults/missing.json" => ("404 Not Found", "text/plain", "not found".into(), None),
        "/faults/forbidden.json" => ("403 Forbidden", "text/plain", "forbidden".into(), None),
        "/faults/flaky.json" => {
            let mut counts = shared.counts.lock().unwrap();
            let n = counts.entry(path.to_string()).or_insert(0);
            *n += 1;
            if *n == 1 { ("500 Internal Server Error", "text/plain", "try again".into(), None) } else { content(shared, false) }
        }
        "/faults/slow-after-first.json" => {
            let n = {
                let mut counts = shared.counts.lock().unwrap();
                let n = counts.entry(path.to_string()).or_insert(0);
                *n += 1;
                *n
            };
            if n > 1 {
                std::thread::sleep(Duration::from_secs(10));
            }
            content(shared, false)
        }
        "/faults/slow.json" => {
            std::thread::sleep(Duration::from_secs(5));
            content(shared, false)
        }
        "/faults/huge.json" => ("200 OK", "application/json", "{".into(), Some(9 * 1024 * 1024)),
        _ => ("404 Not Found", "text/plain", format!("no route {path}"), None),
    }
}
