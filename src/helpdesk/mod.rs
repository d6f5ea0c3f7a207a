//! Helpdesks: one module per helpdesk (`zendesk`, `zammad`) owns everything specific to it —
//! webhook signature, payload parser, API client, link format, status names, its configuration
//! section — behind [`integration::Integration`]. `shadow` keeps notes in the store only (a
//! helpdesk without API credentials, or set to shadow), so a team can watch what the service
//! would do first.

pub mod budget;
pub mod http;
pub mod integration;
pub mod shadow;
pub mod transport;
pub mod webhook;
pub mod zammad;
pub mod zendesk;

pub use integration::{Helpdesks, Integration, Requesters};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::workflow::{CommentId, TicketId};

/// How a note was (or will be) delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteMode {
    /// Posted to the helpdesk.
    Posted,
    /// Kept locally (shadow mode).
    Shadow,
}

impl NoteMode {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteMode::Posted => "posted",
            NoteMode::Shadow => "shadow",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HelpdeskError {
    /// Throttled (429); the helpdesk asked the account to wait this long.
    #[error("rate limited by the helpdesk (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    /// The helpdesk is not answering: 5xx, timeouts, refused connections. Not the note's fault.
    #[error("helpdesk unavailable: {reason}")]
    Unavailable {
        reason: String,
        /// A 503's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// 401/403: the API token was revoked or lost its rights. Not the note's fault either:
    /// every request fails until an admin fixes the credentials.
    #[error("helpdesk refused our credentials: {0}")]
    Unauthorized(String),
    /// This request failed for a reason that may pass (409: the ticket changed meanwhile).
    #[error("helpdesk temporarily failed: {0}")]
    Transient(String),
    /// This note can never be posted as it is (404: ticket deleted; 422: comment limit, closed
    /// ticket…): the helpdesk's reason.
    #[error("helpdesk rejected the note: {0}")]
    Rejected(String),
    /// Retrying will not help (our configuration: a bad URL, an unusable client).
    #[error("helpdesk request impossible: {0}")]
    Permanent(String),
}

impl HelpdeskError {
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            HelpdeskError::Permanent(_) | HelpdeskError::Rejected(_)
        )
    }

    /// For a failure of the helpdesk as a whole (not of this request): how long it asked us
    /// to wait, if it said (`Some(None)`: it did not say).
    pub fn outage(&self) -> Option<Option<Duration>> {
        match self {
            HelpdeskError::RateLimited { retry_after } => Some(Some(*retry_after)),
            HelpdeskError::Unavailable { retry_after, .. } => Some(*retry_after),
            HelpdeskError::Unauthorized(_) => Some(None),
            _ => None,
        }
    }
}

#[async_trait]
pub trait Helpdesk: Send + Sync + 'static {
    fn mode(&self) -> NoteMode;

    /// Looks for a note carrying `reference` among the ticket's recent comments (crash
    /// reconciliation: a note posted just before a crash must not be posted again).
    /// Returns the comment id when found.
    async fn find_note(
        &self,
        ticket_id: &TicketId,
        reference: &str,
    ) -> Result<Option<CommentId>, HelpdeskError>;

    /// Whether the helpdesk answers at all, with a request about no ticket in particular:
    /// tells an outage from a failure of one ticket. `Err` only for outage-class failures.
    async fn probe(&self) -> Result<(), HelpdeskError> {
        Ok(())
    }

    /// Adds an internal (never public) note. Returns the helpdesk's id for it when known.
    async fn add_internal_note(
        &self,
        ticket_id: &TicketId,
        html_body: &str,
    ) -> Result<Option<CommentId>, HelpdeskError>;
}
