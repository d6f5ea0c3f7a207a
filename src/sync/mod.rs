//! Ticket sync: "this ticket changed" → read the ticket back from the API and feed what has not
//! been handled yet into the same decision path as webhook events.
//!
//! A trigger webhook (`helpdesk::zendesk::trigger`) and the reconciler (`reconcile`) only name a ticket.
//! The sync reads its audits (each update of the ticket: field changes and comments, oldest
//! first) and its comments, rebuilds the ticket as it was after each update, and turns every
//! update into the event-subscription payloads Zendesk would have sent for it, with the
//! ticket as it was then. Those go through `Worker::handle` like any webhook, so the notes and
//! trail records are the ones the webhooks would have produced.
//!
//! Each synthetic event is keyed by what it is — the comment id, the audit event id, the
//! ticket's creation — so a sync never feeds an event twice, and the workflow state itself
//! ignores a comment it already handled under a webhook's event id (`handled_comments`): a
//! ticket that got both its webhooks and a sync gets nothing twice.

pub mod reconcile;
mod replay;

pub use replay::replay;

use bytes::Bytes;
use std::sync::Arc;

use crate::helpdesk::zendesk::ZendeskClient;
use crate::queue::Envelope;
use crate::worker::{HandleError, Outcome, Worker};
use crate::workflow::{EventKind, TicketEvent, TicketId};

/// The envelope source of a "this ticket changed" notice (a trigger webhook).
pub const TICKET_CHANGED: &str = "zendesk-ticket-changed";
/// The helpdesk the synthetic events belong to (as webhook events do).
pub const SOURCE: &str = "zendesk";

/// Dedupes an event by what it is where the webhook says: a comment by its id, a ticket's
/// creation by the ticket (the keys the sync gives the same events). Other events keep their
/// webhook id: their payloads name no audit (the workflow takes a repeated tag or status
/// snapshot as the same fact).
pub fn key_by_what_it_is(event: &mut TicketEvent) {
    match &event.kind {
        EventKind::CommentAdded { comment } if !comment.id.as_str().trim().is_empty() => {
            event.event_id = format!("zendesk-comment:{}", comment.id);
        }
        EventKind::TicketCreated if !event.ticket.id.as_str().trim().is_empty() => {
            event.event_id = format!("zendesk-created:{}", event.ticket.id);
        }
        _ => {}
    }
}

/// What one sync of a ticket did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub ticket_id: TicketId,
    /// Events the ticket's history holds.
    pub events: usize,
    /// Of those, not handled before: fed to the workflow now.
    pub fed: usize,
}

/// Reads the ticket from the API and feeds what is new. A failure leaves what was fed so
/// far committed; the next sync goes on from there.
pub async fn sync_ticket(
    worker: &Worker,
    api: &Arc<ZendeskClient>,
    ticket_id: &TicketId,
) -> Result<SyncReport, HandleError> {
    let history = api
        .ticket_history(ticket_id)
        .await
        .map_err(|e| HandleError::helpdesk(crate::helpdesk::zendesk::integration::NAME, e))?;
    let events = replay(&history);
    let handled = worker.store().handled_event_ids(SOURCE, ticket_id).await?;
    let mut report = SyncReport {
        ticket_id: ticket_id.clone(),
        events: events.len(),
        fed: 0,
    };
    for event in events {
        if handled.contains(&event.key) {
            continue;
        }
        let body = serde_json::to_vec(&event.payload)
            .map_err(|e| HandleError::permanent(format!("cannot encode a synced event: {e}")))?;
        let envelope = Envelope {
            event_id: event.key,
            ticket_id: ticket_id.clone(),
            source: SOURCE.to_string(),
            received_at_ms: crate::store::now_ms(),
            body: Bytes::from(body),
        };
        // `handle` is what a webhook goes through; boxed, as it calls back into the sync for
        // envelopes of `TICKET_CHANGED` (never these).
        match Box::pin(worker.handle(&envelope)).await {
            Ok(Outcome::Processed) => report.fed += 1,
            Ok(_) => {}
            // One update the workflow cannot take (as a webhook of it would be dead-lettered)
            // does not hold up the ticket's others.
            Err(HandleError::Permanent { reason, .. }) => {
                tracing::warn!(%ticket_id, event_id = %envelope.event_id, %reason, "synced event refused");
            }
            Err(e) => return Err(e),
        }
    }
    metrics::counter!("onbehalf_synced_events_total").increment(report.fed as u64);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{Comment, TicketSnapshot};

    fn event(kind: EventKind) -> TicketEvent {
        TicketEvent {
            event_id: "d4f5c389".into(),
            occurred_at: time::OffsetDateTime::UNIX_EPOCH,
            ticket: TicketSnapshot {
                id: "5158".into(),
                ..TicketSnapshot::default()
            },
            kind,
        }
    }

    #[test]
    fn a_webhook_comment_or_creation_is_keyed_as_the_sync_keys_it() {
        let comment = |id: &str| EventKind::CommentAdded {
            comment: Comment {
                id: id.into(),
                ..Comment::default()
            },
        };
        let mut e = event(comment("9876"));
        key_by_what_it_is(&mut e);
        assert_eq!(e.event_id, "zendesk-comment:9876");
        let mut e = event(EventKind::TicketCreated);
        key_by_what_it_is(&mut e);
        assert_eq!(e.event_id, "zendesk-created:5158");
        for kind in [comment(""), EventKind::RequesterChanged] {
            let mut e = event(kind);
            key_by_what_it_is(&mut e);
            assert_eq!(e.event_id, "d4f5c389");
        }
    }
}
