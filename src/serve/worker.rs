//! The worker: claims queued tasks (each principal within its share) and runs each with the same
//! engine as the `ops` command, its AWS writes fenced by its lease, its waits holding no worker
//! slot, its progress saved (and its lease renewed, and a cancel read) as it goes; what a deploy is
//! about to create is stored before its first write; operations exclude each other across
//! replicas through PostgreSQL's advisory locks; finished tasks are pruned.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tracing::{error, info, warn};

use super::adoption::*;
use super::store::{self, Claimed, Store};
use super::{App, now_ms};
use crate::core::error::Error;
use crate::engine::lifecycle::Quiet;
use crate::engine::operations::list::{self as ops, TaskState};

/// A running task's cancel: the flag its steps check, and who set it.
#[derive(Default)]
pub(super) struct Canceled {
    flag: Arc<std::sync::atomic::AtomicBool>,
    by: std::sync::Mutex<Option<String>>,
}

impl Canceled {
    /// Cancels on behalf of `by`; false when it was canceled already.
    pub(super) fn set(&self, by: &str) -> bool {
        let first = !self.flag.swap(true, std::sync::atomic::Ordering::SeqCst);
        if first {
            *crate::core::sync::lock(&self.by) = Some(by.to_string());
        }
        first
    }
}

/// Claims queued tasks while there is a free slot, and marks abandoned ones failed.
pub(super) async fn worker(app: Arc<App>, slots: Arc<Semaphore>, poll: Duration) {
    let mut next_sweep = tokio::time::Instant::now();
    let mut next_prune = tokio::time::Instant::now();
    loop {
        // Shutting down: nothing new is claimed (another replica, or the next start, runs it).
        if crate::engine::interrupt::draining() {
            return;
        }
        if tokio::time::Instant::now() >= next_sweep {
            next_sweep = tokio::time::Instant::now() + app.lease / 2;
            let app = app.clone();
            // A lease that ended may still cover a write sent just before: wait for the longest AWS call.
            let grace = crate::core::settings::get().aws_call_timeout.as_millis() as i64;
            tokio::task::spawn_local(async move { adopt_abandoned(&app, now_ms() - grace).await });
        }
        if tokio::time::Instant::now() >= next_prune {
            next_prune = tokio::time::Instant::now() + PRUNE_EVERY;
            let app = app.clone();
            tokio::task::spawn_local(async move { prune(&app).await });
        }
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let lease_until = now_ms() + app.lease.as_millis() as i64;
        match app.store.claim(&app.replica, lease_until, app.max_running_per_principal).await {
            Ok(Some(claimed)) => {
                let app = app.clone();
                let slot = TaskSlot::new(slots.clone(), slot);
                tokio::task::spawn_local(async move {
                    run_task(app, claimed, crate::engine::lease::Fence::until(lease_until), slot).await;
                });
            }
            Ok(None) => {
                drop(slot);
                tokio::select! {
                    _ = app.wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
            Err(e) => {
                drop(slot);
                error!("{e}");
                tokio::time::sleep(poll.max(Duration::from_secs(1))).await;
            }
        }
    }
}

/// A running task's worker slot, given back while it only waits (see [`crate::engine::slot`]);
/// dropped with the task.
pub(super) struct TaskSlot {
    semaphore: Arc<Semaphore>,
    held: std::sync::Mutex<Option<tokio::sync::OwnedSemaphorePermit>>,
}

impl TaskSlot {
    fn new(semaphore: Arc<Semaphore>, permit: tokio::sync::OwnedSemaphorePermit) -> Arc<TaskSlot> {
        Arc::new(TaskSlot { semaphore, held: std::sync::Mutex::new(Some(permit)) })
    }
}

/// A task this replica runs, until dropped at the end of [`run_task`].
pub(super) struct RunningTask {
    app: Arc<App>,
    id: String,
    _slot: Arc<TaskSlot>,
}

impl Drop for RunningTask {
    fn drop(&mut self) {
        crate::core::sync::lock(&self.app.running).remove(&self.id);
    }
}

/// The engine's handle on a [`TaskSlot`].
pub(super) struct SlotHandle(Arc<TaskSlot>);

impl crate::engine::slot::WaitSlot for SlotHandle {
    fn release(&self) {
        crate::core::sync::lock(&self.0.held).take();
    }

    fn reacquire(&self) -> futures::future::BoxFuture<'static, ()> {
        let slot = self.0.clone();
        Box::pin(async move {
            if let Ok(permit) = slot.semaphore.clone().acquire_owned().await {
                *crate::core::sync::lock(&slot.held) = Some(permit);
            }
        })
    }
}

/// How often finished tasks past the retention are deleted.
pub(super) const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Deletes the finished tasks older than `--task-retention`.
pub(super) async fn prune(app: &App) {
    let before = now_ms().saturating_sub(app.task_retention.as_millis() as i64);
    match app.store.prune(before).await {
        Ok(0) => {}
        Ok(n) => info!("deleted {n} finished task(s) older than --task-retention"),
        Err(e) => error!("pruning finished tasks: {e}"),
    }
}

/// The sink of a task's [`crate::engine::journal::Creating`]s: each is added to the task's row before
/// the deploy's first write; the deploy does not start if it cannot be stored.
pub(super) fn creating_sink(app: Arc<App>, id: String) -> crate::engine::journal::CreatingSink {
    let said = Arc::new(std::sync::Mutex::new(Vec::<crate::engine::journal::Creating>::new()));
    Arc::new(move |creating| {
        let (app, id, said) = (app.clone(), id.clone(), said.clone());
        Box::pin(async move {
            let text = {
                let mut said = crate::core::sync::lock(&said);
                said.push(creating);
                serde_json::to_string(&*said).map_err(|e| e.to_string())?
            };
            match app.store.record_creating(&id, &app.replica, &text).await {
                Ok(true) => Ok(()),
                Ok(false) => Err("this replica no longer holds the task".to_string()),
                Err(e) => Err(e.to_string()),
            }
        })
    })
}

/// The locks of a task's operations taken in PostgreSQL too, so replicas exclude each other
/// (see [`crate::engine::locks`]); waits at most 15 minutes for one.
pub(super) fn shared_locks(store: Store) -> crate::engine::locks::SharedLocks {
    Arc::new(move |name: String| {
        let store = store.clone();
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(900);
            loop {
                if store.try_lock(&name).await.map_err(|e| e.to_string())? {
                    return Ok(Box::new(SharedLock { store, name }) as Box<dyn std::any::Any>);
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(format!("another replica held {name} for 15 minutes"));
                }
                let jitter = uuid::Uuid::new_v4().as_u128() as u64 % 50;
                tokio::time::sleep(Duration::from_millis(50 + jitter)).await;
            }
        })
    })
}

