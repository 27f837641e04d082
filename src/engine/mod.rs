//! The imperative shell: runs what the core decided, through [`crate::aws`] — a deploy (observe,
//! plan, apply, copy scaling, wait, strategy), the lifecycle operations, operations lists as
//! Clouddriver tasks, preflight checks — with the locks, the journal of status lines and the
//! interrupt handling they share. Nothing here names the CLI.

pub mod abandoned;
pub mod artifacts;
pub mod clone;
pub mod deploy;
pub mod doctor;
pub mod images;
pub mod interrupt;
pub mod journal;
pub mod lease;
pub mod lifecycle;
pub mod locks;
pub mod operations;
pub mod read;
pub mod slot;
pub mod traffic;
