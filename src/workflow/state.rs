//! Per-ticket state machine: one event in, a [`Decision`] out (new state, notes, records).
//!
//! The state keeps *facts* (category, what the agents' tags say, who the requester is, the open
//! permission questions, the settled one, the ticket's status over time) and the stage is
//! derived from them, so that a fact learned out of order (Zendesk delivers at least once and
//! in no guaranteed order) puts the ticket in the right stage without replaying history.
//! Ordering always uses the event's `occurred_at` (ties broken by comment id), never arrival
//! order.
//!
//! Choices the workflow documents leave open:
//! - Escalation (tag `settings.tags.escalated`): one note, then no verification prompts while
//!   the tag is present; permission questions and replies are still followed and recorded
//!   (the trail must be complete), and every note's next step says to follow the escalation.
//! - `other` tickets get no notes, but permission replies are still recorded: a classifier
//!   miss must not lose a customer's permission. An agent's override *to* `other` is
//!   acknowledged once.
//! - Solved is final for notes until the ticket is reopened (`status`): a solved ticket that
//!   goes back to new/open/pending/hold is followed again. Closed (or merged into another
//!   ticket) is final for good. An event that happened while the ticket was live but arrives
//!   after it was solved still updates the permission bookkeeping (and may record a
//!   confirmation) without a note; anything that happened while it was solved is ignored.
//! - An account-access permission given in reply to a question asked before ownership was
//!   verified is recorded (it is what the customer said) but the note says it does not count.
//! - Every open question is kept (`questions`): a reply while several are open is judged
//!   knowing it, so a bare "yes" is `unclear` and the note asks for one question at a time.
//! - A question is bound to the requester it was asked of (`requester`): only their reply
//!   counts, and a change of requester voids the open questions, the settled permission and
//!   the verified facts.
//! - After a grant, a requester reply is judged as a possible withdrawal (`replies`).

mod comments;
mod ctx;
mod gitlab;
mod questions;
mod replies;
mod requester;
mod status;
mod tags;
#[cfg(test)]
mod tests;

use super::gitlab::{GitLabFacts, RoleVerdict};
use super::notes::{NextStep, Progress};
use super::{Category, CommentId, ConsentVerdict, Decision, TicketEvent, WorkflowSettings};
use ctx::Ctx;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

pub use status::{Status, StatusSeen};

/// Everything onbehalf remembers about one ticket (stored as JSON; every field has a default
/// so that states stored by older versions still load).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TicketState {
    pub category: Option<Category>,
    /// Why the category was chosen (classifier evidence).
    pub reasons: Vec<String>,
    /// The category forced by an agent's override tag, if any.
    pub category_override: Option<Category>,
    /// How many times an agent changed the category (keeps note steps unique).
    pub recategorisations: u32,
    /// The ownership tag is on the ticket.
    pub ownership_verified: bool,
    /// The role tag is on the ticket.
    pub role_verified: bool,
    /// The ownership tag was already on the ticket when the requester changed: it speaks for
    /// the previous requester and counts again only once an agent removes and re-adds it.
    pub ownership_stale: bool,
    /// The same for the role tag.
    pub role_stale: bool,
    pub escalated: bool,
    pub escalation_noted: bool,
    /// `occurred_at` of the newest event whose tags were applied: older snapshots are stale.
    #[serde(with = "time::serde::rfc3339::option")]
    pub tags_seen_at: Option<OffsetDateTime>,
    /// Since when the ticket is solved or closed (`None` while it is live). Derived from
    /// `statuses`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub done_at: Option<OffsetDateTime>,
    /// The statuses the events' snapshots showed, in time order (see `status`).
    pub statuses: Vec<StatusSeen>,
    /// How many times the ticket was reopened (keeps note steps unique).
    pub reopenings: u32,
    /// The requester as the newest snapshot names it.
    pub requester_id: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub requester_seen_at: Option<OffsetDateTime>,
    /// How many times the requester changed (keeps note steps unique).
    pub requester_changes: u32,
    /// The permission questions waiting for the requester's answer, oldest first. (Older
    /// versions kept one, as `pending`.)
    #[serde(alias = "pending", deserialize_with = "one_or_many")]
    pub questions: Vec<PendingQuestion>,
    /// The last question that got a granted/declined answer (or whose grant was withdrawn).
    pub settled: Option<SettledQuestion>,
    /// The newest requester reply judged against a question: a question older than it that
    /// arrives late missed that judgment.
    pub last_judged: Option<Moment>,
    /// Requester replies that no question was open for (yet), and replies after a grant that
    /// changed nothing: the question they answer may arrive after them. Bounded to
    /// [`EARLY_REPLIES_KEPT`], newest kept.
    pub early_replies: Vec<EarlyReply>,
    /// Every comment already handled, so a redelivered event changes nothing.
    pub handled_comments: BTreeSet<CommentId>,
    /// What GitLab said about the requester, the last time it was shown in a note (time read
    /// and source included). Counts only while `requester_id` is the same person.
    pub gitlab: Option<GitLabFacts>,
    /// How many notes with GitLab's facts followed the triage note (keeps note steps unique).
    pub gitlab_notes: u32,
    /// Who verified the requester's role, when it is verified: `GitLab API` or the tag.
    pub role_verified_by: Option<String>,
}

