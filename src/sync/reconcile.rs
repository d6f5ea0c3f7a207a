//! Reconciliation: nothing missed when Zendesk pauses or drops webhook deliveries.
//!
//! One instance at a time (a lease in the store, renewed page by page; another instance takes
//! over once it runs out) follows Zendesk's incremental ticket export — cursor based,
//! `start_time` once, then the `after_cursor` of the last page, kept in the database — and
//! syncs every ticket it lists (`sync_ticket`), as a trigger webhook would. The export allows
//! 10 requests a minute: requests pass their own limiter, and a 429 is waited out for as long
//! as its `Retry-After` says
//! (developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/).

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::{SyncReport, sync_ticket};
use crate::helpdesk::HelpdeskError;
use crate::helpdesk::zendesk::ZendeskClient;
use crate::helpdesk::zendesk::history::{ExportFrom, ExportPage};
use crate::store::{Store, StoreError};
use crate::worker::{HandleError, Worker};
use crate::workflow::TicketId;

/// The stored cursor (and lease) of the ticket export.
pub const EXPORT: &str = "zendesk-ticket-export";
/// How long a reconciler holds the lease without renewing it.
const LEASE: Duration = Duration::from_secs(120);
/// How far back the first pass ever looks, at least.
const FIRST_LOOKBACK: Duration = Duration::from_secs(120);
/// Export requests tried per page before the pass gives up (rate limits are waited out).
const PAGE_ATTEMPTS: u32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("the Zendesk ticket export failed: {0}")]
    Export(#[source] HelpdeskError),
    #[error("syncing ticket {ticket_id} failed: {reason}")]
    Sync { ticket_id: TicketId, reason: String },
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// One ticket of a pass and what its sync did (or why it failed).
#[derive(Debug, Clone)]
pub struct Reconciled {
    pub ticket_id: TicketId,
    pub outcome: Result<SyncReport, String>,
}

/// What a pass did.
#[derive(Debug, Clone, Default)]
pub struct PassReport {
    pub pages: usize,
    pub tickets: Vec<Reconciled>,
    /// False when the lease was lost during the pass (another instance took over).
    pub complete: bool,
}

pub struct Reconciler {
    worker: Worker,
    api: Arc<ZendeskClient>,
    store: Store,
    /// This instance, for the lease.
    owner: String,
}

impl Reconciler {
    pub fn new(worker: Worker, api: Arc<ZendeskClient>) -> Reconciler {
        Reconciler {
            store: worker.store().clone(),
            worker,
            api,
            owner: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// A pass by hand (`onbehalf reconcile --since`): every ticket updated since `since`. It
    /// leaves the periodic reconciler's cursor and lease alone (syncing twice is harmless).
    pub async fn pass_since(
        &self,
        since: OffsetDateTime,
        on_ticket: &mut (dyn FnMut(&Reconciled) + Send),
    ) -> Result<PassReport, ReconcileError> {
        self.walk(
            ExportFrom::StartTime(since.unix_timestamp()),
            false,
            on_ticket,
        )
        .await
    }

    /// A periodic pass, when this instance holds (or takes) the lease: from the stored cursor,
    /// or from `first_start` the first time. `None` when another instance reconciles.
    pub async fn periodic_pass(
        &self,
        first_start: OffsetDateTime,
    ) -> Result<Option<PassReport>, ReconcileError> {
        if !self
            .store
            .take_sync_lease(EXPORT, &self.owner, LEASE)
            .await?
        {
            return Ok(None);
        }
        let from = match self.store.sync_cursor(EXPORT).await? {
            Some(cursor) => ExportFrom::Cursor(cursor),
            None => ExportFrom::StartTime(first_start.unix_timestamp()),
        };
        self.walk(from, true, &mut |_| {}).await.map(Some)
    }

    async fn walk(
        &self,
        mut from: ExportFrom,
        periodic: bool,
        on_ticket: &mut (dyn FnMut(&Reconciled) + Send),
    ) -> Result<PassReport, ReconcileError> {
        let mut report = PassReport::default();
        loop {
            let page = self.page(&from).await?;
            report.pages += 1;
            for ticket in &page.tickets {
                // Deleted tickets stay in the export unless `exclude_deleted=true`.
                if ticket.status.as_deref() == Some("deleted") {
                    continue;
                }
                // Renewed ticket by ticket: a page may take minutes at the API's pace.
                if periodic
                    && !self
                        .store
                        .take_sync_lease(EXPORT, &self.owner, LEASE)
                        .await?
                {
                    return Ok(report);
                }
                let ticket_id = TicketId::from(ticket.id.as_str());
                let outcome = sync_ticket(&self.worker, &self.api, &ticket_id).await;
                let reconciled = Reconciled {
                    ticket_id,
                    outcome: outcome.as_ref().map_err(ToString::to_string).cloned(),
                };
                on_ticket(&reconciled);
                match outcome {
                    Ok(synced) => {
                        metrics::counter!("onbehalf_reconciled_tickets_total").increment(1);
                        tracing::info!(ticket_id = %synced.ticket_id, events = synced.events, fed = synced.fed, "ticket reconciled");
                    }
                    // The helpdesk or the database is down: so is the rest of the pass.
                    Err(HandleError::Outage { reason, .. }) => {
                        let ticket_id = reconciled.ticket_id.clone();
                        report.tickets.push(reconciled);
                        return Err(ReconcileError::Sync { ticket_id, reason });
                    }
                    // The cursor stays before this page: the next pass tries it again. (A
                    // pass by hand reports the ticket and goes on.)
                    Err(HandleError::Transient { reason, .. }) if periodic => {
                        let ticket_id = reconciled.ticket_id.clone();
                        report.tickets.push(reconciled);
                        return Err(ReconcileError::Sync { ticket_id, reason });
                    }
                    // Gone or unreadable for good: nothing later will change that.
                    Err(
                        HandleError::Permanent { reason, .. }
                        | HandleError::Transient { reason, .. },
                    ) => {
                        tracing::warn!(ticket_id = %ticket.id, %reason, "ticket not reconciled; skipped");
                    }
                }
                report.tickets.push(reconciled);
            }
            let next = page.after_cursor.clone();
            if periodic
                && let Some(cursor) = &next
                && !self
                    .store
                    .save_sync_cursor(EXPORT, &self.owner, cursor)
                    .await?
            {
                return Ok(report);
            }
            match next {
                Some(cursor) if !page.end_of_stream => from = ExportFrom::Cursor(cursor),
                _ => {
                    report.complete = true;
                    return Ok(report);
                }
            }
        }
    }

    /// One export page; throttles and passing failures are waited out a few times.
    async fn page(&self, from: &ExportFrom) -> Result<ExportPage, ReconcileError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let wait = match self.api.export_tickets(from).await {
                Ok(page) => return Ok(page),
                Err(e) if attempt >= PAGE_ATTEMPTS || !e.is_transient() => {
                    return Err(ReconcileError::Export(e));
                }
                Err(HelpdeskError::RateLimited { retry_after }) => retry_after,
                Err(_) => Duration::from_secs(1 << attempt.min(5)),
            };
            tracing::info!(?wait, attempt, "the ticket export asked us to wait");
            tokio::time::sleep(wait).await;
        }
    }

    /// Every `interval` until `shutdown` (the first pass right away): a pass when this
    /// instance holds the lease. The first pass ever starts one interval back (two minutes at
    /// least: the export hides the most recent minute).
    pub async fn run(self, interval: Duration, shutdown: CancellationToken) {
        loop {
            let first_start = OffsetDateTime::now_utc() - interval.max(FIRST_LOOKBACK);
            let pass = tokio::select! {
                _ = shutdown.cancelled() => break,
                pass = self.periodic_pass(first_start) => pass,
            };
            match pass {
                Ok(Some(report)) => {
                    metrics::counter!("onbehalf_reconcile_passes_total", "outcome" => "done")
                        .increment(1);
                    tracing::debug!(
                        pages = report.pages,
                        tickets = report.tickets.len(),
                        "reconcile pass done"
                    );
                }
                Ok(None) => tracing::debug!("another instance reconciles"),
                Err(e) => {
                    metrics::counter!("onbehalf_reconcile_passes_total", "outcome" => "failed")
                        .increment(1);
                    tracing::warn!(error = %e, "reconcile pass failed; the next one goes on from the stored cursor");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(interval) => {}
            }
        }
        let _ = self.store.release_sync_lease(EXPORT, &self.owner).await;
    }
}
