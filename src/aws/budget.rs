//! The AWS request budget of an account (issue #30): at most `aws_concurrency` requests of one
//! AWS account in flight in this process — deploys, lifecycle operations and reads together —
//! with a quarter of them kept for writes (reads wait for a read slot first, so reads yield to
//! writes when the budget is short). Enforced around the HTTP connector every SDK client of the
//! account's sessions shares, so no call path can bypass it; each retry attempt takes a slot too.
//! With the SDK's adaptive retry mode (client-side rate limiting) this keeps bursts from turning
//! into ThrottlingExceptions users see.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Semaphore;

/// One account's slots.
#[derive(Debug)]
struct Budget {
    all: Arc<Semaphore>,
    reads: Arc<Semaphore>,
}

/// The budgets of the accounts this process has used (process-wide state: one per AWS account,
/// shared by every session of it).
static BUDGETS: Mutex<Vec<(String, Arc<Budget>)>> = Mutex::new(Vec::new());

fn budget_of(account_id: &str) -> Arc<Budget> {
    let mut budgets = crate::core::sync::lock(&BUDGETS);
    if let Some((_, b)) = budgets.iter().find(|(id, _)| id == account_id) {
        return b.clone();
    }
    let limit = crate::core::settings::get().aws_concurrency.max(2);
    let budget = Arc::new(Budget { all: Arc::new(Semaphore::new(limit)), reads: Arc::new(Semaphore::new(limit - (limit / 4).max(1))) });
    budgets.push((account_id.to_string(), budget.clone()));
    budget
}

/// Whether a request only reads: its operation (`X-Amz-Target`'s, or a query's `Action`) starts
/// with Describe, List or Get.
fn is_read(request: &HttpRequest) -> bool {
    let target = request.headers().get("x-amz-target").map(|t| t.rsplit('.').next().unwrap_or(t).to_string());
    let action = || {
        let body = std::str::from_utf8(request.body().bytes()?).ok()?;
        body.split('&').find_map(|kv| kv.strip_prefix("Action=")).map(str::to_string)
    };
    target.or_else(action).is_some_and(|op| ["Describe", "List", "Get"].iter().any(|p| op.starts_with(p)))
}

/// `inner` with `account_id`'s budget around every request.
pub(crate) fn budgeted(inner: SharedHttpClient, account_id: &str) -> SharedHttpClient {
    SharedHttpClient::new(Budgeted { inner, budget: budget_of(account_id) })
}

#[derive(Debug)]
struct Budgeted {
    inner: SharedHttpClient,
    budget: Arc<Budget>,
}

impl HttpClient for Budgeted {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(BudgetedConnector { inner: self.inner.http_connector(settings, components), budget: self.budget.clone() })
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct BudgetedConnector {
    inner: SharedHttpConnector,
    budget: Arc<Budget>,
}

impl HttpConnector for BudgetedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, budget, read) = (self.inner.clone(), self.budget.clone(), is_read(&request));
        HttpConnectorFuture::new(async move {
            // Semaphores that are never closed: acquiring cannot fail.
            let _read = match read {
                true => budget.reads.clone().acquire_owned().await.ok(),
                false => None,
            };
            let _slot = budget.all.clone().acquire_owned().await.ok();
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::body::SdkBody;

    #[test]
    fn reads_are_told_from_writes_by_their_operation() {
        let json = |target: &str| {
            let mut r = HttpRequest::new(SdkBody::empty());
            r.headers_mut().insert("X-Amz-Target", target.to_string());
            r
        };
        let query = |body: &str| HttpRequest::new(SdkBody::from(body.to_string()));
        assert!(is_read(&json("AmazonEC2ContainerServiceV20141113.DescribeServices")));
        assert!(!is_read(&json("AmazonEC2ContainerServiceV20141113.CreateService")));
        assert!(is_read(&query("Action=DescribeRules&Version=2015-12-01")));
        assert!(!is_read(&query("Version=2015-12-01&Action=ModifyRule")));
    }
}
