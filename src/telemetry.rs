//! Logs (tracing) and metrics (Prometheus text, rendered by our own `/metrics` route).
//!
//! Log lines carry ids (ticket, event, step) and outcomes, never ticket text, e-mail addresses
//! or secrets: the payload is customer data.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::LogFormat;

/// Installs the global subscriber: JSON lines or human text, filtered by `ONBEHALF_LOG`
/// (default `info`). Logs go to stderr; stdout stays for command output.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("ONBEHALF_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::NONE);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
}

/// The process-wide metrics recorder (installed once; tests build several apps per process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let seconds = [
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                60.0, 300.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (an embedding program): then ours only
            // renders what it sees, which is nothing; say so rather than fail.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!("onbehalf_webhooks_total", "Webhook requests by outcome");
    metrics::describe_histogram!(
        "onbehalf_queue_publish_seconds",
        "Time to durably queue an accepted webhook"
    );
    metrics::describe_counter!(
        "onbehalf_events_processed_total",
        "Events handled by workers, by result"
    );
    metrics::describe_counter!(
        "onbehalf_notes_total",
        "Internal notes by kind and mode (posted/shadow)"
    );
    metrics::describe_counter!(
        "onbehalf_helpdesk_requests_total",
        "Helpdesk API requests by HTTP status"
    );
    metrics::describe_counter!(
        "onbehalf_gitlab_requests_total",
        "GitLab API requests by HTTP status"
    );
    metrics::describe_counter!(
        "onbehalf_confirmations_total",
        "Confirmation records appended, by verdict"
    );
    metrics::describe_gauge!("onbehalf_queue_depth", "Events waiting in the queue");
    metrics::describe_gauge!("onbehalf_dead_letters", "Dead-lettered events");
    metrics::describe_histogram!(
        "onbehalf_event_age_seconds",
        "Webhook received to effects committed"
    );
}
