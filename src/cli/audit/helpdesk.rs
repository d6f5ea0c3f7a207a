//! `audit verify --against-helpdesk`: the anchors on the tickets against the trail.
//!
//! Every verdict note carries `onbehalf:trail:SEQ:HASH` for its record. The tickets are read
//! back from Zendesk (internal notes only: a customer's public comment can quote a marker, and
//! what a customer writes proves nothing about our trail), and every anchor must name a record
//! of the trail, on the same ticket, with the same hash. An anchor whose record is gone means
//! the trail lost records (`TRUNCATE`, a deleted tail); a different hash means it was
//! rewritten. Records without an anchor are listed, not failed: their note may not be posted
//! yet, the service may run in shadow mode, or the record predates anchors.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

use super::AuditError;
use crate::helpdesk::HelpdeskError;
use crate::helpdesk::zendesk::{ListedComment, ZendeskClient};
use crate::store::Store;
use crate::store::trail::Anchor;
use crate::workflow::{CommentId, TicketId};

const SOURCE: &str = "zendesk";
/// Attempts per ticket before the audit gives up on it (throttling is waited out).
const ATTEMPTS: u32 = 5;

/// An anchor as found on a ticket.
struct Found {
    ticket_id: TicketId,
    comment_id: CommentId,
    hash: String,
}

pub(super) struct AnchorReport {
    tickets_read: usize,
    anchors: usize,
    problems: Vec<String>,
    /// Records on the tickets read that no note anchors: (seq, ticket).
    unanchored: Vec<(i64, TicketId)>,
}

impl AnchorReport {
    /// Prints the findings; returns how many problems it printed.
    pub(super) fn print(&self, out: &mut impl Write) -> std::io::Result<usize> {
        writeln!(
            out,
            "helpdesk: {} ticket(s) read, {} anchor(s) found in internal notes",
            self.tickets_read, self.anchors
        )?;
        for problem in &self.problems {
            writeln!(out, "BROKEN: {problem}")?;
        }
        if !self.unanchored.is_empty() {
            let listed: Vec<String> = self
                .unanchored
                .iter()
                .take(20)
                .map(|(seq, ticket)| format!("{seq} (ticket {ticket})"))
                .collect();
            writeln!(
                out,
                "note: {} record(s) have no anchor on their ticket (note not posted yet, shadow mode, or written before anchors): {}{}",
                self.unanchored.len(),
                listed.join(", "),
                if self.unanchored.len() > listed.len() {
                    ", …"
                } else {
                    ""
                }
            )?;
        }
        Ok(self.problems.len())
    }
}

pub(super) async fn reconcile(
    store: &Store,
    client: &ZendeskClient,
    extra_tickets: &[TicketId],
    every_ticket: bool,
) -> Result<AnchorReport, AuditError> {
    let mut tickets: BTreeSet<TicketId> = store
        .tickets_to_check(SOURCE, every_ticket)
        .await?
        .into_iter()
        .collect();
    tickets.extend(extra_tickets.iter().cloned());
    let mut report = AnchorReport {
        tickets_read: 0,
        anchors: 0,
        problems: vec![],
        unanchored: vec![],
    };
    let mut by_seq: BTreeMap<i64, Vec<Found>> = BTreeMap::new();
    let mut read = BTreeSet::new();
    for ticket in &tickets {
        let comments = match comments_of(client, ticket).await {
            Ok(comments) => comments,
            Err(e) => {
                report.problems.push(format!(
                    "ticket {ticket} could not be read, so its anchors are unchecked: {e}"
                ));
                continue;
            }
        };
        report.tickets_read += 1;
        read.insert(ticket.clone());
        for comment in comments.iter().filter(|c| !c.public) {
            let mut seen = BTreeSet::new();
            for anchor in comment.texts().flat_map(Anchor::find_all) {
                // The same marker in the HTML and plain forms of one comment is one anchor.
                if seen.insert((anchor.0.seq, anchor.0.hash.clone())) {
                    report.anchors += 1;
                    by_seq.entry(anchor.0.seq).or_default().push(Found {
                        ticket_id: ticket.clone(),
                        comment_id: comment.id.clone(),
                        hash: anchor.0.hash,
                    });
                }
            }
        }
    }
    let mut after = 0;
    loop {
        let page = store.confirmations_page(None, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for record in &page {
            match by_seq.remove(&record.seq) {
                Some(found) => {
                    for f in found {
                        if f.ticket_id != record.ticket_id {
                            report.problems.push(format!(
                                "record {} is on ticket {} in the trail, but ticket {} (comment {}) holds its anchor",
                                record.seq, record.ticket_id, f.ticket_id, f.comment_id
                            ));
                        } else if f.hash != record.hash {
                            report.problems.push(format!(
                                "record {} (ticket {}) was altered: the trail has hash {}, the anchor in comment {} has {}",
                                record.seq, record.ticket_id, record.hash, f.comment_id, f.hash
                            ));
                        }
                    }
                }
                None if read.contains(&record.ticket_id) => {
                    report
                        .unanchored
                        .push((record.seq, record.ticket_id.clone()));
                }
                None => {}
            }
        }
    }
    for (seq, found) in by_seq {
        for f in found {
            report.problems.push(format!(
                "record {seq} (ticket {}, anchored in comment {} with hash {}) is missing from the trail",
                f.ticket_id, f.comment_id, f.hash
            ));
        }
    }
    Ok(report)
}

/// A ticket's comments; throttling and outages are waited out a few times (an audit may take
/// its time, and must not report a ticket unread because of one 429).
async fn comments_of(
    client: &ZendeskClient,
    ticket: &TicketId,
) -> Result<Vec<ListedComment>, HelpdeskError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.list_comments(ticket).await {
            Ok(comments) => return Ok(comments),
            Err(HelpdeskError::RateLimited { retry_after }) if attempt < ATTEMPTS => {
                tokio::time::sleep(retry_after).await;
            }
            Err(HelpdeskError::Transient(_) | HelpdeskError::Unavailable { .. })
                if attempt < ATTEMPTS =>
            {
                tokio::time::sleep(Duration::from_secs(2 * u64::from(attempt))).await;
            }
            Err(e) => return Err(e),
        }
    }
}
