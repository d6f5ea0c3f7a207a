//! onbehalf: signed helpdesk webhooks in, workflow notes and a permission trail out.
//!
//! Reading order: `ingest` (HTTP receiver, signature schemes) accepts webhooks and hands them to a
//! `queue` (embedded SQLite or RabbitMQ). The `worker` takes events off the queue, asks the pure
//! `workflow` core what to do, persists the decision in the `store` and posts the resulting
//! internal notes through a `helpdesk` adapter. `gitlab` reads the requester's role and account facts for the core to decide on; `app` wires the roles together; `main.rs` is the CLI.
//! `timeouts` is the one budget the worker's deadlines, note claims and the embedded lease come
//! from. Public are only the modules the binary, the tests, the bench and the fuzz targets use;
//! the rest is the crate's own.

pub mod app;
pub mod cli;
pub mod config;
pub mod console;
pub(crate) mod gitlab;
pub(crate) mod health;
pub mod helpdesk;
pub mod ingest;
pub mod queue;
pub mod rfc3339;
pub mod store;
pub(crate) mod sync;
pub mod telemetry;
pub(crate) mod timeouts;
pub(crate) mod worker;
pub mod workflow;
