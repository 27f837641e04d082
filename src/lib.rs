//! ecs-deployer: deploys Amazon ECS services as versioned Spinnaker server groups
//! (`app-stack-detail-v003`), matching Spinnaker Clouddriver's ECS provider field by field and
//! doing better where its Decisions table says so. The layers are folders: [`core`] decides (pure
//! and synchronous: configuration, descriptions, validation, naming, task definitions, plans,
//! scaling, health, strategies), [`engine`] runs the steps (deploy, lifecycle, operations, doctor),
//! [`aws`] is the only module that talks to AWS, [`cli`] parses, reads inputs and is the only
//! writer to stdout, and [`serve`] is Clouddriver's HTTP API over the engine. See ARCHITECTURE.md.

pub mod aws;
pub mod cli;
pub mod core;
pub mod engine;
pub mod serve;

pub use cli::run::run;
