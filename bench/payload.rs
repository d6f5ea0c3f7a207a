//! Unique, correctly signed Zendesk events shaped like the real ones (see examples/zendesk).
//!
//! Bodies are rendered from templates by substitution rather than through `serde_json`, so the
//! load generator spends its CPU on sending, not on building what it sends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use onbehalf::helpdesk::zendesk::signature::{
    ZENDESK_SIGNATURE, ZENDESK_TIMESTAMP, ZendeskSignature,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const REQUESTER: &str = "1001";
pub const AGENT: &str = "8447388090495";

/// Which events a ticket gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// One `ticket.created` per ticket.
    Created,
    /// `ticket.created`, the agent's permission question, the requester's reply.
    Flow,
}

impl Kind {
    pub fn events_per_ticket(self) -> u64 {
        match self {
            Kind::Created => 1,
            Kind::Flow => 3,
        }
    }
}

/// About 1.5 KiB, written like a real account-access request so the classifier has real work.
const DESCRIPTION: &str = "Hi GitLab Support,\\n\\nMy phone was stolen last week while I was travelling and I never saved the recovery codes for my account. I cannot sign in to my GitLab account anymore because it asks for the two-factor authentication code from the authenticator app, which was only on that phone. I have tried the recovery codes I thought I had written down, but none of them work, and I do not have an SSH key registered that I could use to generate new codes.\\n\\nCould you please disable two-factor authentication on my account so that I can log in again and set it up on my new phone? My username is rbanks and the account email is the one I am writing from. I am the owner of the account and of the group where our team keeps its projects, and several colleagues are blocked on merge requests that only I can approve, so this is quite urgent for us.\\n\\nI am happy to verify my identity in whatever way you need: I can answer questions about recent activity on the account, confirm the projects I own, or provide the date I created the account. I understand that you may need to run some checks before making changes, and I will reply here as soon as you ask.\\n\\nI also noticed that my personal access tokens still work from my laptop, in case that helps you confirm the account is mine. Please let me know what else you need from me. For what it is worth, the last time I signed in successfully was on Monday morning from our office network, using Firefox on a Linux laptop.\\n\\nThanks a lot for your help,\\nRiley Banks\\nEngineering lead";

const SUBJECT: &str = "Lost my phone, locked out by 2FA";

const QUESTION: &str = "Hi Riley,\\n\\nThank you for completing the verification.\\n\\nCould you please confirm that you would like us to disable two-factor authentication on the account `rbanks`? Replying in this ticket stating you provide permission will be sufficient.\\n\\nBest regards,\\nSam, GitLab Support";

const REPLY: &str = "Yes, please go ahead and disable two-factor authentication on my account rbanks. I give my permission.\\n\\nThanks,\\nRiley";

/// Ticket ids are handed out from one counter per process, starting at a random base, so two
/// runs against the same service never share a ticket.
static NEXT_TICKET: AtomicU64 = AtomicU64::new(0);

pub fn next_ticket() -> u64 {
    let base = 1_000_000_000 + u64::from(rand::random::<u32>() % 1_000_000) * 1_000_000;
    let _ = NEXT_TICKET.compare_exchange(0, base, Ordering::SeqCst, Ordering::SeqCst);
    NEXT_TICKET.fetch_add(1, Ordering::Relaxed)
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

fn detail(ticket: u64, status: &str, actor: &str) -> String {
    format!(
        r#"{{"id":"{ticket}","subject":"{SUBJECT}","description":"{DESCRIPTION}","requester_id":"{REQUESTER}","submitter_id":"{REQUESTER}","assignee_id":"{AGENT}","status":"{status}","priority":"NORMAL","type":"QUESTION","tags":[],"created_at":"2025-01-08T10:00:00Z","updated_at":"2025-01-08T10:00:00Z","via":{{"channel":"web_form"}},"is_public":true,"actor_id":"{actor}"}}"#
    )
}

fn envelope(kind: &str, ticket: u64, detail: &str, event: &str) -> String {
    let id = uuid::Uuid::new_v4();
    let time = now_rfc3339();
    format!(
        r#"{{"account_id":22129848,"id":"{id}","type":"zen:event-type:ticket.{kind}","subject":"zen:ticket:{ticket}","time":"{time}","zendesk_event_version":"2022-11-06","detail":{detail},"event":{event}}}"#
    )
}

fn comment(ticket: u64, step: u64, author: &str, staff: bool, body: &str) -> String {
    let event = format!(
        r#"{{"comment":{{"id":"{}","body":"{body}","is_public":true,"author":{{"id":"{author}","is_staff":{staff},"name":"Someone"}}}}}}"#,
        ticket * 10 + step
    );
    envelope(
        "comment_added",
        ticket,
        &detail(ticket, "OPEN", author),
        &event,
    )
}

/// Event `step` (0-based) of `ticket` for `kind`.
pub fn event(kind: Kind, ticket: u64, step: u64) -> String {
    match (kind, step) {
        (_, 0) => envelope("created", ticket, &detail(ticket, "NEW", REQUESTER), "{}"),
        (Kind::Flow, 1) => comment(ticket, 1, AGENT, true, QUESTION),
        _ => comment(ticket, 2, REQUESTER, false, REPLY),
    }
}

/// The two signature headers for `body`, signed now.
pub fn signature_headers(secret: &str, body: &[u8]) -> [(&'static str, String); 2] {
    let timestamp = now_rfc3339();
    let signature = ZendeskSignature::sign(secret, &timestamp, body);
    [
        (ZENDESK_SIGNATURE, signature),
        (ZENDESK_TIMESTAMP, timestamp),
    ]
}

pub fn unix_micros(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_json_of_the_expected_size_and_unique() {
        let a: serde_json::Value = serde_json::from_str(&event(Kind::Created, 7, 0)).unwrap();
        let b: serde_json::Value = serde_json::from_str(&event(Kind::Created, 7, 0)).unwrap();
        assert_ne!(a["id"], b["id"]);
        assert_eq!(a["detail"]["id"], "7");
        let len = a["detail"]["description"].as_str().unwrap().len();
        assert!((1400..1700).contains(&len), "{len}");
        let q: serde_json::Value = serde_json::from_str(&event(Kind::Flow, 7, 1)).unwrap();
        assert_eq!(q["event"]["comment"]["author"]["is_staff"], true);
        let r: serde_json::Value = serde_json::from_str(&event(Kind::Flow, 7, 2)).unwrap();
        assert_eq!(r["event"]["comment"]["author"]["id"], REQUESTER);
    }
}
