//! Read-your-writes across replicas (issue #30): when a task's writes end (or a forced cache
//! refresh asks), the replica discards the account's read views and, on PostgreSQL, announces it
//! with `NOTIFY ecs_deployer_views, '<account>'` before the task reads as finished; every replica
//! `LISTEN`s on its store connection and discards the same views, so a read through replica B
//! after a write through replica A sees the write, not a view up to the TTL old.

use std::sync::{Arc, LazyLock};

use tokio::sync::broadcast;
use tracing::{error, warn};

use super::App;
use super::store::Store;

/// The channel of the store connection's notifications (process-wide: the connection's driver
/// is spawned where the store opens, before any `App` exists).
static CHANGED: LazyLock<broadcast::Sender<String>> = LazyLock::new(|| broadcast::channel(1024).0);

const CHANNEL: &str = "ecs_deployer_views";

/// A notification the store connection received on the views channel: an account's views changed.
pub(super) fn notified(channel: &str, payload: &str) {
    if channel == CHANNEL {
        let _ = CHANGED.send(payload.to_string());
    }
}

/// Discards `account`'s views here and, on PostgreSQL, on every replica.
pub(super) async fn changed(app: &App, account: &str) {
    app.reader.invalidate(account);
    if let Store::Postgres(client) = &app.store
        && let Err(e) = client.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &account]).await
    {
        warn!("could not tell the other replicas that {account}'s views changed (they refresh within the read TTL): {e}");
    }
}

/// Listens for the other replicas' announcements and discards the views they name.
pub(super) async fn listen(app: Arc<App>) {
    let Store::Postgres(client) = &app.store else { return };
    let mut changes = CHANGED.subscribe();
    if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
        return error!("LISTEN {CHANNEL}: {e}; read views of other replicas' writes refresh within the read TTL");
    }
    loop {
        match changes.recv().await {
            Ok(account) => app.reader.invalidate(&account),
            // Missed announcements: every view may be stale.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                for account in app.config.ecs_account_names() {
                    app.reader.invalidate(account);
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
