//! Named locks that serialise what must not interleave: the version allocation of one cluster
//! (from the read of the taken names until CreateService took the new one) and the operations
//! on one server group (disable, enable, resize, destroy, and a deploy while it creates it).
//!
//! Within one process (`serve` runs many tasks at once) a lock is an async mutex per name. When
//! the process runs inside [`across`] — `serve` on PostgreSQL, several replicas — the lock is also
//! taken in the shared store, so the replicas exclude each other too. The CLI has no such store:
//! its lifecycle commands re-read what they wrote and fail loudly when another one interleaved.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex};

/// A held lock; dropping it releases the lock.
pub struct Guard {
    // Released in this order: across replicas first, then in this process.
    _shared: Option<Box<dyn std::any::Any>>,
    _local: tokio::sync::OwnedMutexGuard<()>,
}

/// Takes the lock of `name` in a store shared by replicas; the returned value releases it when
/// dropped. Err: the store could not be reached (the operation then does not start).
pub type SharedLocks = Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<Box<dyn std::any::Any>, String>>>>>;

tokio::task_local! {
    static SHARED: SharedLocks;
}

/// Runs `f` with its locks also taken in `shared`.
pub async fn across<F: Future>(shared: SharedLocks, f: F) -> F::Output {
    SHARED.scope(shared, f).await
}

/// Waits for the lock of `name` (in this process, then across replicas when there are any).
pub async fn lock(name: &str) -> Result<Guard, String> {
    static LOCAL: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);
    let mutex = {
        let mut all = crate::core::sync::lock(&LOCAL);
        all.retain(|_, m| Arc::strong_count(m) > 1);
        all.entry(name.to_string()).or_default().clone()
    };
    let local = mutex.lock_owned().await;
    let shared = match SHARED.try_with(Clone::clone) {
        Ok(shared) => Some(shared(name.to_string()).await?),
        Err(_) => None,
    };
    Ok(Guard { _shared: shared, _local: local })
}

/// [`lock`], its failure an operation failure whose report is `unchanged` (what stands as it was).
pub async fn take(name: &str, unchanged: &str) -> crate::core::error::Result<Guard> {
    lock(name).await.map_err(|e| crate::core::error::Error::Failed {
        message: format!("could not take the lock {name}: {e}"),
        report: vec![unchanged.to_string()],
    })
}

/// The lock name of the version allocation of a cluster.
pub fn allocation(account: &str, region: &str, ecs_cluster: &str, cluster: &str) -> String {
    format!("allocate/{account}/{region}/{ecs_cluster}/{cluster}")
}

/// The lock of the traffic writes to one listener rule (or listener default action).
pub fn rule(arn: &str) -> String {
    format!("elbv2:{arn}")
}

/// The lock name of the operations on a server group.
pub fn server_group(account: &str, region: &str, ecs_cluster: &str, server_group: &str) -> String {
    format!("server-group/{account}/{region}/{ecs_cluster}/{server_group}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_per_name_and_other_names_go_on() {
        let first = lock("a").await.unwrap();
        let other = tokio::time::timeout(std::time::Duration::from_secs(1), lock("b")).await;
        assert!(other.is_ok(), "another name is not held up");
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), lock("a")).await;
        assert!(waiting.is_err(), "the same name waits");
        drop(first);
        assert!(tokio::time::timeout(std::time::Duration::from_secs(1), lock("a")).await.is_ok());
    }
}
