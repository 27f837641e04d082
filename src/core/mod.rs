//! The pure core: everything that decides, synchronous and without I/O beyond reading the files
//! it is given — clouddriver.yml and access rules, Clouddriver's descriptions and their
//! validation, monikers, task definitions, the deploy plan, the scaling copy's rules, health
//! judgement and deploy strategies. Nothing here names the engine, AWS, the CLI or `serve`.

pub mod access;
pub mod artifact;
pub mod clone;
pub mod config;
pub mod deployment;
pub mod description;
pub mod digest;
pub mod error;
pub mod health;
pub mod input;
pub mod metrics;
pub mod model;
pub mod moniker;
pub mod naming;
pub mod operation;
pub mod plan;
pub mod redact;
pub mod request;
pub mod scaling;
pub mod settings;
pub mod strategy;
pub mod sync;
pub mod taskdef;
pub mod time;
pub mod traffic;
pub mod url_restrictions;
pub mod validate;
pub mod view;
