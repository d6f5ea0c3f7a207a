//! Note rendering: the state machine fills a [`NoteView`], a template in `templates/notes/`
//! turns it into Zendesk `html_body` markup.
//!
//! The handbook wording (checklists, next steps, reminders) lives in the templates so that it
//! reads as prose and can be reviewed in one place; this module only supplies data. Every value
//! is HTML-escaped by minijinja because the templates are named `*.html`: the action and the
//! quote are customer or agent text and must never become markup.

mod drafts;
mod evidence;
mod gitlab;
mod plain;

pub use drafts::{admin_note_line, admin_note_summary, issue_line, permission_question};
pub use gitlab::{AccountChecklist, GitLabView, owner_reply};
pub use plain::plain_text;

use super::{Category, TagNames};
use minijinja::Environment;
use serde::Serialize;
use std::sync::OnceLock;
use time::OffsetDateTime;
use time::macros::format_description;

/// The one next step a note puts in bold; the wording is in `templates/notes/_next.html`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    VerifyOwnership,
    VerifyRole,
    /// GitLab shows the requester's role and it is not enough: ask them to have an Owner or
    /// Maintainer contact support.
    RoleNotMet,
    AskPermission,
    Reask,
    AwaitReply,
    /// Several questions are open and a reply did not say which it answers.
    AskOneAtATime,
    ProceedProject,
    ProceedAccount,
    DoNotProceed,
    PermissionWithdrawn,
    FollowEscalation,
    Nothing,
}

/// Which checklist items are done (the checklist itself is in `_checklist.html`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub verified: bool,
    pub asked: bool,
    pub confirmed: bool,
}

/// Text the agent can copy as is: a permission question, an issue line, an Admin Note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Paste {
    pub label: &'static str,
    pub text: String,
    /// A one-line record (shown as preformatted text) rather than prose.
    pub line: bool,
}

/// Which note to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteTemplate {
    Triage,
    Recategorised,
    Verified,
    Question,
    Warning,
    Granted,
    Declined,
    Unclear,
    Escalated,
    /// A requester's reply after a grant withdrew it.
    Withdrawn,
    /// A requester's reply after a grant may narrow it.
    ReplyAfterGrant,
    /// A grant that arrived after the later refusal that withdraws it.
    LateGrant,
    Reopened,
    RequesterChanged,
    /// What GitLab says, when it is learnt after the triage note.
    GitLab,
}

impl NoteTemplate {
    #[cfg(test)]
    const ALL: [NoteTemplate; 15] = [
        NoteTemplate::Triage,
        NoteTemplate::Recategorised,
        NoteTemplate::Verified,
        NoteTemplate::Question,
        NoteTemplate::Warning,
        NoteTemplate::Granted,
        NoteTemplate::Declined,
        NoteTemplate::Unclear,
        NoteTemplate::Escalated,
        NoteTemplate::Withdrawn,
        NoteTemplate::ReplyAfterGrant,
        NoteTemplate::LateGrant,
        NoteTemplate::Reopened,
        NoteTemplate::RequesterChanged,
        NoteTemplate::GitLab,
    ];

    fn file_name(self) -> &'static str {
        match self {
            NoteTemplate::Triage => "triage.html",
            NoteTemplate::Recategorised => "recategorised.html",
            NoteTemplate::Verified => "verified.html",
            NoteTemplate::Question => "question.html",
            NoteTemplate::Warning => "warning.html",
            NoteTemplate::Granted => "granted.html",
            NoteTemplate::Declined => "declined.html",
            NoteTemplate::Unclear => "unclear.html",
            NoteTemplate::Escalated => "escalated.html",
            NoteTemplate::Withdrawn => "withdrawn.html",
            NoteTemplate::ReplyAfterGrant => "reply_after_grant.html",
            NoteTemplate::LateGrant => "late_grant.html",
            NoteTemplate::Reopened => "reopened.html",
            NoteTemplate::RequesterChanged => "requester_changed.html",
            NoteTemplate::GitLab => "gitlab.html",
        }
    }
}

