//! Zammad: trigger webhooks at `POST /webhooks/zammad` (`signature`, `payload`, `html`), its
//! REST client (`client`), link format, state names and configuration section.

pub mod client;
pub mod html;
pub mod payload;
pub mod signature;

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

pub use client::ZammadClient;
pub use signature::ZammadSignature;

use crate::config::Secret;
use crate::helpdesk::integration::{Integration, Requesters};
use crate::helpdesk::webhook::{
    ParseError, QueuedEvent, ReceiveError, Reception, SignatureScheme, VerifiedBody,
};
use crate::helpdesk::{Helpdesk, HelpdeskError};
use crate::workflow::{HelpdeskTerms, TicketEvent};

pub const NAME: &str = "zammad";
/// A unique id per delivery, kept by Zammad's retries of it (the job id of the
/// `TriggerWebhookJob`, which retries itself: zammad/zammad app/jobs/trigger_webhook_job.rb).
pub const DELIVERY: &str = "x-zammad-delivery";
/// The largest Zammad webhook body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Zammad's configuration section (`ONBEHALF_ZAMMAD_*`, or the `[zammad]` table).
#[derive(Debug, Clone)]
pub struct ZammadSection {
    pub url: String,
    /// `None` only in shadow mode.
    pub api_token: Option<Secret>,
    pub signing_secrets: Vec<Secret>,
    pub requests_per_minute: u32,
    pub timeout_secs: u64,
    pub shadow: bool,
}

impl ZammadSection {
    /// The API client, when a token is configured.
    pub fn client(&self) -> Result<Option<ZammadClient>, HelpdeskError> {
        self.api_token
            .as_ref()
            .map(|token| {
                ZammadClient::new(
                    &self.url,
                    token,
                    Duration::from_secs(self.timeout_secs),
                    self.requests_per_minute,
                )
            })
            .transpose()
    }
}

/// Zammad's link and state names. A ticket opens at `{url}/#ticket/zoom/{id}` (the agent
/// interface's route, app/assets/javascripts/app/controllers/ticket_zoom.coffee). The default
/// states (db/seeds/ticket_states.rb): new, open, pending reminder and pending close are live;
/// closed is done, but a customer's follow-up reopens it (unlike Zendesk's closed); merged and
/// removed are final.
pub fn terms(url: &str) -> HelpdeskTerms {
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    let url = url.trim_end_matches('/');
    HelpdeskTerms {
        ticket_link: (!url.is_empty()).then(|| format!("{url}/#ticket/zoom/{{id}}")),
        live: names(&["new", "open", "pending reminder", "pending close"]),
        solved: names(&["closed"]),
        closed: names(&["merged", "removed"]),
    }
}

pub struct ZammadIntegration {
    signature: ZammadSignature,
    notes: Arc<dyn Helpdesk>,
    terms: HelpdeskTerms,
    requesters: Option<Arc<dyn Requesters>>,
}

impl ZammadIntegration {
    pub fn new(signature: ZammadSignature, notes: Arc<dyn Helpdesk>, url: &str) -> Self {
        ZammadIntegration {
            signature,
            notes,
            terms: terms(url),
            requesters: None,
        }
    }

    /// Reads customers' e-mail addresses with `api` (`GET /api/v1/users/{id}`).
    pub fn with_requesters(mut self, api: Arc<ZammadClient>) -> Self {
        self.requesters = Some(api);
        self
    }
}

/// The queue's dedupe key: the delivery id, or (a sender that leaves it out) the body's
/// digest, which a retry repeats.
pub fn dedupe_key(headers: &HeaderMap, body: &[u8]) -> String {
    match headers
        .get(DELIVERY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        Some(delivery) => format!("zammad:{}", delivery.chars().take(100).collect::<String>()),
        None => format!("zammad:sha256:{}", hex::encode(Sha256::digest(body))),
    }
}

impl Integration for ZammadIntegration {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &dyn SignatureScheme {
        &self.signature
    }

    fn requesters(&self) -> Option<Arc<dyn Requesters>> {
        self.requesters.clone()
    }

    fn receive(&self, headers: &HeaderMap, body: &VerifiedBody) -> Result<Reception, ReceiveError> {
        let ticket_id = payload::ticket_id(body.bytes()).map_err(|e| ReceiveError {
            message: e.to_string(),
            code: e.code(),
        })?;
        Ok(Reception::Queue {
            event_id: dedupe_key(headers, body.bytes()),
            ticket_id,
            source: NAME.into(),
        })
    }

    fn parse(&self, queued: &QueuedEvent) -> Result<TicketEvent, ParseError> {
        payload::parse_event(queued.body.bytes(), &queued.event_id, queued.received_at)
            .map_err(|e| ParseError { code: e.code() })
    }

    fn notes(&self) -> Arc<dyn Helpdesk> {
        self.notes.clone()
    }

    fn terms(&self) -> HelpdeskTerms {
        self.terms.clone()
    }

    /// Zammad documents no size limit for webhooks, and the payload carries the whole article
    /// (an HTML e-mail with its quoted history), so more room than Zendesk's 256 KB.
    fn max_body_bytes(&self) -> usize {
        MAX_BODY_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_zoom_into_the_ticket_and_closed_can_come_back() {
        let terms = terms("https://support.example.com/");
        assert_eq!(
            terms.link(&"31".into()),
            "https://support.example.com/#ticket/zoom/31"
        );
        assert!(terms.solved.contains(&"closed".to_string()));
        assert!(terms.closed.contains(&"merged".to_string()));
        assert!(terms.live.contains(&"pending reminder".to_string()));
    }

    #[test]
    fn the_delivery_id_is_the_dedupe_key() {
        let mut headers = HeaderMap::new();
        headers.insert(DELIVERY, "0b1f5e27-3d7c".parse().unwrap());
        assert_eq!(dedupe_key(&headers, b"{}"), "zammad:0b1f5e27-3d7c");
        let bare = HeaderMap::new();
        assert_eq!(dedupe_key(&bare, b"{}"), dedupe_key(&bare, b"{}"));
        assert_ne!(dedupe_key(&bare, b"{}"), dedupe_key(&bare, b"{ }"));
    }
}