/// A lock held in PostgreSQL; released when dropped.
pub(super) struct SharedLock {
    store: Store,
    name: String,
}

impl Drop for SharedLock {
    fn drop(&mut self) {
        let (store, name) = (self.store.clone(), std::mem::take(&mut self.name));
        tokio::spawn(async move {
            if let Err(e) = store.unlock(&name).await {
                error!("releasing {name}: {e}");
            }
        });
    }
}

/// Runs one claimed task, saving its state on every change and renewing the lease meanwhile; its
/// AWS writes are fenced by the lease (see [`crate::engine::lease`]).
pub(super) async fn run_task(app: Arc<App>, claimed: Claimed, fence: crate::engine::lease::Fence, slot: Arc<TaskSlot>) {
    let Claimed { id, operations, mut task, resume } = claimed;
    let cancel = Arc::new(Canceled::default());
    crate::core::sync::lock(&app.running).insert(id.clone(), cancel.clone());
    // Listed as running (and holding its slot) until its result is saved: shutdown waits for it.
    let _running = RunningTask { app: app.clone(), id: id.clone(), _slot: slot.clone() };
    let sink = creating_sink(app.clone(), id.clone());
    let app = &*app;
    info!("task {id}: running");
    task.replica = Some(app.replica.clone());
    let state = TaskState::new(task);
    let parsed = serde_json::from_str(&operations).map_err(|e| Error::Failed { message: e.to_string(), report: Vec::new() });
    let resume = super::handover::resume_of(resume.as_deref()).map_err(|message| Error::Failed { message, report: Vec::new() });
    // Every line of the task's work carries its id, principal and operations (`--log-format json`).
    let principal = state.snapshot().principal.unwrap_or_default();
    let span = tracing::info_span!("task", task_id = %id, principal = %principal, operation = tracing::field::Empty);
    let operations = parsed.and_then(|v| ops::parse(&app.config, v)).and_then(|o| resume.map(|r| o.resuming(r)));
    let may_hand_over = operations.as_ref().is_ok_and(|o| o.may_hand_over());
    let work = async {
        match operations {
            Ok(operations) => {
                tracing::Span::current().record("operation", operations.names().join(",").as_str());
                let mut quiet = Quiet;
                // Boxed: the operations' future is large, and each scope below would copy it.
                let run = crate::engine::deploy::handover::collecting(Box::pin(ops::run(operations, &state, &mut quiet)));
                let run = crate::engine::interrupt::may_hand_over(may_hand_over, run);
                let run = crate::engine::journal::recording_creates(sink, run);
                let run = crate::engine::lease::fenced(fence.clone(), run);
                let run = crate::engine::interrupt::cancelable(cancel.flag.clone(), run);
                let run = crate::engine::slot::scope(Arc::new(SlotHandle(slot.clone())), run);
                match &app.store {
                    Store::Postgres(_) => crate::engine::locks::across(shared_locks(app.store.clone()), run).await,
                    Store::Sqlite(_) => run.await,
                }
            }
            Err(e) => {
                // Only when replicas run with different account configurations.
                let mut task = state.snapshot();
                let message = format!("this replica cannot run the task: {e}");
                task.fail("task", "InvalidRequestException", &message, e.exit_code(), Vec::new());
                (task, None)
            }
        }
    };
    let saver = keep_lease(app, &id, &state, &fence, &cancel);
    let (mut task, resume) = tokio::select! {
        // Boxed: the task's future is large, and the span's wrapper would copy it onto the stack.
        done = tracing::Instrument::instrument(Box::pin(work), span) => done,
        _ = saver => unreachable!("the saver never ends"),
    };
    drop(slot);
    // Stopped at a safe point while this replica shuts down: it goes on elsewhere.
    if !task.status.completed {
        return super::handover::hand_over(app, &id, &task, resume).await;
    }
    if cancel.flag.load(std::sync::atomic::Ordering::SeqCst) && task.status.failed {
        let by = crate::core::sync::lock(&cancel.by).clone().unwrap_or_else(|| "a cancel".into());
        let phase = task.status.phase.clone();
        task.push(&phase, format!("Canceled by {by}: stopped at its next step; the report says what was undone and what exists"));
    }
    // Failed because this replica stopped it: `serve` undid the task's work on its own.
    if task.status.failed && crate::engine::interrupt::stopped(may_hand_over) {
        let lines: Vec<String> = task.exception.as_ref().map(|e| e.report.clone()).unwrap_or_default();
        audit_own_work(app, &id, &task.accounts, &lines);
    }
    // Before the task reads as finished: a poller that then reads a view sees what it wrote.
    for account in &task.accounts {
        super::views::changed(app, account).await;
    }
    save_finished(app, &id, &task).await;
}