/// Everything a note template may show. Fields a template does not use stay empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteView {
    pub category: Category,
    pub category_label: &'static str,
    pub previous_category: Option<Category>,
    /// Why the classifier chose the category (the words or tags that decided it).
    pub reasons: Vec<String>,
    pub next: NextStep,
    pub progress: Progress,
    pub paste: Option<Paste>,
    pub tags: TagNames,
    /// The asked action, verbatim.
    pub action: Option<String>,
    /// When the question or reply happened, e.g. `2025-01-08 14:25 UTC`.
    pub when: Option<String>,
    /// The requester's words, verbatim, one entry per line.
    pub quote_lines: Vec<String>,
    pub judgment_reasons: Vec<String>,
    /// Whether the question being answered was asked after ownership was verified.
    pub asked_verified: bool,
    /// Other permission questions still open (a question note), the questions a reply could
    /// not be told apart between (an unclear note), or the questions a requester change voided.
    pub open_questions: Vec<String>,
    /// Questions no longer waited for: they got an unclear reply and the agent asked since.
    pub closed_questions: Vec<String>,
    /// With several open questions: the reply reads as a refusal of one of them.
    pub refusal: bool,
    /// When the permission a later reply withdraws or questions was given.
    pub granted_when: Option<String>,
    /// A requester change: who it was and who it is now.
    pub previous_requester: Option<String>,
    pub requester: Option<String>,
    /// The permission (its action) a requester change voided.
    pub voided_permission: Option<String>,
    /// The verification tags that no longer count until removed and re-added.
    pub stale_facts: Vec<String>,
    /// What GitLab says about the requester (`None`: not looked up, or about someone else).
    pub gitlab: Option<GitLabView>,
}

impl NoteView {
    pub fn new(category: Category, tags: &TagNames, next: NextStep, progress: Progress) -> Self {
        NoteView {
            category,
            category_label: category_label(category),
            previous_category: None,
            reasons: vec![],
            next,
            progress,
            paste: None,
            tags: tags.clone(),
            action: None,
            when: None,
            quote_lines: vec![],
            judgment_reasons: vec![],
            asked_verified: true,
            open_questions: vec![],
            closed_questions: vec![],
            refusal: false,
            granted_when: None,
            previous_requester: None,
            requester: None,
            voided_permission: None,
            stale_facts: vec![],
            gitlab: None,
        }
    }

    pub fn with_quote(mut self, quote: &str) -> Self {
        self.quote_lines = quote.lines().map(str::to_string).collect();
        self
    }
}

fn category_label(category: Category) -> &'static str {
    match category {
        Category::ProjectGroupChange => "project/group change",
        Category::AccountAccess => "account access request",
        Category::Other => "no action on behalf of the user",
    }
}

/// `2025-01-08 14:25 UTC`.
pub fn format_time(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .unwrap_or_else(|_| utc.to_string())
}

/// `2025-01-08`, the date format of Admin Notes and issue lines.
pub fn format_date(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| utc.date().to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    #[error("note template {name}: {source}")]
    Template {
        name: &'static str,
        #[source]
        source: minijinja::Error,
    },
}

