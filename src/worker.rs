//! Workers: take events off the queue, apply them through the workflow core, post the notes.
//!
//! Exactly-once notes on top of at-least-once delivery: the decision and its note intents are
//! committed together, keyed by (ticket, step); posting happens afterwards under a claim; a
//! note whose earlier claim may have posted it is first looked up on the ticket by its
//! reference. Only then is the event acked. Any crash in between replays the event, which is
//! a duplicate for the store and only finishes the posting.
//!
//! Failures are sorted by whose they are. A dependency that is down (see [`crate::health`])
//! pauses what needs it: the database or the queue the whole process, a helpdesk only its own
//! events (they wait in its hold, `hold`, while the others go on). The delivery is held, not
//! retried, and tried again once the pause is over, so it spends no attempt. A note the
//! helpdesk refuses for good fails alone (`failed`, with the reason) and the event is acked.
//! Only what belongs to the event goes through the queue's retries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::health::{Dependency, Health};
use crate::helpdesk::webhook::QueuedEvent;
use crate::helpdesk::{Helpdesk, HelpdeskError, Helpdesks, Integration, NoteMode};
use crate::queue::{Delivery, Envelope, Queue, QueueError, Retried};
use crate::store::{
    Applied, Decide, EventToApply, GroupCommitter, NoteSettler, NoteStatus, Store, StoreError,
};
use crate::workflow::{self, CommentId, TicketId, WorkflowSettings};

// How long a worker holds the notes it posts (`note_claim`), how long one post may take
// (`post_deadline`) and how long it waits for another worker's claim (`wait_for_holder`):
// one budget, derived from the helpdesk timeout and checked at start-up.
use crate::timeouts::{HOLDER_POLL, TimeoutBudget};

mod hold;
/// Events applied per database transaction at most, and transactions in flight at once.
const MAX_BATCH: usize = 64;
const COMMITTERS: usize = 1;

/// What handling one event came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Effects committed now.
    Processed,
    /// Effects were committed before (a redelivery or a duplicate webhook).
    Duplicate,
    /// Not an event the workflow acts on.
    Ignored,
}

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// A dependency failed in a way that is not the event's fault, unless a probe of the
    /// dependency says otherwise. The event waits, spending no attempt.
    #[error("{reason}")]
    Outage {
        dependency: Dependency,
        reason: String,
        /// What the dependency asked for (`Retry-After`).
        retry_after: Option<Duration>,
        /// Account-wide by nature (429, 401/403): no probe needed.
        certain: bool,
    },
    /// This event failed in a way that may pass: try again later (counts an attempt).
    #[error("{reason}")]
    Transient {
        /// What the retry is logged with and what a dead-letter record keeps.
        reason: String,
        #[source]
        source: Option<Cause>,
    },
    /// Will never succeed as it is: dead-letter it with this reason.
    #[error("{reason}")]
    Permanent {
        reason: String,
        #[source]
        source: Option<Cause>,
    },
}

