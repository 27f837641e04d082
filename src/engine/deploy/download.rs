//! A referenced task definition artifact, downloaded while the sessions open and the first
//! attempt observes: one shared read (see [`super::source::driving`]), dropped with the deploy.

use futures::FutureExt;
use futures::future::{LocalBoxFuture, Shared};

use crate::core::error::Result;
use crate::core::request::DeployRequest;
use crate::engine::artifacts;

/// The prepared request and, once awaited, the request with its artifact read in.
pub(super) struct Download<'a> {
    /// The request as prepared: its artifact may still be downloading.
    pub(super) prepared: &'a DeployRequest,
    resolved: Shared<LocalBoxFuture<'a, Result<DeployRequest>>>,
}

impl<'a> Download<'a> {
    /// Starts (on the first poll) the download of `prepared`'s artifact, if it references one.
    pub(super) fn start(prepared: &'a DeployRequest) -> Download<'a> {
        let resolved = match prepared.pending_download() {
            Some(_) => artifacts::resolve(prepared.clone()).boxed_local().shared(),
            None => futures::future::ready(Ok(prepared.clone())).boxed_local().shared(),
        };
        Download { prepared, resolved }
    }

    /// The download itself, to be driven alongside other work.
    pub(super) fn progress(&self) -> impl Future + 'a {
        self.resolved.clone()
    }

    /// The request to plan with: the prepared one, with its artifact once downloaded.
    pub(super) async fn request(&self) -> Result<DeployRequest> {
        self.resolved.clone().await
    }

    /// Whether observing AWS for the downloaded request `req` reads what observing for the
    /// prepared one read (an artifact's network mode or task role can change that).
    pub(super) fn same_observation(&self, req: &DeployRequest) -> bool {
        self.prepared.is_awsvpc() == req.is_awsvpc() && self.prepared.iam_role_to_resolve() == req.iam_role_to_resolve()
    }
}
