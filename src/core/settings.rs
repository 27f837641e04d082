//! The knobs a deployment (or a test) may turn through the environment — the first retry's
//! backoff, how many attempts an AWS call gets, how long one may take, how often a wait polls, how
//! long an artifact download may take — as plain values. The
//! shell reads the environment once at start (the command line's `run`) and installs them here; the
//! engine and the AWS layer read them from here, never from the environment.

use std::sync::OnceLock;
use std::time::Duration;

/// The knobs, with their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The first retry's backoff of an AWS call (standard retries double it).
    pub initial_backoff: Duration,
    /// Attempts per AWS call, the first included.
    pub max_attempts: u32,
    /// How often a wait for health looks.
    pub poll_interval: Duration,
    /// How long one artifact download request may take (connect, headers and body).
    pub artifact_timeout: Duration,
    /// The longest one AWS call may take, its retries included (each attempt at most 30 s): what
    /// `serve` waits beyond a lease before adopting the task (a write in flight has ended by then).
    pub aws_call_timeout: Duration,
    /// AWS requests of one account in flight at once in this process (a quarter kept for writes).
    pub aws_concurrency: usize,
    /// Under the tags namer, how the Resource Groups Tagging API is used (`ECS_DEPLOYER_TAG_INDEX`).
    pub tag_index: TagIndex,
}

/// How the tags namer uses the Resource Groups Tagging API as an index of services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagIndex {
    /// `off`: list the ECS cluster's services.
    Off,
    /// `on` (the default): the next version from the index (its candidates checked); the read
    /// views describe the indexed services and the untagged ones their name puts in the view
    /// (found in the ECS cluster's kept list of names).
    On,
    /// `only`: as `on`, and the read views trust the index alone — every server group carries its
    /// moniker tags — so they list nothing.
    Only,
}

impl TagIndex {
    /// `off`, `on` or `only`; anything else is None.
    pub fn parse(text: &str) -> Option<TagIndex> {
        match text.trim() {
            "off" => Some(TagIndex::Off),
            "on" => Some(TagIndex::On),
            "only" => Some(TagIndex::Only),
            _ => None,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            initial_backoff: Duration::from_millis(200),
            max_attempts: 4,
            poll_interval: Duration::from_secs(3),
            artifact_timeout: Duration::from_secs(30),
            aws_call_timeout: Duration::from_secs(120),
            aws_concurrency: 16,
            tag_index: TagIndex::On,
        }
    }
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Installs the settings for this process; the first installation wins.
pub fn install(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

/// The installed settings, or the defaults.
pub fn get() -> Settings {
    SETTINGS.get().copied().unwrap_or_default()
}
