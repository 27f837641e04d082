//! The audit log: one JSON line for every state-changing request and every denial — when, who
//! (principal, the user acted for, the source address), what (method, path, accounts, operation
//! names), the task and the outcome. To `--audit-file` (appended, created 0600, each line in one
//! write) or, by default, to stderr under the `ecs_deployer::audit` log target. Never a token,
//! a header's value other than the user's name, or a body.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::core::error::{Error, Result};

/// One audited request.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub time: String,
    /// Who authenticated; None when nobody did.
    pub principal: Option<String>,
    pub on_behalf_of: Option<String>,
    pub source: String,
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// The operations told to go on past the checks that a group can serve (blue-green.md §9.3).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forced: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// `accepted`, `repeated`, `denied`, `invalid`, `conflict`, `unauthenticated`, `refused`,
    /// `failed`, `fetched`, `signed-in`, `signed-out`; for `serve`'s own work (principal
    /// `serve`): `undone` (a task's creations removed at start-up, by adoption or on SIGTERM),
    /// `handed-over` (a running task queued again when its replica stopped).
    pub outcome: &'static str,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Where audit lines go.
pub enum Audit {
    Stderr,
    /// The file and its path (opened again on SIGHUP, after logrotate moved it).
    File(Mutex<std::fs::File>, PathBuf),
}

fn open_append(path: &Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| Error::Config(format!("--audit-file {}: {e}", path.display())))
}

impl Audit {
    /// Appends to `path`, creating it readable by its owner only.
    pub fn open(path: &Path) -> Result<Audit> {
        Ok(Audit::File(Mutex::new(open_append(path)?), path.to_path_buf()))
    }

    /// Opens the file again by its path (SIGHUP: logrotate moved the old one away); when that
    /// fails the old file stays in use. None when the log goes to stderr.
    pub fn reopen(&self) -> Option<Result<()>> {
        let Audit::File(file, path) = self else { return None };
        Some(open_append(path).map(|new| *crate::core::sync::lock(file) = new))
    }

    /// Writes one event.
    pub fn record(&self, mut event: Event) {
        event.time = crate::core::time::now_rfc3339();
        let line = serde_json::to_string(&event).unwrap_or_default();
        match self {
            Audit::Stderr => tracing::info!(target: "ecs_deployer::audit", "audit {line}"),
            Audit::File(file, _) => {
                let mut file = crate::core::sync::lock(file);
                if let Err(e) = file.write_all(format!("{line}\n").as_bytes()) {
                    tracing::error!("writing the audit log: {e}; the event: {line}");
                }
            }
        }
    }
}
