//! An agent's permission question: which questions it opens, replaces or closes.
//!
//! Every question stays open until a reply settles it, the same action is asked again (the
//! newer question replaces it), or it got an unclear reply and the agent asked something after
//! that (the agent has moved on; asking again is how to reopen it). Two questions asked one
//! after the other are both open: a reply then has to say which it answers.

use super::{COMMENT_KEPT, Ctx, Moment, PendingQuestion, TicketState, replies};
use crate::workflow::consent::PermissionQuestion;
use crate::workflow::notes::{self, NoteTemplate};
use crate::workflow::{Category, ConsentVerdict, NoteStep};

/// The same action, whatever the markup, spacing, case or final punctuation.
fn same_action(a: &str, b: &str) -> bool {
    let key = |s: &str| {
        let plain: String = s
            .chars()
            .filter(|c| !matches!(c, '`' | '*' | '_'))
            .collect();
        plain
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .trim_end_matches(['.', '?', '!', ' '])
            .to_lowercase()
    };
    key(a) == key(b)
}

/// At most [`COMMENT_KEPT`] bytes of `body`, cut at a character boundary.
fn kept(body: &str) -> String {
    let mut end = body.len().min(COMMENT_KEPT);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body[..end].to_string()
}

/// Drops the questions that got an unclear reply before another question was asked. Returns
/// their actions.
fn close_passed_over(state: &mut TicketState) -> Vec<String> {
    let asked: Vec<Moment> = state.questions.iter().map(|q| q.asked.clone()).collect();
    let passed_over = |q: &PendingQuestion| {
        q.unclear_reply
            .as_ref()
            .is_some_and(|reply| asked.iter().any(|a| a.is_after(reply)))
    };
    let closed = state
        .questions
        .iter()
        .filter(|q| passed_over(q))
        .map(|q| q.action.clone())
        .collect();
    state.questions.retain(|q| !passed_over(q));
    closed
}

pub(super) fn on_question(
    state: &mut TicketState,
    ctx: &mut Ctx,
    question: PermissionQuestion,
    body: &str,
    at: Moment,
) {
    let asked_of = ctx.event.ticket.requester_id.trim().to_string();
    if state
        .requester_id
        .as_deref()
        .is_some_and(|now| now != asked_of)
    {
        // Asked of a previous requester (the event arrived after the change).
        return;
    }
    if let Some(settled) = state.settled.clone()
        && settled.decided().is_after(&at)
    {
        // A reply after this question already settled a question without it: the judgment
        // cannot be taken back, and this question arrived too late to be answered. Had it
        // arrived in time, a grant would have been ambiguous: it no longer counts.
        let ambiguous_grant = settled.verdict == ConsentVerdict::Granted
            && settled.withdraws.is_none()
            && settled.doubted_by.is_none()
            && !same_action(&settled.action, &question.action);
        if ambiguous_grant {
            if let Some(s) = &mut state.settled {
                s.doubted_by = Some(at.comment_id.clone());
            }
            let mut view = ctx.view(state);
            view.action = Some(question.action);
            view.when = Some(notes::format_time(at.at));
            view.granted_when = Some(notes::format_time(settled.decided_at));
            view.voided_permission = Some(settled.action);
            ctx.note(
                state,
                NoteStep::Question {
                    comment_id: at.comment_id.clone(),
                },
                NoteTemplate::Question,
                &view,
                false,
            );
        }
        return;
    }
    if state
        .questions
        .iter()
        .any(|q| same_action(&q.action, &question.action) && q.asked.is_after(&at))
    {
        // The same action was asked again later: that question replaces this one.
        return;
    }
    state
        .questions
        .retain(|q| !same_action(&q.action, &question.action));
    // A reply after this question was already judged unclear (a settling one returned
    // above): it would have been judged with this question open too.
    let unclear_reply = state.last_judged.clone().filter(|r| r.is_after(&at));
    let names = &ctx.settings.tags;
    // Verification as it was when the question was asked: the event's own snapshot.
    let verified_when_asked =
        ctx.event.ticket.tags.contains(&names.ownership_verified) && !state.ownership_stale;
    state.questions.push(PendingQuestion {
        action: question.action.clone(),
        question: question.question,
        asked: at.clone(),
        verified_when_asked,
        comment: kept(body),
        asked_of,
        unclear_reply,
    });
    state.questions.sort_by(|a, b| a.asked.cmp(&b.asked));
    let closed = close_passed_over(state);

    if state.questions.iter().any(|q| q.asked == at) {
        let category = state.category.unwrap_or(Category::Other);
        let mut view = ctx.view(state);
        view.action = Some(question.action);
        view.when = Some(notes::format_time(at.at));
        view.open_questions = state
            .questions
            .iter()
            .filter(|q| q.asked != at)
            .map(|q| q.action.clone())
            .collect();
        view.closed_questions = closed;
        let id = &at.comment_id;
        if category == Category::AccountAccess && !verified_when_asked {
            ctx.note(
                state,
                NoteStep::WarningUnverified {
                    comment_id: id.clone(),
                },
                NoteTemplate::Warning,
                &view,
                false,
            );
        } else {
            ctx.note(
                state,
                NoteStep::Question {
                    comment_id: id.clone(),
                },
                NoteTemplate::Question,
                &view,
                false,
            );
        }
    }

    // Replies that arrived before this question but were written after it may answer it, in
    // order. Older ones stay: a question older still may yet arrive.
    let (after, before): (Vec<_>, Vec<_>) = std::mem::take(&mut state.early_replies)
        .into_iter()
        .partition(|r| r.moment().is_after(&at));
    state.early_replies = before;
    let mut after = after;
    after.sort_by_key(|a| a.moment());
    for reply in after {
        let moment = reply.moment();
        replies::on_reply(state, ctx, &reply.comment, moment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_action_ignores_markup_case_spacing_and_final_punctuation() {
        assert!(same_action(
            "delete the project `old/site`",
            "Delete the  project old/site."
        ));
        assert!(!same_action(
            "delete the project `old/site`",
            "archive the project `old/site`"
        ));
    }

    #[test]
    fn a_kept_comment_is_cut_at_a_character_boundary() {
        let body = "é".repeat(COMMENT_KEPT);
        let cut = kept(&body);
        assert!(cut.len() <= COMMENT_KEPT && cut.len() >= COMMENT_KEPT - 1);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(kept("short"), "short");
    }
}
