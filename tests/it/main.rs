//! Every integration test, in one binary: each test binary links the whole crate graph, so one
//! binary builds and links once instead of once per file. One former test file is one module;
//! run its tests with `cargo test --test it <module>::` (e.g. `corpus_consent::`).
//!
//! The tests share one process and run on parallel threads, so none sets an environment
//! variable or installs process-wide state. What the crate keeps process-wide (the metrics
//! registry, the Zendesk export's rate limit) is asserted only by tests that run alone in a
//! child process (`common::alone`).

// What the tests share.
mod amqp_support;
mod common;
mod console_support;
mod instances;
mod queue_contract;
mod store_support;

// The tests, one module per area.
mod amqp_broker_restart;
mod amqp_outage;
mod amqp_queue;
mod api_budget;
mod cli;
mod cli_config;
mod cli_examples;
mod console;
mod console_browser;
mod corpus_classify;
mod corpus_consent;
mod crash;
mod dependency_outage;
mod deploy_files;
mod e2e;
mod embedded_lease;
mod embedded_queue;
mod gitlab;
mod helpdesk_contract;
mod helpdesk_isolation;
mod helpdesk_outage_scale_out;
mod ingest;
mod logs;
mod operations;
mod payload_mutations;
mod pg_restart_workers;
mod private_instances;
mod scale_out;
mod security;
mod store;
mod store_console;
mod store_pg_restart;
mod sync;
mod zammad;
mod zendesk_check;