const TEMPLATES: [(&str, &str); 20] = [
    (
        "layout.html",
        include_str!("../../templates/notes/layout.html"),
    ),
    (
        "_next.html",
        include_str!("../../templates/notes/_next.html"),
    ),
    (
        "_checklist.html",
        include_str!("../../templates/notes/_checklist.html"),
    ),
    (
        "_facts.html",
        include_str!("../../templates/notes/_facts.html"),
    ),
    (
        "triage.html",
        include_str!("../../templates/notes/triage.html"),
    ),
    (
        "recategorised.html",
        include_str!("../../templates/notes/recategorised.html"),
    ),
    (
        "verified.html",
        include_str!("../../templates/notes/verified.html"),
    ),
    (
        "question.html",
        include_str!("../../templates/notes/question.html"),
    ),
    (
        "warning.html",
        include_str!("../../templates/notes/warning.html"),
    ),
    (
        "granted.html",
        include_str!("../../templates/notes/granted.html"),
    ),
    (
        "declined.html",
        include_str!("../../templates/notes/declined.html"),
    ),
    (
        "unclear.html",
        include_str!("../../templates/notes/unclear.html"),
    ),
    (
        "escalated.html",
        include_str!("../../templates/notes/escalated.html"),
    ),
    (
        "withdrawn.html",
        include_str!("../../templates/notes/withdrawn.html"),
    ),
    (
        "reply_after_grant.html",
        include_str!("../../templates/notes/reply_after_grant.html"),
    ),
    (
        "late_grant.html",
        include_str!("../../templates/notes/late_grant.html"),
    ),
    (
        "reopened.html",
        include_str!("../../templates/notes/reopened.html"),
    ),
    (
        "requester_changed.html",
        include_str!("../../templates/notes/requester_changed.html"),
    ),
    (
        "_gitlab.html",
        include_str!("../../templates/notes/_gitlab.html"),
    ),
    (
        "gitlab.html",
        include_str!("../../templates/notes/gitlab.html"),
    ),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Notes are short HTML: keep the block tags from leaving blank lines behind.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_formatter(html_formatter);
        env.add_filter("code", code_spans);
        env.add_filter("evidence", |reasons: Vec<String>| {
            evidence::distinct_evidence(&reasons)
        });
        for (name, source) in TEMPLATES {
            // A template that does not parse is reported when it is rendered (see `render`),
            // and a unit test renders all of them.
            let _ = env.add_template(name, source);
        }
        env
    })
}

/// Renders a note, or reports which template failed.
pub fn try_render(template: NoteTemplate, view: &NoteView) -> Result<String, NoteError> {
    let name = template.file_name();
    let render = || environment().get_template(name)?.render(view);
    let html = render().map_err(|source| NoteError::Template { name, source })?;
    // Collapse the blank lines left by template logic; Zendesk ignores them anyway but the
    // stored note stays readable.
    Ok(html
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Renders a note. The templates are compiled in and a unit test renders every one, so a
/// failure is a bug; the note is still written (with the next step) rather than lost, and
/// says what failed where the agent reads it. (The core does not log: a caller that must
/// hear of the failure uses [`try_render`].)
pub fn render(template: NoteTemplate, view: &NoteView) -> String {
    match try_render(template, view) {
        Ok(html) => html,
        Err(err) => {
            format!(
                "<p><strong>onbehalf</strong>: the note could not be rendered ({}). Category <code>{}</code>, next step: <code>{}</code>.</p>",
                escape(&err.to_string()),
                view.category,
                serde_json::to_string(&view.next)
                    .unwrap_or_default()
                    .trim_matches('"'),
            )
        }
    }
}

/// minijinja's HTML escaping also encodes `/` (`&#x2f;`), which makes the stored notes (and
/// the ticket links in them) hard to read; `/` is harmless in element content and in quoted
/// attribute values, so only `& < > " '` are escaped.
fn html_formatter(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    match value.as_str() {
        Some(text)
            if !value.is_safe() && matches!(state.auto_escape(), minijinja::AutoEscape::Html) =>
        {
            Ok(out.write_str(&escape(text).replace('\'', "&#x27;"))?)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// Agent text written in Markdown (`rbanks`): the backticked spans become `<code>`, the rest
/// is escaped like any value. A backtick without its pair stays as written.
fn code_spans(value: minijinja::Value) -> minijinja::Value {
    if value.is_undefined() || value.is_none() {
        return minijinja::Value::from("");
    }
    let text = value.to_string();
    let parts: Vec<&str> = text.split('`').collect();
    let paired = parts.len() - (1 - parts.len() % 2);
    let mut html = String::new();
    for (i, part) in parts.iter().enumerate() {
        let escaped = escape(part).replace('\'', "&#x27;");
        if i % 2 == 1 && i < paired && !part.is_empty() {
            html.push_str(&format!("<code>{escaped}</code>"));
        } else {
            if i % 2 == 1 {
                html.push('`');
            }
            html.push_str(&escaped);
            if i % 2 == 1 && i < paired {
                html.push('`');
            }
        }
    }
    minijinja::Value::from_safe_string(html)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests;
