//! The lease fence: inside `serve`, a task's AWS writes are sent only while the replica still
//! holds the task's lease. The replica extends the fence each time it renews the lease (to when
//! the renewal started plus the lease), and every write call checks it first; a replica cut off
//! from its store (a database failover, a frozen process) stops before its next write, and never
//! completes work another replica may have adopted (adoption waits for the lease and the longest
//! AWS call on top, so a write sent before the fence closed has ended). Outside a fenced scope (the
//! CLI) every write passes.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::core::error::AwsError;

tokio::task_local! {
    static FENCE: Fence;
}

/// Until when (epoch ms) the scope may write.
#[derive(Debug, Clone)]
pub struct Fence(Arc<AtomicI64>);

impl Fence {
    pub fn until(until_ms: i64) -> Fence {
        Fence(Arc::new(AtomicI64::new(until_ms)))
    }

    /// Moves the end of the fence (a renewal that succeeded); never backwards.
    pub fn extend(&self, until_ms: i64) {
        self.0.fetch_max(until_ms, Ordering::SeqCst);
    }

    /// Closes the fence at once (the replica learnt it no longer holds the task).
    pub fn close(&self) {
        self.0.store(i64::MIN, Ordering::SeqCst);
    }

    fn open_at(&self, now_ms: i64) -> bool {
        now_ms < self.0.load(Ordering::SeqCst)
    }
}

/// Runs `work` with its AWS writes fenced.
pub async fn scope<F: Future>(fence: Fence, work: F) -> F::Output {
    FENCE.scope(fence, work).await
}

/// Every write call's first step: an error naming the write when the fence is closed.
pub(crate) fn check(operation: &str) -> Result<(), AwsError> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default();
    match FENCE.try_with(|f| f.open_at(now)) {
        Ok(false) => {
            let message = "not sent: this serve replica could not renew its lease on the task, so another replica may have \
                           taken it over; the adopting replica undoes and reports it";
            tracing::warn!("{operation} {message}");
            Err(AwsError { operation: operation.to_string(), code: Some(LEASE_LOST.into()), message: message.into() })
        }
        _ => Ok(()),
    }
}

/// The error code of a write the fence stopped.
pub const LEASE_LOST: &str = "LeaseLost";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn writes_pass_only_while_the_fence_is_open() {
        assert!(check("ecs:CreateService").is_ok(), "outside a scope (the CLI) every write passes");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let fence = Fence::until(now + 60_000);
        scope(fence.clone(), async {
            assert!(check("ecs:CreateService").is_ok());
            fence.extend(now - 1);
            assert!(check("ecs:CreateService").is_ok(), "extending never moves the end backwards");
            fence.close();
            let refused = check("ecs:CreateService").unwrap_err();
            assert_eq!(refused.code.as_deref(), Some(LEASE_LOST));
        })
        .await;
        let expired = Fence::until(now - 1);
        scope(expired, async { assert!(check("ecs:UpdateService").is_err()) }).await;
    }
}
