//! Helpdesk adapters: where internal notes go.
//!
//! `zendesk` posts them through the REST API; `shadow` keeps them in the store only (the default
//! until a Zendesk URL is configured), so a team can watch what the service would do first.

pub mod shadow;
pub mod zendesk;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How a note was (or will be) delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteMode {
    /// Posted to the helpdesk.
    Posted,
    /// Kept locally (shadow mode).
    Shadow,
}

#[derive(Debug, thiserror::Error)]
pub enum HelpdeskError {
    /// Throttled; the helpdesk asked us to wait this long.
    #[error("rate limited by the helpdesk (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    /// Worth retrying later: 5xx, timeouts, connection errors, 409 collisions.
    #[error("helpdesk temporarily failed: {0}")]
    Transient(String),
    /// Retrying will not help: 4xx other than 409/429 (bad credentials, closed ticket…).
    #[error("helpdesk refused the request: {0}")]
    Permanent(String),
}

impl HelpdeskError {
    pub fn is_transient(&self) -> bool {
        !matches!(self, HelpdeskError::Permanent(_))
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
        ticket_id: &str,
        reference: &str,
    ) -> Result<Option<String>, HelpdeskError>;

    /// Adds an internal (never public) note. Returns the helpdesk's id for it when known.
    async fn add_internal_note(
        &self,
        ticket_id: &str,
        html_body: &str,
    ) -> Result<Option<String>, HelpdeskError>;
}
