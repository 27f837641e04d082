//! Status lines of the operation in flight ("Creating Amazon ECS Task Definition...", "Disabling
//! … server group for …"), the lines Clouddriver writes into a task's history. The engine calls
//! [`status`]; the line goes to the log and, when the operation runs inside [`scope`] (the `ops`
//! command and `serve`), to that task's history as well. Task-local, so the engine's functions
//! need no extra parameter and concurrent tasks never see each other's lines.
//!
//! The same way, a deploy says which server group it is about to create ([`creating`]) before
//! its first write; `serve` stores it, so that after a crash it knows what to undo.

use std::future::Future;
use std::sync::Arc;

use tracing::info;

tokio::task_local! {
    static JOURNAL: Journal;
}

/// Where the status lines of one task go.
#[derive(Clone)]
pub struct Journal(Arc<dyn Fn(&str) + Send + Sync>);

impl Journal {
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Journal(Arc::new(f))
    }
}

/// A server group a deploy is about to create, said before its first write.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Creating {
    pub account: String,
    pub region: String,
    pub ecs_cluster: String,
    pub server_group: String,
    /// The crash marker it will carry (None where the account cannot tag services): a service of
    /// that name with this marker is this deploy's, and incomplete.
    pub marker: Option<String>,
}

/// Where a task's [`Creating`]s go; its future ends once they are stored (Err: they could not be).
pub type CreatingSink = Arc<dyn Fn(Creating) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>>>>>;

tokio::task_local! {
    static CREATING: CreatingSink;
}

/// Says that the deploy is about to create `c`; returns once that is stored (at once outside `serve`).
pub async fn creating(c: Creating) -> Result<(), String> {
    match CREATING.try_with(Clone::clone) {
        Ok(sink) => sink(c).await,
        Err(_) => Ok(()),
    }
}

/// Runs `f` with what it is about to create going to `sink`.
pub async fn recording_creates<F: Future>(sink: CreatingSink, f: F) -> F::Output {
    CREATING.scope(sink, f).await
}

tokio::task_local! {
    static OWNER: String;
}

/// Who runs the operation in flight (a `serve` task's id), when it runs inside [`owned_by`]: the
/// owner a traffic journal names, so only that task's adoption restores it.
pub fn owner() -> Option<String> {
    OWNER.try_with(Clone::clone).ok()
}

/// Runs `f` as `owner`'s work.
pub async fn owned_by<F: Future>(owner: String, f: F) -> F::Output {
    OWNER.scope(owner, f).await
}

/// Records one status line of the operation in flight.
pub fn status(line: impl AsRef<str>) {
    let line = line.as_ref();
    info!("{line}");
    let _ = JOURNAL.try_with(|j| (j.0)(line));
}

/// Runs `f` with its status lines going to `journal`.
pub async fn scope<F: Future>(journal: Journal, f: F) -> F::Output {
    JOURNAL.scope(journal, f).await
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test]
    async fn lines_reach_only_their_own_scope() {
        let a = Arc::new(Mutex::new(Vec::<String>::new()));
        let b = Arc::new(Mutex::new(Vec::<String>::new()));
        let (a2, b2) = (a.clone(), b.clone());
        let ja = Journal::new(move |l| crate::core::sync::lock(&a2).push(l.to_string()));
        let jb = Journal::new(move |l| crate::core::sync::lock(&b2).push(l.to_string()));
        tokio::join!(
            scope(ja, async {
                status("one");
                tokio::task::yield_now().await;
                status("two");
            }),
            scope(jb, async { status("three") }),
        );
        status("outside");
        assert_eq!(*crate::core::sync::lock(&a), ["one", "two"]);
        assert_eq!(*crate::core::sync::lock(&b), ["three"]);
    }
}