/// Saves the task's state on every change and renews its lease (a third of it at the latest),
/// extending the fence while the lease holds, closing it once another replica holds the task, and
/// passing on a cancel asked through another replica. Never ends.
async fn keep_lease(app: &App, id: &str, state: &TaskState, fence: &crate::engine::lease::Fence, cancel: &Canceled) {
    let lease = || now_ms() + app.lease.as_millis() as i64;
    loop {
        tokio::select! {
            _ = state.changed() => {}
            _ = tokio::time::sleep(app.lease / 3) => {}
        }
        let until = lease();
        match app.store.renew(id, &app.replica, &state.snapshot(), until).await {
            Ok(store::Renewal::Held { canceled_by: by }) => {
                crate::core::metrics::lease("renewal");
                fence.extend(until);
                if let Some(by) = by.filter(|by| cancel.set(by)) {
                    info!("task {id}: canceled by {by}; it stops at its next step");
                }
            }
            Ok(store::Renewal::Lost) => {
                fence.close();
                warn!("task {id}: this replica no longer holds it (its lease ran out); it stops before its next AWS write")
            }
            Err(e) => error!("task {id}: renewing its lease failed, it stops writing when the lease ends: {e}"),
        }
    }
}

/// Saves a finished task's result, retrying a store that fails for a while.
async fn save_finished(app: &App, id: &str, task: &ops::Task) {
    for attempt in 0..10u32 {
        let until = now_ms() + app.lease.as_millis() as i64;
        match app.store.save(id, &app.replica, task, until, true).await {
            Ok(true) => return info!("task {id}: {}", task.status.status),
            Ok(false) => {
                return error!(
                    "task {id}: finished ({}) after another replica marked it failed; its result is only in this log",
                    task.status.status
                );
            }
            Err(e) => {
                error!("task {id}: saving the result failed (attempt {}): {e}", attempt + 1);
                tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
            }
        }
    }
}
