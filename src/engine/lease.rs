//! A task's lease as the engine honours it: the AWS writes of work run under [`fenced`] are sent
//! only while its [`Fence`] is open (see [`crate::aws::fence`]); the task runner extends the
//! fence with each renewal of the lease and closes it when the lease is lost.

use std::future::Future;

pub use crate::aws::fence::Fence;

/// Runs `work` with its AWS writes fenced by `fence`.
pub async fn fenced<F: Future>(fence: Fence, work: F) -> F::Output {
    crate::aws::fence::scope(fence, work).await
}
