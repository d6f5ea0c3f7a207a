//! What every helpdesk's webhooks go through: a signature check that hands back the only key to
//! the body ([`VerifiedBody`]), and what the receiver does with it ([`Reception`]).
//!
//! A helpdesk's parser takes a `VerifiedBody`, never bytes: a handler that skipped the check
//! has nothing to parse. The type is built in two places only, both in this module: by
//! [`VerifiedBody::checked`] (a scheme said yes) and by [`VerifiedBody::from_queue`] (the
//! queue holds only bodies the receiver verified before publishing them).

use axum::body::Bytes;
use axum::http::HeaderMap;
use time::OffsetDateTime;

use crate::queue::Envelope;
use crate::workflow::TicketId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("signature timestamp is not an ISO-8601 time")]
    BadTimestamp,
    #[error("signature timestamp is outside the accepted window ({0})")]
    OutsideWindow(String),
    #[error("signature does not match")]
    Mismatch,
    /// Signed with the secret Zendesk publishes for its "Test webhook" button: anyone can
    /// sign with it, so it proves nothing and is refused like any other wrong secret.
    #[error(
        "signed with Zendesk's public test secret (the \"Test webhook\" button): refused, since anyone can sign with it; use a real trigger or `onbehalf zendesk check`"
    )]
    TestSecret,
}

/// One helpdesk's signature check over the raw body. All compare in constant time.
pub trait SignatureScheme: Send + Sync + 'static {
    /// Checks `body` (raw bytes, exactly as received) against the request's headers at `now`.
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), SignatureError>;
}

/// A webhook body whose signature passed (or that the queue held, which only takes those).
#[derive(Debug, Clone)]
pub struct VerifiedBody(Bytes);

impl VerifiedBody {
    /// The body, once `scheme` accepted it.
    pub fn checked(
        scheme: &dyn SignatureScheme,
        headers: &HeaderMap,
        body: Bytes,
        now: OffsetDateTime,
    ) -> Result<VerifiedBody, SignatureError> {
        scheme.verify(headers, &body, now)?;
        Ok(VerifiedBody(body))
    }

    /// A queued event's body: the receiver verified it before it published it, and events
    /// the service makes itself (ticket syncs) come from the helpdesk's own API.
    pub fn from_queue(envelope: &Envelope) -> VerifiedBody {
        VerifiedBody(envelope.body.clone())
    }

    pub fn bytes(&self) -> &Bytes {
        &self.0
    }
}

/// What the receiver does with a verified webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reception {
    /// Queue it: `event_id` is the queue's dedupe key, `source` the envelope's source.
    Queue {
        event_id: String,
        ticket_id: TicketId,
        source: String,
    },
    /// Well formed, but nothing the workflow acts on: acknowledged, not queued.
    Ignored { event_id: String },
}

/// A verified body the helpdesk's receiver refuses (answered `400` with `code`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReceiveError {
    pub message: String,
    pub code: &'static str,
}

/// A queued event as a helpdesk's parser reads it.
#[derive(Debug, Clone)]
pub struct QueuedEvent {
    /// The receiver's dedupe key (Zammad's payload does not carry its delivery id).
    pub event_id: String,
    pub received_at: OffsetDateTime,
    pub body: VerifiedBody,
}

impl QueuedEvent {
    pub fn of(envelope: &Envelope) -> QueuedEvent {
        QueuedEvent {
            event_id: envelope.event_id.clone(),
            received_at: OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(envelope.received_at_ms) * 1_000_000,
            )
            .unwrap_or_else(|_| OffsetDateTime::now_utc()),
            body: VerifiedBody::from_queue(envelope),
        }
    }
}

/// A queued body a helpdesk's parser cannot read (dead-lettered with `code`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload rejected: {code}")]
pub struct ParseError {
    pub code: &'static str,
}
