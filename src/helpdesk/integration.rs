//! The seam between the generic service and one helpdesk: everything specific to a helpdesk is
//! behind [`Integration`], and the deployment's helpdesks are a [`Helpdesks`] registry keyed by
//! name. The name is the webhook path (`POST /webhooks/{name}`), the queued envelopes' `source`,
//! the store's key prefix and the trail's `helpdesk`.
//!
//! A webhook's way through: `ingest` reads the body, `verify` turns it into a
//! [`VerifiedBody`], `receive` says what to queue; a worker takes the envelope, finds the
//! integration by its source, `parse`s it into the core's `TicketEvent`, decides with the
//! integration's `terms`, and posts the notes through its `notes` client.

use axum::body::Bytes;
use axum::http::HeaderMap;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

use super::webhook::{
    ParseError, QueuedEvent, ReceiveError, Reception, SignatureError, SignatureScheme, VerifiedBody,
};
use super::{Helpdesk, HelpdeskError};
use crate::workflow::{HelpdeskTerms, TicketEvent};

/// Who the helpdesk's users are, as far as the service asks: the requester's e-mail address,
/// which GitLab's facts are looked up by.
#[async_trait::async_trait]
pub trait Requesters: Send + Sync + 'static {
    /// The user's primary e-mail address; `None` when the helpdesk has none for them (or no
    /// such user).
    async fn email_of(&self, user_id: &str) -> Result<Option<String>, HelpdeskError>;
}

pub trait Integration: Send + Sync + 'static {
    /// `zendesk`, `zammad`…
    fn name(&self) -> &'static str;

    /// How its webhooks are signed.
    fn signature(&self) -> &dyn SignatureScheme;

    /// Checks the request's signature; only a verified body can be received or parsed.
    fn verify(
        &self,
        headers: &HeaderMap,
        body: Bytes,
        now: OffsetDateTime,
    ) -> Result<VerifiedBody, SignatureError> {
        VerifiedBody::checked(self.signature(), headers, body, now)
    }

    /// What to queue for a verified webhook (its dedupe key and ticket), or that it is ignored.
    fn receive(&self, headers: &HeaderMap, body: &VerifiedBody) -> Result<Reception, ReceiveError>;

    /// The envelope sources this helpdesk's parser reads (its name, and for Zendesk the
    /// synthetic events of a ticket sync).
    fn parses(&self, source: &str) -> bool {
        source == self.name()
    }

    /// The core's event for a queued webhook; a kind the workflow does not act on comes back
    /// as `EventKind::Other`.
    fn parse(&self, event: &QueuedEvent) -> Result<TicketEvent, ParseError>;

    /// Where its notes go: its API client, or the shadow (notes kept in the store only).
    fn notes(&self) -> Arc<dyn Helpdesk>;

    /// Reads its users' e-mail addresses through its API; `None` without API credentials.
    fn requesters(&self) -> Option<Arc<dyn Requesters>> {
        None
    }

    /// Its link format and status vocabulary, for the core.
    fn terms(&self) -> HelpdeskTerms;

    /// The largest webhook body it sends; larger ones are refused (`413`) before they are read.
    fn max_body_bytes(&self) -> usize {
        crate::ingest::MAX_BODY_BYTES
    }
}

/// The helpdesks of one deployment, by name.
#[derive(Clone, Default)]
pub struct Helpdesks {
    by_name: BTreeMap<&'static str, Arc<dyn Integration>>,
}

impl Helpdesks {
    pub fn new() -> Helpdesks {
        Helpdesks::default()
    }

    pub fn with(mut self, integration: Arc<dyn Integration>) -> Helpdesks {
        self.by_name.insert(integration.name(), integration);
        self
    }

    /// The helpdesk named in a webhook path.
    pub fn named(&self, name: &str) -> Option<&Arc<dyn Integration>> {
        self.by_name.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Integration>> {
        self.by_name.values()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.by_name.keys().copied().collect()
    }
}