/// The error a transient or permanent failure came from, kept for its chain (its `reason`
/// is this error's message).
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Helpdesk(#[from] HelpdeskError),
    #[error(transparent)]
    Payload(#[from] crate::helpdesk::webhook::ParseError),
}

impl HandleError {
    /// A failure that may pass, found by the worker itself (no error underneath).
    pub fn transient(reason: impl Into<String>) -> HandleError {
        HandleError::Transient {
            reason: reason.into(),
            source: None,
        }
    }

    pub fn permanent(reason: impl Into<String>) -> HandleError {
        HandleError::Permanent {
            reason: reason.into(),
            source: None,
        }
    }

    /// Transient or permanent as `cause` says, its message the reason.
    fn of(cause: Cause, transient: bool) -> HandleError {
        let reason = cause.to_string();
        let source = Some(cause);
        if transient {
            HandleError::Transient { reason, source }
        } else {
            HandleError::Permanent { reason, source }
        }
    }
}

impl From<StoreError> for HandleError {
    fn from(e: StoreError) -> Self {
        if e.is_outage() {
            HandleError::Outage {
                dependency: Dependency::Database,
                reason: e.to_string(),
                retry_after: None,
                certain: false,
            }
        } else {
            let transient = e.is_transient();
            HandleError::of(e.into(), transient)
        }
    }
}

impl HandleError {
    /// A failure of `helpdesk`'s API: an outage of that helpdesk alone, or this event's.
    pub fn helpdesk(helpdesk: &'static str, e: HelpdeskError) -> HandleError {
        if let Some(retry_after) = e.outage() {
            HandleError::Outage {
                dependency: Dependency::Helpdesk(helpdesk),
                reason: e.to_string(),
                retry_after,
                certain: matches!(
                    e,
                    HelpdeskError::RateLimited { .. } | HelpdeskError::Unauthorized(_)
                ),
            }
        } else {
            let transient = e.is_transient();
            HandleError::of(e.into(), transient)
        }
    }
}

#[cfg(test)]
mod cause_tests {
    use super::*;
    use std::error::Error as _;

    /// The dead-letter record and the logs read as before; what it was stays inspectable.
    #[test]
    fn a_failure_reads_as_its_cause_and_keeps_it() {
        let contention = StoreError::Contention {
            source_name: "zendesk".into(),
            ticket: "7".into(),
            attempts: 5,
        };
        let reason = contention.to_string();
        let e = HandleError::from(contention);
        assert!(matches!(&e, HandleError::Transient { reason: r, .. } if *r == reason));
        assert_eq!(e.to_string(), reason);
        let cause = e.source().and_then(|s| s.downcast_ref::<Cause>());
        assert!(matches!(
            cause,
            Some(Cause::Store(StoreError::Contention { attempts: 5, .. }))
        ));

        let e = HandleError::helpdesk(
            "zendesk",
            HelpdeskError::Permanent("Zendesk answered 300".into()),
        );
        assert!(matches!(&e, HandleError::Permanent { .. }));
        assert_eq!(
            e.to_string(),
            HelpdeskError::Permanent("Zendesk answered 300".into()).to_string()
        );
        assert!(matches!(
            e.source().and_then(|s| s.downcast_ref::<Cause>()),
            Some(Cause::Helpdesk(HelpdeskError::Permanent(_)))
        ));
    }
}

/// One helpdesk as the worker uses it: its parser and notes client, and the workflow settings
/// with its terms (links, status names).
#[derive(Clone)]
struct Desk {
    /// Its registry name: the dependency its outages are.
    name: &'static str,
    integration: Arc<dyn Integration>,
    notes: Arc<dyn Helpdesk>,
    settings: Arc<WorkflowSettings>,
}

#[derive(Clone)]
pub struct Worker {
    store: Store,
    committer: GroupCommitter,
    settler: NoteSettler,
    /// By helpdesk name (the envelopes' source).
    desks: Arc<std::collections::BTreeMap<&'static str, Desk>>,
    /// Reads Zendesk tickets back for "this ticket changed" notices (`sync`); `None` without
    /// Zendesk API credentials.
    history: Option<Arc<crate::helpdesk::zendesk::ZendeskClient>>,
    /// Asks GitLab about the requester before each decision; `None`: GitLab is off.
    gitlab: Option<Arc<crate::gitlab::GitLabLookup>>,
    health: Health,
    timeouts: TimeoutBudget,
}

impl Worker {
    /// A worker for `helpdesks`; `settings` are shared, each helpdesk adding its own terms.
    pub fn new(store: Store, helpdesks: &Helpdesks, settings: &WorkflowSettings) -> Worker {
        let desks = helpdesks
            .iter()
            .map(|integration| {
                let settings = WorkflowSettings {
                    helpdesk: integration.terms(),
                    ..settings.clone()
                };
                let desk = Desk {
                    name: integration.name(),
                    integration: integration.clone(),
                    notes: integration.notes(),
                    settings: Arc::new(settings),
                };
                (integration.name(), desk)
            })
            .collect();
        Worker {
            committer: GroupCommitter::start(store.clone(), MAX_BATCH, COMMITTERS),
            settler: NoteSettler::start(store.clone(), MAX_BATCH),
            store,
            desks: Arc::new(desks),
            history: None,
            gitlab: None,
            health: Health::default(),
            timeouts: TimeoutBudget::default(),
        }
    }

    /// Posts, claims and waits within `timeouts` (the configuration's, checked).
    pub fn with_timeouts(mut self, timeouts: TimeoutBudget) -> Worker {
        self.timeouts = timeouts;
        self
    }

    /// Lets the worker sync tickets from the Zendesk API (trigger webhooks, reconciliation).
    pub fn with_history(mut self, api: Arc<crate::helpdesk::zendesk::ZendeskClient>) -> Worker {
        self.history = Some(api);
        self
    }

    /// Hands GitLab's facts about the requester to every decision.
    pub fn with_gitlab(mut self, gitlab: Arc<crate::gitlab::GitLabLookup>) -> Worker {
        self.gitlab = Some(gitlab);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A "this ticket changed" notice: the ticket is read back and what is new is handled.
    async fn sync(&self, envelope: &Envelope) -> Result<Outcome, HandleError> {
        let Some(api) = &self.history else {
            return Err(HandleError::permanent(
                "a ticket sync needs the Zendesk API (ONBEHALF_ZENDESK_URL, _EMAIL, _API_TOKEN)",
            ));
        };
        let report = crate::sync::sync_ticket(self, api, &envelope.ticket_id).await?;
        Ok(if report.fed > 0 {
            Outcome::Processed
        } else {
            Outcome::Duplicate
        })
    }

    /// The helpdesk whose parser reads envelopes of `source`.
    fn desk(&self, source: &str) -> Result<&Desk, HandleError> {
        self.desks
            .values()
            .find(|d| d.integration.parses(source))
            .ok_or_else(|| {
                HandleError::permanent(format!(
                    "unknown source {source:?}: no helpdesk of that name is configured here"
                ))
            })
    }

    /// The helpdesk whose events `source`'s envelopes are (`None`: no helpdesk here parses
    /// them).
    pub fn helpdesk_of(&self, source: &str) -> Option<&'static str> {
        self.desk(source).ok().map(|d| d.name)
    }

    /// The helpdesks this worker serves.
    fn helpdesk_names(&self) -> Vec<&'static str> {
        self.desks.values().map(|d| d.name).collect()
    }

    /// Whether `dependency` answers a request about nothing in particular (and says so to
    /// `health`).
    async fn answers(&self, dependency: Dependency) -> bool {
        let answers = match dependency {
            Dependency::Database => self.store.check().await.is_ok(),
            Dependency::Helpdesk(name) => match self.desks.get(name) {
                Some(desk) => desk.notes.probe().await.is_ok(),
                None => false,
            },
            // Not the worker's to probe: the queue reports it on settling; GitLab's outages
            // never reach here (its facts are optional).
            Dependency::Queue | Dependency::GitLab => false,
        };
        if answers {
            self.health.up(dependency);
        }
        answers
    }

    /// Reports outages to (and pauses on) `health`, shared with the helpdesk client and the
    /// probes.
    pub fn with_health(mut self, health: Health) -> Worker {
        self.health = health;
        self
    }

    /// Handles one event to the end: decision committed, notes posted. Callable from tests.
    pub async fn handle(&self, envelope: &Envelope) -> Result<Outcome, HandleError> {
        if envelope.source == crate::sync::TICKET_CHANGED {
            return self.sync(envelope).await;
        }
        let desk = self.desk(&envelope.source)?;
        let event = desk
            .integration
            .parse(&QueuedEvent::of(envelope))
            .map_err(|e| HandleError::of(e.into(), false))?;
        if matches!(event.kind, workflow::EventKind::Other { .. }) {
            return Ok(Outcome::Ignored);
        }
        let mode = desk.notes.mode();
        // I/O before the decision: the core gets the facts as input and stays pure.
        let gitlab = match &self.gitlab {
            Some(lookup) => {
                lookup
                    .facts_for(&envelope.source, desk.name, &event, &desk.settings)
                    .await
            }
            None => None,
        };
        let event = Arc::new(event);
        let decide: Decide = {
            let (event, settings) = (event.clone(), desk.settings.clone());
            Box::new(move |prev| workflow::decide_with(prev, &event, &settings, gitlab.as_ref()))
        };
        let (note_status, hold) = match mode {
            NoteMode::Posted => (NoteStatus::Pending, Some(self.timeouts.note_claim)),
            NoteMode::Shadow => (NoteStatus::Shadow, None),
        };
        let source = envelope.source.as_str();
        // The claim runs from the commit, a little later than this.
        let claimed_at = Instant::now();
        let applied = self
            .committer
            .apply(EventToApply {
                source: source.to_string(),
                event: event.clone(),
                note_status,
                hold,
                decide,
            })
            .await?;
        // A replay may find notes an earlier delivery recorded but did not post.
        let (outcome, claimed, look_for_pending) = match applied {
            Applied::Duplicate => (Outcome::Duplicate, vec![], true),
            Applied::Committed {
                notes,
                confirmations,
                claimed,
                waiting,
            } => {
                for verdict in confirmations {
                    metrics::counter!("onbehalf_confirmations_total", "verdict" => verdict.as_str())
                        .increment(1);
                }
                for step in &notes {
                    log_recorded(source, &event.ticket.id, step, note_status);
                    if mode == NoteMode::Shadow {
                        count_note(step, "shadow");
                    }
                }
                (Outcome::Processed, claimed, waiting > 0)
            }
        };
        if mode == NoteMode::Posted {
            // The notes this event just created were claimed in its transaction; then anything
            // an earlier, failed delivery of this ticket left pending.
            let left = self
                .post_claimed(desk, &event.ticket.id, claimed, claimed_at)
                .await?;
            if look_for_pending || left > 0 {
                self.post_pending_notes(desk, source, &event.ticket.id)
                    .await?;
            }
        }
        Ok(outcome)
    }

    /// Posts the notes claimed at `claimed_at`; returns how many it handed back unposted
    /// because what was left of their claim could not cover a whole post.
    async fn post_claimed(
        &self,
        desk: &Desk,
        ticket_id: &TicketId,
        claimed: Vec<crate::store::NoteRecord>,
        claimed_at: Instant,
    ) -> Result<usize, HandleError> {
        let (post_deadline, claim_ends) = (
            self.timeouts.post_deadline,
            claimed_at + self.timeouts.note_claim,
        );
        let mut claimed = claimed.into_iter();
        while let Some(note) = claimed.next() {
            // A post that could outlast its claim is not started: another worker could take
            // the note meanwhile and post it too. Handed back, it is claimed afresh.
            if claim_ends.saturating_duration_since(Instant::now()) <= post_deadline {
                let left: Vec<_> = std::iter::once(note).chain(claimed).collect();
                for rest in &left {
                    let _ = self.store.release_note(&rest.reference).await;
                }
                return Ok(left.len());
            }
            let posted =
                tokio::time::timeout(post_deadline, self.post_note(desk, ticket_id, &note))
                    .await
                    .unwrap_or_else(|_| {
                        Err(HandleError::Outage {
                            dependency: Dependency::Helpdesk(desk.name),
                            reason: "posting the note took too long".into(),
                            retry_after: None,
                            certain: false,
                        })
                    });
            if let Err(e) = posted {
                // Hand the claims back so the retry need not wait for them to expire; the
                // next claim looks for the note on the ticket before posting again.
                let _ = self.store.release_note(&note.reference).await;
                for rest in claimed {
                    let _ = self.store.release_note(&rest.reference).await;
                }
                return Err(e);
            }
        }
        Ok(0)
    }

    async fn post_pending_notes(
        &self,
        desk: &Desk,
        source: &str,
        ticket_id: &TicketId,
    ) -> Result<(), HandleError> {
        let deadline = Instant::now() + self.timeouts.wait_for_holder;
        loop {
            let claimed_at = Instant::now();
            let claimed = self
                .store
                .claim_pending_notes(source, ticket_id, self.timeouts.note_claim)
                .await?;
            let taken = claimed.notes.len();
            let left = self
                .post_claimed(desk, ticket_id, claimed.notes, claimed_at)
                .await?;
            if left > 0 && left == taken {
                // Not even a fresh claim covered one post (the claim itself took that long).
                return Err(HandleError::transient(format!(
                    "{left} note(s) of this ticket could not be posted within their claim"
                )));
            }
            if claimed.held_elsewhere == 0 && left == 0 {
                return Ok(());
            }
            if claimed.held_elsewhere > 0 && Instant::now() > deadline {
                return Err(HandleError::transient(format!(
                    "{} note(s) of this ticket are held by another worker",
                    claimed.held_elsewhere
                )));
            }
            if left == 0 {
                tokio::time::sleep(HOLDER_POLL).await;
            }
        }
    }

    async fn post_note(
        &self,
        desk: &Desk,
        ticket_id: &TicketId,
        note: &crate::store::NoteRecord,
    ) -> Result<(), HandleError> {
        match deliver_note(&desk.notes, ticket_id, note).await {
            Err(HelpdeskError::Rejected(reason)) => {
                // This note can never post (ticket deleted, comment limit): it fails alone,
                // and the event and the ticket's later notes go on.
                self.store.fail_note(&note.reference, &reason).await?;
                count_note_failed(&note.step);
                tracing::error!(step = %note.step, %reason, "note failed: the helpdesk refused it");
                Ok(())
            }
            Err(e) => Err(HandleError::helpdesk(desk.name, e)),
            Ok(remote) => {
                self.settler
                    .posted(&note.reference, remote.as_ref())
                    .await?;
                Ok(())
            }
        }
    }
}

