//! Ctrl-C and SIGTERM, and a `serve` task's cancel. The first signal asks the running
//! operation to stop at the next step boundary: the AWS call in flight finishes, then the
//! operation undoes what it created (as on any failure) and reports what exists. A second signal
//! exits at once. A cancel (`PUT /task/{id}/cancel`) asks the same of one task only: its flag is
//! task-local, checked at the same boundaries.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tracing::warn;

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// `serve --shutdown-grace`: the first SIGTERM drains (nothing new starts, running work goes on)
/// for this long before it asks the running work to stop.
static GRACE_MS: AtomicU64 = AtomicU64::new(0);
static DRAINING: AtomicBool = AtomicBool::new(false);

/// Sets the grace a first signal gives running work before it is asked to stop.
pub fn set_grace(grace: std::time::Duration) {
    GRACE_MS.store(grace.as_millis() as u64, Ordering::SeqCst);
}

/// True once the process is shutting down: draining, or asked to stop.
pub fn draining() -> bool {
    DRAINING.load(Ordering::SeqCst) || REQUESTED.load(Ordering::SeqCst)
}

tokio::task_local! {
    static CANCELED: Arc<AtomicBool>;
}

/// True once a stop was asked for: of the process, or of the task this runs in.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst) || CANCELED.try_with(|c| c.load(Ordering::SeqCst)).unwrap_or(false)
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
                    if !REQUESTED.swap(true, Ordering::SeqCst) {
                        warn!("the shutdown grace is over: stopping the running work at its next step");
                    }
                });
                continue;
            }
            if REQUESTED.swap(true, Ordering::SeqCst) {
                warn!("second interrupt: exiting now; what was created so far stays");
                std::process::exit(130);
            }
            warn!("interrupt received: finishing the AWS call in flight, then cleaning up (interrupt again to exit at once)");
        }
    });
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
