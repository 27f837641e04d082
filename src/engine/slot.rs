//! Worker slots during waits: `serve` runs at most `--max-running` tasks at once, but a task that
//! only waits — for a restored server group to become healthy, for a red/black's new group —
//! holds no slot while it waits. `serve` gives each task a [`WaitSlot`]; the engine's waits run
//! inside [`while_waiting`], which gives the slot back for the wait and takes one again after.
//! Outside `serve` (the CLI) there is no slot and a wait just runs.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;

/// A task's worker slot, as `serve` hands it to the engine.
pub trait WaitSlot: Send + Sync {
    /// Gives the slot back (another task may run meanwhile).
    fn release(&self);
    /// Takes a slot again (waits for one when every slot is busy).
    fn reacquire(&self) -> BoxFuture<'static, ()>;
}

tokio::task_local! {
    static SLOT: Arc<dyn WaitSlot>;
}

/// Runs `work` with `slot` as the task's worker slot.
pub async fn scope<F: Future>(slot: Arc<dyn WaitSlot>, work: F) -> F::Output {
    SLOT.scope(slot, work).await
}

/// Runs a wait without holding the task's worker slot.
pub async fn while_waiting<F: Future>(wait: F) -> F::Output {
    let slot = SLOT.try_with(Arc::clone).ok();
    if let Some(slot) = &slot {
        slot.release();
    }
    let out = wait.await;
    if let Some(slot) = slot {
        slot.reacquire().await;
    }
    out
}
