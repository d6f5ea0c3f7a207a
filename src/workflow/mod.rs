//! The decision core: pure functions over plain data, no I/O and no clock (time is passed in).
//!
//! `classify` decides a ticket's category from its text and tags (rules are data, see
//! `rules/classification.toml`); `consent` recognises an agent's permission question and judges
//! the requester's reply; `state` is the per-ticket state machine that turns one event into a
//! `Decision` (new state, notes to post, confirmations to record); `notes` renders the notes.

pub mod classify;
pub mod consent;
pub mod notes;
pub mod state;
pub mod text;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use state::{TicketState, decide};

/// The three categories of the handbook page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    ProjectGroupChange,
    AccountAccess,
    Other,
}

impl Category {
    pub const ALL: [Category; 3] = [
        Category::ProjectGroupChange,
        Category::AccountAccess,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::ProjectGroupChange => "project_group_change",
            Category::AccountAccess => "account_access",
            Category::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the requester's reply means for the asked action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentVerdict {
    Granted,
    Declined,
    Unclear,
    /// The reply does not count: not by the requester, or not public.
    Ignored,
}

impl ConsentVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentVerdict::Granted => "granted",
            ConsentVerdict::Declined => "declined",
            ConsentVerdict::Unclear => "unclear",
            ConsentVerdict::Ignored => "ignored",
        }
    }
}

/// A comment as the helpdesk reports it (ids are strings, as Zendesk sends them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: String,
    pub author_id: String,
    /// The author is an agent (Zendesk's `is_staff`).
    pub author_is_staff: bool,
    pub public: bool,
    pub body: String,
}

/// The ticket as it is after the event (Zendesk's `detail`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSnapshot {
    pub id: String,
    pub subject: String,
    pub description: String,
    pub requester_id: String,
    /// Lower-case (`new`, `open`, `pending`, `hold`, `solved`, `closed`).
    pub status: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    TicketCreated,
    CommentAdded {
        comment: Comment,
    },
    TagsChanged {
        added: Vec<String>,
        removed: Vec<String>,
    },
    StatusChanged {
        previous: String,
        current: String,
    },
    /// A well-formed event type the workflow does not act on.
    Other {
        event_type: String,
    },
}

/// One helpdesk event, normalised. Built by the ingest layer from the webhook payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub event_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub ticket: TicketSnapshot,
    pub kind: EventKind,
}

/// Tag names that agents use to steer the workflow (configurable, these are the defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagNames {
    pub ownership_verified: String,
    pub role_verified: String,
    /// `<prefix><category>` overrides the category, e.g. `onbehalf_category_account_access`.
    pub category_prefix: String,
    pub escalated: String,
}

impl Default for TagNames {
    fn default() -> Self {
        TagNames {
            ownership_verified: "account_ownership_verified".into(),
            role_verified: "requester_role_verified".into(),
            category_prefix: "onbehalf_category_".into(),
            escalated: "onbehalf_escalated".into(),
        }
    }
}

/// Everything the core needs besides the state and the event.
#[derive(Debug, Clone)]
pub struct WorkflowSettings {
    pub classifier: classify::Classifier,
    pub tags: TagNames,
    /// e.g. `https://acme.zendesk.com`; used to link the ticket in admin-note drafts.
    pub helpdesk_url: Option<String>,
}

impl Default for WorkflowSettings {
    fn default() -> Self {
        WorkflowSettings {
            classifier: classify::Classifier::builtin(),
            tags: TagNames::default(),
            helpdesk_url: None,
        }
    }
}

/// An internal note the workflow wants on the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteDraft {
    /// Idempotency key within the ticket: at most one note per (ticket, step) is ever posted.
    pub step: String,
    /// Helpdesk markup (HTML for Zendesk's `html_body`), without the reference marker; the
    /// worker appends the marker that ties the note to its record.
    pub html_body: String,
}

/// A confirmation to append to the trail (the store adds seq, hashes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationDraft {
    pub ticket_id: String,
    pub requester_id: String,
    pub category: Category,
    pub action: String,
    /// Only `Granted` or `Declined` are ever recorded.
    pub verdict: ConsentVerdict,
    pub quote: String,
    pub request_comment_id: String,
    pub reply_comment_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
}

/// What one event changes: the new state, the notes to post, the confirmations to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub state: TicketState,
    pub notes: Vec<NoteDraft>,
    pub confirmations: Vec<ConfirmationDraft>,
}
