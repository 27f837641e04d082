//! Every AWS request attempt counted in [`crate::core::metrics`] by service, operation and
//! outcome: `ok`, `throttled` (a 429, or an error whose code says throttling), `error`.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Metered;

impl Intercept for Metered {
    fn name(&self) -> &'static str {
        "Metered"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg.load::<Metadata>().map_or(("unknown", "unknown"), |m| (m.service(), m.name()));
        let outcome = match context.response() {
            Some(r) if r.status().is_success() => "ok",
            Some(r) if r.status().as_u16() == 429 => "throttled",
            Some(r) => {
                let body = r.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
                let header = r.headers().get("x-amzn-errortype").unwrap_or_default();
                if body.contains("Throttl") || header.contains("Throttl") || body.contains("TooManyRequests") {
                    "throttled"
                } else {
                    "error"
                }
            }
            None => "error",
        };
        crate::core::metrics::aws_request(service, operation, outcome);
        Ok(())
    }
}
