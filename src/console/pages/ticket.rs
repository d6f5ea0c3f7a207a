//! `GET /console/tickets/{helpdesk}/{id}`: one ticket's timeline — the events processed, the
//! statuses seen, each note with its status, each trail record — in time order, under the
//! classification and its reasons.

use axum::extract::{Path, State};
use axum::response::Html;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::console::error::ConsoleError;
use crate::console::render::{self, note_html};
use crate::console::session::Session;
use crate::ingest::HttpState;
use crate::workflow::{CommentId, NoteStep, TicketId};

/// One entry of the timeline.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Entry {
    Event {
        at: i64,
        event_id: String,
    },
    Status {
        at: i64,
        status: String,
    },
    Note {
        at: i64,
        step: String,
        note_kind: String,
        status: String,
        error: Option<String>,
        attempts: i64,
        body_html: String,
    },
    Confirmation {
        at: i64,
        seq: i64,
        verdict: String,
        quote: String,
        action: String,
        request_comment_id: CommentId,
        reply_comment_id: CommentId,
        withdraws_seq: Option<i64>,
    },
}

impl Entry {
    fn at(&self) -> i64 {
        match self {
            Entry::Event { at, .. }
            | Entry::Status { at, .. }
            | Entry::Note { at, .. }
            | Entry::Confirmation { at, .. } => *at,
        }
    }

    /// Within one millisecond: the event, then what it changed, then what it decided.
    fn rank(&self) -> u8 {
        match self {
            Entry::Event { .. } => 0,
            Entry::Status { .. } => 1,
            Entry::Confirmation { .. } => 2,
            Entry::Note { .. } => 3,
        }
    }
}

fn rfc3339_ms(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// The note kind a step key belongs to (`triage`, `question`…), or the key itself for one
/// this release does not know.
pub fn note_kind(step: &str) -> String {
    serde_json::from_value::<NoteStep>(serde_json::Value::String(step.to_string()))
        .map(|s| s.kind().to_string())
        .unwrap_or_else(|_| step.to_string())
}

pub async fn page(
    State(state): State<HttpState>,
    session: Session,
    Path((helpdesk, id)): Path<(String, TicketId)>,
) -> Result<Html<String>, ConsoleError> {
    let Some(view) = state.store.ticket_view(&helpdesk, &id).await? else {
        return Err(ConsoleError::NotFound(format!(
            "onbehalf has no record of {helpdesk} ticket {id}"
        )));
    };
    let events = state.store.processed_events_of(&helpdesk, &id).await?;
    let mut entries: Vec<Entry> = events
        .into_iter()
        .map(|e| Entry::Event {
            at: e.processed_at,
            event_id: e.event_id,
        })
        .collect();
    if let Some(statuses) = view.state.get("statuses").and_then(|s| s.as_array()) {
        for seen in statuses {
            let at = seen.get("at").and_then(|a| a.as_str()).and_then(rfc3339_ms);
            let status = seen.get("status").and_then(|s| s.as_str());
            if let (Some(at), Some(status)) = (at, status) {
                entries.push(Entry::Status {
                    at,
                    status: status.to_string(),
                });
            }
        }
    }
    for note in &view.notes {
        entries.push(Entry::Note {
            at: note.created_at,
            note_kind: note_kind(&note.step),
            step: note.step.clone(),
            status: note.status.as_str().to_string(),
            error: note.error.clone(),
            attempts: note.attempts,
            body_html: note_html(&note.body),
        });
    }
    for record in &view.confirmations {
        entries.push(Entry::Confirmation {
            at: rfc3339_ms(&record.decided_at).unwrap_or(0),
            seq: record.seq,
            verdict: record.verdict.as_str().to_string(),
            quote: record.quote.clone(),
            action: record.action.clone(),
            request_comment_id: record.request_comment_id.clone(),
            reply_comment_id: record.reply_comment_id.clone(),
            withdraws_seq: record.withdraws_seq,
        });
    }
    entries.sort_by_key(|e| (e.at(), e.rank()));
    let reasons: Vec<String> = view
        .state
        .get("reasons")
        .and_then(|r| r.as_array())
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let open_questions = view
        .state
        .get("questions")
        .and_then(|q| q.as_array())
        .map_or(0, Vec::len);
    let body = render::page(
        "ticket.html",
        "tickets",
        &session.csrf,
        minijinja::context! {
            helpdesk => view.helpdesk,
            ticket_id => view.ticket_id,
            category => view.category,
            override_category => view.state.get("category_override").and_then(|c| c.as_str()),
            stage => view.stage,
            reasons, open_questions, entries,
            helpdesk_url => state.console.ticket_url(&helpdesk, &id),
        },
    )?;
    Ok(Html(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_kinds_come_from_the_step_keys() {
        assert_eq!(note_kind("triage"), "triage");
        assert_eq!(note_kind("question-123"), "question");
        assert_eq!(note_kind("verdict-9"), "verdict");
        assert_eq!(note_kind("something-new"), "something-new");
    }
}
