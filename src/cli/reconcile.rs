//! `onbehalf reconcile --since <RFC3339>`: one reconciliation pass by hand. Every ticket the
//! incremental export lists as updated since then is synced from the API (notes posted, trail
//! records appended, as its webhooks would have); one line per ticket says what was done.

use std::io::Write;
use std::sync::Arc;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::app::{self, AppError};
use crate::config::Config;
use crate::sync::reconcile::{PassReport, ReconcileError, Reconciled, Reconciler};
use crate::worker::Worker;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileCommandError {
    #[error("--since {0:?}: expected an RFC 3339 time such as 2025-01-08T00:00:00Z")]
    Since(String),
    #[error(
        "reconciling reads tickets from the Zendesk API: set ONBEHALF_ZENDESK_URL, ONBEHALF_ZENDESK_EMAIL and ONBEHALF_ZENDESK_API_TOKEN"
    )]
    NoApi,
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the pass and reports on `out`; the report says which tickets failed.
pub async fn run(
    config: &Config,
    since: &str,
    out: &mut (dyn Write + Send),
) -> Result<PassReport, ReconcileCommandError> {
    let since = OffsetDateTime::parse(since.trim(), &Rfc3339)
        .map_err(|_| ReconcileCommandError::Since(since.to_string()))?;
    if app::zendesk_client(config)?.is_none() {
        return Err(ReconcileCommandError::NoApi);
    }
    let store = app::open_store(config).await?;
    let health = crate::health::Health::default();
    let parts = app::helpdesks(config, &store, &health, app::WebhookSecrets::default())?;
    let api = parts.history.ok_or(ReconcileCommandError::NoApi)?;
    let settings = app::workflow_settings(config)?;
    let mut worker =
        Worker::new(store.clone(), &parts.helpdesks, &settings).with_history(api.clone());
    // Tickets synced by hand get GitLab's facts as webhooks' do.
    if let Some(gitlab) = crate::gitlab::from_config(config, &store, &parts.helpdesks, &health)
        .map_err(|e| AppError::Config(e.to_string()))?
    {
        worker = worker.with_gitlab(Arc::new(gitlab));
    }
    let reconciler = Reconciler::new(worker, api);
    let mut written: std::io::Result<()> = Ok(());
    let result = reconciler
        .pass_since(since, &mut |ticket| {
            if written.is_ok() {
                written = writeln!(out, "{}", line(ticket));
            }
        })
        .await;
    store.close().await;
    written?;
    let report = result?;
    let failed = report.tickets.iter().filter(|t| t.outcome.is_err()).count();
    writeln!(
        out,
        "reconciled {} ticket(s) updated since {} ({} export page(s), {failed} failed)",
        report.tickets.len() - failed,
        since.format(&Rfc3339).unwrap_or_default(),
        report.pages,
    )?;
    Ok(report)
}

fn line(ticket: &Reconciled) -> String {
    match &ticket.outcome {
        Ok(synced) => format!(
            "ticket {}: synced {} event(s) from the API, {} new",
            ticket.ticket_id, synced.events, synced.fed
        ),
        Err(reason) => format!("ticket {}: not synced: {reason}", ticket.ticket_id),
    }
}
