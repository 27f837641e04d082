//! Ctrl-C and SIGTERM. The first signal asks the running operation to stop at the next step
//! boundary: the AWS call in flight finishes, then the operation undoes what it created (as on
//! any failure) and reports what exists. A second signal exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing::warn;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// True once a stop was asked for.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Starts listening for Ctrl-C and SIGTERM on the current runtime.
pub fn listen() {
    tokio::spawn(async {
        loop {
            wait_for_signal().await;
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
