//! Integration tests: the real `ecs-deployer` binary against the moto AWS emulator on loopback.
//! One test binary (each links the whole AWS SDK). Every test works in its own AWS account on
//! the shared emulator (the binary assumes a role into it), so tests run in parallel.

mod accounts;
mod artifact_server;
mod artifacts;
mod balancer;
mod browser;
mod console;
mod defects;
mod deploy;
mod exposure;
mod faithful;
mod harness;
mod lifecycle;
mod orca;
mod platform;
mod read_api;
mod reliability;
mod replicas;
mod scaling;
mod security;
mod serve;
mod snapshots;
mod tidy;
mod traffic;
mod verdict;
mod wait;