/// Posts the note unless an earlier claim already did; returns its comment id if known.
async fn deliver_note(
    helpdesk: &Arc<dyn Helpdesk>,
    ticket_id: &TicketId,
    note: &crate::store::NoteRecord,
) -> Result<Option<CommentId>, HelpdeskError> {
    // Claimed before: that attempt may have posted it and died before recording it.
    if note.attempts > 1
        && let Some(remote) = helpdesk.find_note(ticket_id, &note.reference).await?
    {
        tracing::info!(step = %note.step, "note already on the ticket (posted before a crash)");
        return Ok(Some(remote));
    }
    let body = with_reference(&note.body, &note.reference);
    let remote = helpdesk.add_internal_note(ticket_id, &body).await?;
    count_note(&note.step, "posted");
    tracing::info!(step = %note.step, "note posted");
    Ok(remote)
}

fn note_kind(step: &str) -> &'static str {
    crate::workflow::NoteStep::kind_of(step)
}

fn count_note(step: &str, mode: &'static str) {
    metrics::counter!("onbehalf_notes_total", "kind" => note_kind(step), "mode" => mode)
        .increment(1);
}

/// One line per note recorded, so shadow mode can be watched in the log: what and where,
/// never the note's text (it quotes the ticket).
fn log_recorded(helpdesk: &str, ticket_id: &TicketId, step: &str, status: NoteStatus) {
    tracing::info!(
        helpdesk,
        ticket_id = ticket_id.as_str(),
        kind = note_kind(step),
        step,
        status = status.as_str(),
        "note recorded"
    );
}

