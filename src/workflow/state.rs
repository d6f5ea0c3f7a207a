//! Per-ticket state machine. STUB: the state-machine helper replaces this file.
use super::{Decision, TicketEvent, WorkflowSettings};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketState {
    pub category: Option<super::Category>,
}

impl TicketState {
    pub fn category(&self) -> Option<super::Category> {
        self.category
    }
    pub fn stage_name(&self) -> &'static str {
        "new"
    }
}

/// Applies one event to the ticket's state. `prev` is `None` for a ticket never seen before.
pub fn decide(
    prev: Option<&TicketState>,
    _event: &TicketEvent,
    _settings: &WorkflowSettings,
    _now: OffsetDateTime,
) -> Decision {
    Decision {
        state: prev.cloned().unwrap_or_default(),
        notes: vec![],
        confirmations: vec![],
    }
}
