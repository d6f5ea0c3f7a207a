//! `onbehalf zendesk check`: the connection test Zendesk's own "Test webhook" button cannot
//! give (it signs with a public test secret, which the receiver refuses). It signs a harmless
//! event with the configured secret, sends it to the receiver and says what came back.
//!
//! The event is a real Zendesk event type that onbehalf does not handle
//! (`ticket.priority_changed`), so an accepting receiver answers `202 {"status":"ignored"}`
//! after checking the signature and parsing it, and queues nothing.

use std::io::Write;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::Config;
use crate::ingest::signature::{ZENDESK_SIGNATURE, ZENDESK_TIMESTAMP, ZendeskSignature};

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(
        "no signing secret: set ONBEHALF_ZENDESK_SIGNING_SECRETS (the receiver's) or run `onbehalf serve` once so it generates {0}"
    )]
    NoSecret(String),
    #[error("cannot read {path}: {source}")]
    Secret {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Output(#[from] std::io::Error),
}

/// What the receiver answered, or why nothing came back.
#[derive(Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    Accepted,
    Refused,
}

/// The receiver the configuration describes: this machine's listener (a wildcard address is
/// reached over loopback).
pub fn default_receiver_url(config: &Config) -> String {
    format!("{}/webhooks/zendesk", super::server::local_base_url(config))
}

/// Signs and sends the check event to `url`, writing a report to `out`.
pub async fn run(
    config: &Config,
    url: &str,
    out: &mut impl Write,
) -> Result<CheckOutcome, CheckError> {
    let secret = signing_secret(config)?;
    let now = OffsetDateTime::now_utc();
    let timestamp = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default();
    let body = check_event(&timestamp).to_string();
    let signature = ZendeskSignature::sign(&secret, &timestamp, body.as_bytes());
    writeln!(
        out,
        "POST {url} (a ticket.priority_changed event, which onbehalf ignores)"
    )?;
    let sent = reqwest::Client::new()
        .post(url)
        .timeout(Duration::from_secs(config.helpdesk_timeout_secs))
        .header("content-type", "application/json")
        .header(ZENDESK_TIMESTAMP, &timestamp)
        .header(ZENDESK_SIGNATURE, signature)
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(e) => {
            writeln!(out, "FAILED: no answer from {url}: {}", error_chain(&e))?;
            return Ok(CheckOutcome::Refused);
        }
    };
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let reason = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("status"))
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| text.chars().take(200).collect());
    writeln!(out, "{status}: {reason}")?;
    if status.is_success() {
        writeln!(
            out,
            "OK: the receiver accepted the signature and the event; nothing was queued"
        )?;
        Ok(CheckOutcome::Accepted)
    } else {
        let hint = match status.as_u16() {
            401 => {
                "the receiver does not have this secret: compare ONBEHALF_ZENDESK_SIGNING_SECRETS on both sides (and the clocks, for a stale timestamp)"
            }
            404 | 405 => "this URL is not onbehalf's receiver: it ends in /webhooks/zendesk",
            503 => "the receiver cannot queue right now (queue down); Zendesk would retry",
            _ => "see the receiver's log",
        };
        writeln!(out, "FAILED: {hint}")?;
        Ok(CheckOutcome::Refused)
    }
}

/// The secret Zendesk would sign with: the first configured one, else the one `serve`
/// generated in the data folder (never generated here).
fn signing_secret(config: &Config) -> Result<String, CheckError> {
    if let Some(secret) = config.zendesk_signing_secrets.first() {
        return Ok(secret.expose().to_string());
    }
    let path = crate::app::generated_secret_path(&config.data_dir);
    if !path.exists() {
        return Err(CheckError::NoSecret(path.display().to_string()));
    }
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(|source| CheckError::Secret {
            path: path.display().to_string(),
            source,
        })
}

fn check_event(timestamp: &str) -> serde_json::Value {
    serde_json::json!({
        "account_id": 0,
        "id": format!("onbehalf-check-{}", uuid::Uuid::new_v4()),
        "type": "zen:event-type:ticket.priority_changed",
        "subject": "zen:ticket:0",
        "time": timestamp,
        "zendesk_event_version": "2022-11-06",
        "detail": {
            "id": "0",
            "subject": "onbehalf zendesk check",
            "requester_id": "0",
            "status": "OPEN",
            "tags": [],
            "created_at": timestamp,
            "updated_at": timestamp
        },
        "event": {"previous": "LOW", "current": "NORMAL"}
    })
}

/// "error sending request: … : Connection refused (os error 111)": reqwest's top-level
/// message alone does not say why.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