fn count_note_failed(step: &str) {
    metrics::counter!("onbehalf_notes_failed_total", "kind" => note_kind(step)).increment(1);
}

/// The marker that ties a posted note to its record (searched for after a crash).
pub fn with_reference(html_body: &str, reference: &str) -> String {
    format!("{html_body}\n<p><small>{reference}</small></p>")
}

/// Runs `concurrency` handlers until `shutdown`, then drains what they hold.
///
/// Deliveries are spread over lanes by ticket id, so one process never handles two events of
/// the same ticket at once and keeps their queue order. A delivery whose helpdesk is down
/// leaves its lane for that helpdesk's hold (see [`hold`]), and the lane goes on with the
/// next: one helpdesk's outage holds only its own events.
pub async fn run(
    worker: Worker,
    queue: Arc<dyn Queue>,
    concurrency: usize,
    shutdown: CancellationToken,
    drain_timeout: Duration,
) {
    let health = worker.health.clone();
    let holds = Arc::new(hold::Holds::start(&worker, &shutdown, hold::MAX_HELD));
    let mut lanes = Vec::with_capacity(concurrency);
    let mut handles = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let (tx, mut rx) = mpsc::channel::<Delivery>(8);
        let (worker, holds) = (worker.clone(), holds.clone());
        let shutdown = shutdown.clone();
        handles.push(tokio::spawn(async move {
            while let Some(delivery) = rx.recv().await {
                let delivery = match holds.take_if_held(delivery, &shutdown).await {
                    Some(delivery) => delivery,
                    None => continue,
                };
                if let Some(held) = settle(&worker, delivery, &shutdown).await {
                    holds.hold(held, &shutdown).await;
                }
            }
        }));
        lanes.push(tx);
    }
    let helpdesks = worker.helpdesk_names();
    let mut backoff = Duration::from_millis(100);
    loop {
        // While the database or the queue is down, or every helpdesk, take nothing new: what
        // is queued waits there. One helpdesk's outage alone does not stop this loop.
        if !health.wait_until_resumable(&helpdesks, &shutdown).await {
            break;
        }
        let delivery = tokio::select! {
            _ = shutdown.cancelled() => break,
            d = queue.receive() => d,
        };
        match delivery {
            Ok(delivery) => {
                backoff = Duration::from_millis(100);
                health.up(Dependency::Queue);
                let lane = lane_of(&delivery.envelope.ticket_id, lanes.len());
                if lanes[lane].send(delivery).await.is_err() {
                    break;
                }
            }
            Err(QueueError::Closed) => break,
            Err(e) => {
                health.down(Dependency::Queue, &e.to_string(), None);
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    drop(lanes);
    let drained = futures::future::join_all(handles);
    if tokio::time::timeout(drain_timeout, drained).await.is_err() {
        tracing::warn!("in-flight events did not finish in time; they will be redelivered");
    }
    // Held deliveries stay unsettled: the queue hands them out again after the restart.
    holds.stop().await;
}

fn lane_of(ticket_id: &TicketId, lanes: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    ticket_id.hash(&mut h);
    (h.finish() % lanes.max(1) as u64) as usize
}

/// Handles one delivery to the end. An outage of the database or the queue holds it here (no
/// attempt spent) until the pause is over; an outage of its helpdesk hands it back (`Some`),
/// unsettled and with no attempt spent, to wait in that helpdesk's hold. On shutdown a
/// delivery held here is left unsettled and the queue hands it out again.
async fn settle(
    worker: &Worker,
    delivery: Delivery,
    shutdown: &CancellationToken,
) -> Option<Delivery> {
    let helpdesk = worker.helpdesk_of(&delivery.envelope.source);
    let span = tracing::info_span!(
        "event",
        helpdesk,
        ticket_id = %delivery.envelope.ticket_id,
        event_id = %delivery.envelope.event_id,
        attempt = delivery.attempt
    );
    async move {
        let health = &worker.health;
        let (started, result) = loop {
            if !health.wait_until_resumable(&[], shutdown).await {
                return None;
            }
            let started = Instant::now();
            match worker.handle(&delivery.envelope).await {
                Err(HandleError::Outage {
                    dependency,
                    reason,
                    retry_after,
                    certain,
                }) => {
                    // One ticket's 5xx, or a statement failing on a database that answers, is
                    // the event's own failure: it takes the ordinary retry path.
                    // Probed only when no other delivery has found it down already.
                    let known_down = health.down_reason(dependency).is_some();
                    if !certain && !known_down && worker.answers(dependency).await {
                        break (started, Err(HandleError::transient(reason)));
                    }
                    health.down(dependency, &reason, retry_after);
                    if dependency.helpdesk().is_some() {
                        return Some(delivery);
                    }
                }
                result => break (started, result),
            }
        };
        finish(worker, delivery, started, result).await;
        None
    }
    .instrument(span)
    .await
}

/// Settles a delivery with what handling it came to.
async fn finish(
    worker: &Worker,
    delivery: Delivery,
    started: Instant,
    result: Result<Outcome, HandleError>,
) {
    let health = &worker.health;
    let Delivery {
        envelope,
        attempt,
        acker,
    } = delivery;
    if matches!(result, Ok(Outcome::Processed | Outcome::Duplicate)) {
        health.up(Dependency::Database);
    }
    let label = match &result {
        Ok(Outcome::Processed) => "processed",
        Ok(Outcome::Duplicate) => "duplicate",
        Ok(Outcome::Ignored) => "ignored",
        Err(HandleError::Transient { .. } | HandleError::Outage { .. }) => "retried",
        Err(HandleError::Permanent { .. }) => "dead_lettered",
    };
    metrics::counter!("onbehalf_events_processed_total", "result" => label).increment(1);
    let settled = match result {
        Ok(_) => {
            let age = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
                - i128::from(envelope.received_at_ms);
            metrics::histogram!("onbehalf_event_age_seconds").record(age.max(0) as f64 / 1000.0);
            tracing::debug!(
                result = label,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "event handled"
            );
            acker.ack().await
        }
        Err(HandleError::Transient { reason, .. } | HandleError::Outage { reason, .. }) => {
            // The queue decides whether this was the last attempt; say what it did.
            acker.retry(&reason).await.map(|retried| match retried {
                Retried::Later(delay) => tracing::warn!(%reason, retry_in_ms = delay.as_millis() as u64, "event failed; will retry"),
                Retried::DeadLettered => tracing::error!(%reason, attempts = attempt, "event dead-lettered: its attempts and retry time are used up"),
            })
        }
        Err(HandleError::Permanent { reason, .. }) => {
            tracing::error!(%reason, "event dead-lettered");
            acker.dead_letter(&reason).await
        }
    };
    match settled {
        Ok(()) => health.up(Dependency::Queue),
        Err(e) => {
            // Not settled: the queue redelivers it, and the store makes the replay harmless.
            tracing::warn!(error = %e, "could not settle the event; it will be redelivered");
            if e.is_transient() {
                health.down(Dependency::Queue, &e.to_string(), None);
            }
        }
    }
}

#[cfg(test)]
mod tests;
