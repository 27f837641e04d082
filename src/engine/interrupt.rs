//! Ctrl-C and SIGTERM, and a `serve` task's cancel. The first signal asks the running
//! operation to stop at the next step boundary: the AWS call in flight finishes, then the
//! operation undoes what it created (as on any failure) and reports what exists. A second signal
//! exits at once. A cancel (`PUT /task/{id}/cancel`) asks the same of one task only: its flag is
//! task-local, checked at the same boundaries.
//!
//! `serve` hands work over instead ([`enable_handover`]): when it stops (at once, or once the
//! grace is over), a task that may be continued elsewhere ([`may_hand_over`]) stops at its next
//! safe point ([`handing_over`], see `engine::deploy::handover`) without undoing anything; every
//! other task stops as above. A further signal stops the handed-over ones too, then exits.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tracing::warn;

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// `serve --shutdown-grace`: the first SIGTERM drains (nothing new starts, running work goes on)
/// for this long before it asks the running work to stop.
static GRACE_MS: AtomicU64 = AtomicU64::new(0);
static DRAINING: AtomicBool = AtomicBool::new(false);
/// `serve`: stopping hands the tasks that may be continued elsewhere over ([`HANDOVER`]) first.
static HANDOVER_ENABLED: AtomicBool = AtomicBool::new(false);
static HANDOVER: AtomicBool = AtomicBool::new(false);

/// Makes stopping hand work over before it undoes any (`serve`).
pub fn enable_handover() {
    HANDOVER_ENABLED.store(true, Ordering::SeqCst);
}

/// Sets the grace a first signal gives running work before it is asked to stop.
pub fn set_grace(grace: std::time::Duration) {
    GRACE_MS.store(grace.as_millis() as u64, Ordering::SeqCst);
}

/// True once the process is shutting down: draining, or asked to stop.
pub fn draining() -> bool {
    DRAINING.load(Ordering::SeqCst) || REQUESTED.load(Ordering::SeqCst) || HANDOVER.load(Ordering::SeqCst)
}

tokio::task_local! {
    static CANCELED: Arc<AtomicBool>;
    static MAY_HAND_OVER: bool;
}

/// True when the task this runs in may be continued elsewhere (see [`may_hand_over`]).
fn handover_able() -> bool {
    MAY_HAND_OVER.try_with(|may| *may).unwrap_or(false)
}

/// True once a stop was asked for: of the process, or of the task this runs in (a task that may
/// be handed over is asked to hand over instead: see [`handing_over`]).
pub fn requested() -> bool {
    CANCELED.try_with(|c| c.load(Ordering::SeqCst)).unwrap_or(false) || stopped(handover_able())
}

/// True once the process asks a task to stop (and undo): always after a further signal, and at
/// the hand-over already for a task that cannot be handed over.
pub fn stopped(may_hand_over: bool) -> bool {
    REQUESTED.load(Ordering::SeqCst) || (HANDOVER.load(Ordering::SeqCst) && !may_hand_over)
}

/// True once the task this runs in should stop at its next safe point and be handed over.
pub fn handing_over() -> bool {
    HANDOVER.load(Ordering::SeqCst) && handover_able()
}

/// Runs `work` as a task that may (or may not) be handed over when the process stops.
pub async fn may_hand_over<F: Future>(may: bool, work: F) -> F::Output {
    MAY_HAND_OVER.scope(may, work).await
}

/// Runs `work` so that setting `flag` stops it at its next step boundary, as an interrupt does.
pub async fn cancelable<F: Future>(flag: Arc<AtomicBool>, work: F) -> F::Output {
    CANCELED.scope(flag, work).await
}

/// Starts listening for Ctrl-C and SIGTERM on the current runtime.
pub fn listen() {
    tokio::spawn(async {
        loop {
            wait_for_signal().await;
            let grace = GRACE_MS.load(Ordering::SeqCst);
            if grace > 0 && !DRAINING.swap(true, Ordering::SeqCst) {
                warn!("shutting down: nothing new starts; running work has {}s to finish (signal again to stop it now)", grace / 1000);
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(grace)).await;
                    if !HANDOVER.load(Ordering::SeqCst) && !REQUESTED.load(Ordering::SeqCst) {
                        warn!("the shutdown grace is over");
                        stop();
                    }
                });
                continue;
            }
            stop();
        }
    });
}

/// One step further in stopping: hand over (when enabled), then stop and undo, then exit.
fn stop() {
    if HANDOVER_ENABLED.load(Ordering::SeqCst) && !HANDOVER.swap(true, Ordering::SeqCst) {
        return warn!(
            "stopping: running deploys are handed over at their next safe point (another replica, or the next start, continues them); \
             other work stops at its next step (signal again to stop everything)"
        );
    }
    if REQUESTED.swap(true, Ordering::SeqCst) {
        warn!("second interrupt: exiting now; what was created so far stays");
        std::process::exit(130);
    }
    warn!("interrupt received: finishing the AWS call in flight, then cleaning up (interrupt again to exit at once)");
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// The error a step boundary returns once a stop was asked for.
pub fn error() -> crate::core::error::AwsError {
    crate::core::error::AwsError::interrupted()
}