/// Older versions stored one pending question (or `null`); this one keeps a list.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PendingQuestion>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Many(Vec<PendingQuestion>),
        One(PendingQuestion),
    }
    Ok(match Option::<Stored>::deserialize(d)? {
        None => vec![],
        Some(Stored::One(q)) => vec![q],
        Some(Stored::Many(qs)) => qs,
    })
}

/// How many unanswered requester replies are kept for a question that may arrive late.
pub const EARLY_REPLIES_KEPT: usize = 5;

/// A point in the ticket's history: time, then comment id to break ties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub comment_id: CommentId,
}

impl Moment {
    /// Strictly later (see the [`Ord`] impl).
    pub fn is_after(&self, other: &Moment) -> bool {
        self > other
    }

    /// Zendesk allocates comment ids in increasing order, so numeric ids compare as numbers;
    /// other ids (never seen from Zendesk) after them, as text; the text last keeps the order
    /// consistent with `Eq` (`07` and `7`).
    fn tie_break(&self) -> (bool, u64, &str) {
        let id = self.comment_id.as_str();
        match id.parse::<u64>() {
            Ok(n) => (false, n, id),
            Err(_) => (true, 0, id),
        }
    }
}

/// Time order. Zendesk times have second resolution, so equal times fall back to the comment
/// ids.
impl Ord for Moment {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.at
            .cmp(&other.at)
            .then_with(|| self.tie_break().cmp(&other.tie_break()))
    }
}

