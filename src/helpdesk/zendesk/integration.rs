//! Zendesk behind the seam: `POST /webhooks/zendesk` takes event-subscription payloads and
//! trigger bodies (`trigger`), signed as Zendesk signs (`signature`); its events parse with
//! `payload`; notes go through its REST client (or the shadow).

use axum::http::HeaderMap;
use std::sync::Arc;

use super::signature::ZendeskSignature;
use super::{is_ticket_id, payload, trigger};
use crate::helpdesk::Helpdesk;
use crate::helpdesk::integration::{Integration, Requesters};
use crate::helpdesk::webhook::{
    ParseError, QueuedEvent, ReceiveError, Reception, SignatureScheme, VerifiedBody,
};
use crate::workflow::{HelpdeskTerms, TicketEvent};

pub const NAME: &str = "zendesk";

/// Zendesk's link and status names: a ticket is at `/agent/tickets/{id}`; new, open, pending
/// and hold are live, solved may be reopened, closed is final ("Once a ticket is closed (as
/// distinct from solved), it can't be reopened": Creating and updating tickets,
/// developer.zendesk.com/documentation/ticketing/managing-tickets/creating-and-updating-tickets/).
pub fn terms(url: Option<&str>) -> HelpdeskTerms {
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    HelpdeskTerms {
        ticket_link: url
            .map(|u| u.trim_end_matches('/'))
            .filter(|u| !u.is_empty())
            .map(|u| format!("{u}/agent/tickets/{{id}}")),
        live: names(&["new", "open", "pending", "hold"]),
        solved: names(&["solved"]),
        closed: names(&["closed"]),
    }
}

pub struct ZendeskIntegration {
    signature: ZendeskSignature,
    notes: Arc<dyn Helpdesk>,
    terms: HelpdeskTerms,
    requesters: Option<Arc<dyn Requesters>>,
}

impl ZendeskIntegration {
    pub fn new(
        signature: ZendeskSignature,
        notes: Arc<dyn Helpdesk>,
        url: Option<&str>,
    ) -> ZendeskIntegration {
        ZendeskIntegration {
            signature,
            notes,
            terms: terms(url),
            requesters: None,
        }
    }

    /// Reads requesters' e-mail addresses with `api` (Show User).
    pub fn with_requesters(mut self, api: Arc<super::ZendeskClient>) -> ZendeskIntegration {
        self.requesters = Some(api);
        self
    }
}

fn malformed(message: impl Into<String>, code: &'static str) -> ReceiveError {
    ReceiveError {
        message: message.into(),
        code,
    }
}

impl Integration for ZendeskIntegration {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &dyn SignatureScheme {
        &self.signature
    }

    fn requesters(&self) -> Option<Arc<dyn Requesters>> {
        self.requesters.clone()
    }

    /// Its webhooks' events, and "this ticket changed" notices (trigger webhooks), which the
    /// worker syncs from Zendesk's API.
    fn parses(&self, source: &str) -> bool {
        source == NAME || source == crate::sync::TICKET_CHANGED
    }

    fn receive(&self, headers: &HeaderMap, body: &VerifiedBody) -> Result<Reception, ReceiveError> {
        let bytes = body.bytes();
        if let Some(changed) = trigger::parse(bytes) {
            let changed = changed.map_err(|e| malformed(e.to_string(), "bad_ticket_id"))?;
            return Ok(Reception::Queue {
                event_id: trigger::dedupe_key(headers, bytes, &changed.ticket_id),
                ticket_id: changed.ticket_id.into(),
                source: crate::sync::TICKET_CHANGED.into(),
            });
        }
        let event = payload::parse_header(bytes).map_err(|e| malformed(e.to_string(), e.code()))?;
        // A handled type that names no ticket gives the workflow nothing to act on either.
        if !payload::is_handled(&event.event_type) || event.ticket_id.is_empty() {
            tracing::debug!(event_id = %event.event_id, event_type = %event.event_type, "event type not handled");
            return Ok(Reception::Ignored {
                event_id: event.event_id,
            });
        }
        // The id of an event acted on goes into helpdesk URL paths: only Zendesk's syntax (a
        // positive integer) passes. Ignored events never reach the helpdesk.
        if !is_ticket_id(&event.ticket_id) {
            return Err(malformed(
                "ticket id is not a Zendesk ticket id (a positive integer)",
                "bad_ticket_id",
            ));
        }
        Ok(Reception::Queue {
            event_id: event.event_id,
            ticket_id: event.ticket_id.into(),
            source: NAME.into(),
        })
    }

    fn parse(&self, queued: &QueuedEvent) -> Result<TicketEvent, ParseError> {
        let mut event = payload::parse_event(queued.body.bytes(), queued.received_at)
            .map_err(|e| ParseError { code: e.code() })?;
        crate::sync::key_by_what_it_is(&mut event);
        Ok(event)
    }

    fn notes(&self) -> Arc<dyn Helpdesk> {
        self.notes.clone()
    }

    fn terms(&self) -> HelpdeskTerms {
        self.terms.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_go_to_the_agent_interface_and_solved_is_not_final() {
        let terms = terms(Some("https://acme.zendesk.com/"));
        assert_eq!(
            terms.link(&"42".into()),
            "https://acme.zendesk.com/agent/tickets/42"
        );
        assert!(terms.solved.contains(&"solved".to_string()));
        assert!(terms.closed.contains(&"closed".to_string()));
        assert_eq!(super::terms(None).link(&"42".into()), "#42");
    }
}