impl PartialOrd for Moment {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingQuestion {
    /// The asked action, verbatim.
    pub action: String,
    /// The whole question sentence, verbatim (what replies are judged against).
    pub question: String,
    pub asked: Moment,
    /// For account access: ownership was verified when the question was asked.
    pub verified_when_asked: bool,
    /// The agent's whole comment (up to [`COMMENT_KEPT`] bytes): other questions in it make a
    /// bare "yes" ambiguous.
    #[serde(default)]
    pub comment: String,
    /// The requester the question was asked of: only their reply counts.
    #[serde(default)]
    pub asked_of: String,
    /// A requester reply judged `unclear` for this question: once the agent asks anything
    /// after it, this question is no longer waited for (the agent asks again if needed).
    #[serde(default)]
    pub unclear_reply: Option<Moment>,
}

/// How much of the asking comment a question keeps (the state is rewritten on every event).
pub const COMMENT_KEPT: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledQuestion {
    pub action: String,
    pub question: String,
    pub verdict: ConsentVerdict,
    pub quote: String,
    pub request_comment_id: CommentId,
    pub reply_comment_id: CommentId,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
    pub verified_when_asked: bool,
    /// When the question was asked (unknown for states stored by older versions).
    #[serde(default)]
    pub asked: Option<Moment>,
    /// The requester the question was asked of (and who answered it).
    #[serde(default)]
    pub asked_of: String,
    /// For a withdrawal: the reply comment of the grant it withdraws, and when that was given.
    #[serde(default)]
    pub withdraws: Option<Withdrawn>,
    /// A later reply of the requester that may narrow this grant (a condition, a scope): the
    /// grant stays on record but is not acted on until the agent asks again.
    #[serde(default)]
    pub doubted_by: Option<CommentId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawn {
    pub reply_comment_id: CommentId,
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: OffsetDateTime,
}

impl SettledQuestion {
    /// The moment of the reply that settled it.
    fn decided(&self) -> Moment {
        Moment {
            at: self.decided_at,
            comment_id: self.reply_comment_id.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlyReply {
    pub comment: super::Comment,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl EarlyReply {
    fn moment(&self) -> Moment {
        Moment {
            at: self.at,
            comment_id: self.comment.id.clone(),
        }
    }
}

/// Where the ticket is in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// No event seen yet.
    New,
    /// Category `other`: onbehalf stays silent.
    Silent,
    VerifyOwnership,
    VerifyRole,
    AskPermission,
    AwaitingPermission,
    /// Several questions are open and a reply did not say which it answers.
    AskOneAtATime,
    PermissionGranted,
    PermissionDeclined,
    PermissionWithdrawn,
    Escalated,
    Done,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::New => "new",
            Stage::Silent => "silent",
            Stage::VerifyOwnership => "verify_ownership",
            Stage::VerifyRole => "verify_role",
            Stage::AskPermission => "ask_permission",
            Stage::AwaitingPermission => "awaiting_permission",
            Stage::AskOneAtATime => "ask_one_at_a_time",
            Stage::PermissionGranted => "permission_granted",
            Stage::PermissionDeclined => "permission_declined",
            Stage::PermissionWithdrawn => "permission_withdrawn",
            Stage::Escalated => "escalated",
            Stage::Done => "done",
        }
    }
}

impl TicketState {
    pub fn category(&self) -> Option<Category> {
        self.category
    }

    /// The stage as a snake_case string (for the API).
    pub fn stage_name(&self) -> &'static str {
        self.stage().as_str()
    }

    pub fn stage(&self) -> Stage {
        if self.done_at.is_some() {
            return Stage::Done;
        }
        let category = match self.category {
            None => return Stage::New,
            Some(Category::Other) => return Stage::Silent,
            Some(c) => c,
        };
        if self.escalated {
            return Stage::Escalated;
        }
        match self.next_step(category) {
            NextStep::VerifyOwnership => Stage::VerifyOwnership,
            NextStep::VerifyRole | NextStep::RoleNotMet => Stage::VerifyRole,
            NextStep::AskPermission | NextStep::Reask => Stage::AskPermission,
            NextStep::AwaitReply => Stage::AwaitingPermission,
            NextStep::AskOneAtATime => Stage::AskOneAtATime,
            NextStep::ProceedProject | NextStep::ProceedAccount => Stage::PermissionGranted,
            NextStep::DoNotProceed => Stage::PermissionDeclined,
            NextStep::PermissionWithdrawn => Stage::PermissionWithdrawn,
            NextStep::FollowEscalation => Stage::Escalated,
            NextStep::Nothing => Stage::Silent,
        }
    }

    /// The verification the category needs is on the ticket and speaks for this requester.
    fn verified(&self, category: Category) -> bool {
        match category {
            Category::AccountAccess => self.ownership_verified && !self.ownership_stale,
            Category::ProjectGroupChange => {
                (self.role_verified && !self.role_stale) || self.gitlab_role() == RoleVerdict::Met
            }
            Category::Other => false,
        }
    }

    /// GitLab's facts, when they are about the current requester.
    pub fn current_gitlab(&self) -> Option<&GitLabFacts> {
        self.gitlab
            .as_ref()
            .filter(|f| self.requester_id.as_deref() == Some(f.requester_id.as_str()))
    }

    /// What GitLab says of the current requester's role.
    fn gitlab_role(&self) -> RoleVerdict {
        self.current_gitlab()
            .map_or(RoleVerdict::Unknown, GitLabFacts::role_verdict)
    }

    /// `GitLab API` or the role tag, while the role is verified.
    fn role_verifier(&self, tags: &super::TagNames) -> Option<String> {
        if self.category != Some(Category::ProjectGroupChange) {
            None
        } else if self.gitlab_role() == RoleVerdict::Met {
            Some("GitLab API".into())
        } else if self.role_verified && !self.role_stale {
            Some(format!("tag {}", tags.role_verified))
        } else {
            None
        }
    }

    /// The newest open question.
    fn newest_question(&self) -> Option<&PendingQuestion> {
        self.questions.last()
    }

    /// A settled grant that staff may act on (for account access only when the question was
    /// asked after ownership was verified; never once a later reply put it in doubt).
    fn usable_grant(&self, category: Category) -> Option<&SettledQuestion> {
        self.settled.as_ref().filter(|s| {
            s.verdict == ConsentVerdict::Granted
                && s.doubted_by.is_none()
                && (category != Category::AccountAccess || s.verified_when_asked)
        })
    }

    /// Several questions are open and a reply already left it unsaid which it answered.
    fn ambiguous(&self) -> bool {
        self.questions.len() > 1 && self.questions.iter().any(|q| q.unclear_reply.is_some())
    }

    /// The one next step, derived from the facts (without escalation, see `next_step`).
    fn workflow_step(&self, category: Category) -> NextStep {
        let verified = self.verified(category);
        match category {
            Category::Other => NextStep::Nothing,
            Category::AccountAccess => {
                if !verified {
                    NextStep::VerifyOwnership
                } else if self.ambiguous() {
                    NextStep::AskOneAtATime
                } else if let Some(p) = self.newest_question() {
                    if p.verified_when_asked {
                        NextStep::AwaitReply
                    } else {
                        NextStep::Reask
                    }
                } else {
                    self.after_settled(category)
                }
            }
            Category::ProjectGroupChange => {
                // Role verification before the question is only a soft rule here: the note
                // reminds the agent, the flow goes on.
                if self.ambiguous() {
                    NextStep::AskOneAtATime
                } else if !self.questions.is_empty() {
                    NextStep::AwaitReply
                } else if self.settled.is_some() {
                    self.after_settled(category)
                } else if !verified && self.gitlab_role() == RoleVerdict::NotMet {
                    NextStep::RoleNotMet
                } else if !verified {
                    NextStep::VerifyRole
                } else {
                    NextStep::AskPermission
                }
            }
        }
    }

    fn after_settled(&self, category: Category) -> NextStep {
        match &self.settled {
            Some(s) if s.withdraws.is_some() => NextStep::PermissionWithdrawn,
            Some(s) if s.verdict == ConsentVerdict::Declined => NextStep::DoNotProceed,
            Some(_) if self.usable_grant(category).is_some() => match category {
                Category::AccountAccess => NextStep::ProceedAccount,
                _ => NextStep::ProceedProject,
            },
            Some(_) => NextStep::Reask,
            None => NextStep::AskPermission,
        }
    }

    fn next_step(&self, category: Category) -> NextStep {
        if self.escalated && category != Category::Other {
            NextStep::FollowEscalation
        } else {
            self.workflow_step(category)
        }
    }

    fn progress(&self, category: Category) -> Progress {
        let verified = self.verified(category);
        // A question asked before ownership was verified does not count as asked.
        let counts =
            |verified_when_asked: bool| category != Category::AccountAccess || verified_when_asked;
        let asked = self.questions.iter().any(|p| counts(p.verified_when_asked))
            || self
                .settled
                .as_ref()
                .is_some_and(|s| counts(s.verified_when_asked));
        Progress {
            verified,
            asked,
            confirmed: self.usable_grant(category).is_some(),
        }
    }

    /// The action the next step is about (the newest open question's, else the settled one's).
    fn current_action(&self) -> Option<(&str, &str)> {
        self.newest_question()
            .map(|p| (p.action.as_str(), p.question.as_str()))
            .or_else(|| {
                self.settled
                    .as_ref()
                    .map(|s| (s.action.as_str(), s.question.as_str()))
            })
    }
}

/// Applies one event to the ticket's state. `prev` is `None` for a ticket never seen before.
/// Pure, and without a clock: all ordering uses the event's own time.
pub fn decide(
    prev: Option<&TicketState>,
    event: &TicketEvent,
    settings: &WorkflowSettings,
) -> Decision {
    decide_with(prev, event, settings, None)
}

/// [`decide`], knowing what GitLab says about the requester (looked up by the worker before
/// the decision; `None` when GitLab is not configured or the ticket needs no lookup).
pub fn decide_with(
    prev: Option<&TicketState>,
    event: &TicketEvent,
    settings: &WorkflowSettings,
    gitlab: Option<&GitLabFacts>,
) -> Decision {
    let mut state = prev.cloned().unwrap_or_default();
    let standing = status::observe(&mut state, event, &settings.helpdesk);
    if !standing.acted_on {
        return Decision {
            state,
            notes: vec![],
            confirmations: vec![],
        };
    }
    let mut ctx = Ctx {
        settings,
        event,
        decision_notes: vec![],
        confirmations: vec![],
    };
    requester::apply(&mut state, &mut ctx);
    let first = state.category.is_none();
    let learnt = gitlab::adopt(&mut state, gitlab);
    tags::apply(&mut state, &mut ctx);
    if learnt && !first {
        gitlab::note(&mut state, &mut ctx);
    }
    if standing.reopened {
        status::note_reopened(&state, &mut ctx);
    }
    comments::apply(&mut state, &mut ctx);
    state.role_verified_by = state.role_verifier(&settings.tags);
    let mut notes = ctx.decision_notes;
    if state.done_at.is_some() {
        notes.clear();
    }
    Decision {
        state,
        notes,
        confirmations: ctx.confirmations,
    }
}
