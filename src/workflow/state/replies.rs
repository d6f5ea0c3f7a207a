//! The requester's public reply: an answer to the open questions asked before it, or, once a
//! permission was granted, a possible withdrawal of it.
//!
//! Several open questions: the reply is judged against the newest one with the others
//! counted, so a bare "yes" is `unclear`; a refusal is not recorded either (the record names
//! one action, and the reply does not say which) but the note says not to act on any of them.
//! Either way the agent is asked to ask one thing at a time.
//!
//! After a grant, until the ticket is done, each reply is judged against the granted question:
//! - `declined` withdraws the permission: a `declined` record that names the grant it
//!   withdraws, a "permission withdrawn — do not proceed" note, and no ready-to-paste Admin Note
//!   or issue line from then on;
//! - `unclear` with a signal that could narrow the permission (a condition, a scope, a
//!   moment, a hedge, another action…) puts the grant in doubt: a note asks the agent to ask
//!   again before acting, and the drafts are no longer offered;
//! - anything else (thanks, "how long will it take?", a repeated "yes") is silent. The agent
//!   reads the reply in the conversation anyway; a note on every thank-you would teach agents to
//!   skip onbehalf's notes, including the one that matters. No record either: the permission
//!   on record is unchanged, and the trail records permissions, not conversation.

use super::comments::latest;
use super::{
    Ctx, EARLY_REPLIES_KEPT, EarlyReply, Moment, PendingQuestion, SettledQuestion, TicketState,
    Withdrawn,
};
use crate::workflow::consent::{self, Asked, Judgment};
use crate::workflow::notes::{self, NextStep, NoteTemplate, NoteView};
use crate::workflow::{Category, Comment, CommentId, ConfirmationDraft, ConsentVerdict, NoteStep};

pub(super) fn on_reply(state: &mut TicketState, ctx: &mut Ctx, reply: &Comment, at: Moment) {
    let asked_before: Vec<PendingQuestion> = state
        .questions
        .iter()
        .filter(|q| at.is_after(&q.asked))
        .cloned()
        .collect();
    if !asked_before.is_empty() {
        answer(state, ctx, reply, &at, &asked_before);
    } else if !late_answer(state, ctx, reply, &at) && !after_grant(state, ctx, reply, &at) {
        keep_for_later(state, reply, &at);
    }
}

/// The settled question as the open question it was, to judge or record a reply against it.
fn as_asked(s: &SettledQuestion) -> PendingQuestion {
    PendingQuestion {
        action: s.action.clone(),
        question: s.question.clone(),
        asked: s.asked.clone().unwrap_or_else(|| Moment {
            at: s.decided_at,
            comment_id: s.request_comment_id.clone(),
        }),
        verified_when_asked: s.verified_when_asked,
        comment: String::new(),
        asked_of: s.asked_of.clone(),
        unclear_reply: None,
    }
}

/// A reply written after the settled question was asked but before the reply that settled it,
/// arriving late. In time order it was the first answer, so the trail gets it too, and the
/// state becomes what time order gives:
/// - an earlier grant before a refusal: the refusal withdraws it (a "yes" beside another
///   "yes" changes nothing);
/// - an earlier refusal before a grant: a "yes" after a "no" is not taken as permission, so
///   the grant no longer counts and a note says do not proceed;
/// - anything else changes nothing (the later answer stands). Unclear replies stay silent: the
///   conversation has moved on.
///
/// Returns whether the reply was used.
fn late_answer(state: &mut TicketState, ctx: &mut Ctx, reply: &Comment, at: &Moment) -> bool {
    let Some(settled) = state.settled.clone() else {
        return false;
    };
    let Some(asked) = &settled.asked else {
        return false;
    };
    if !at.is_after(asked) || !settled.decided().is_after(at) {
        return false;
    }
    let question = as_asked(&settled);
    let judgment = consent::judge_reply(
        &Asked::question(&question.question, &question.asked_of),
        reply,
    );
    let category = state.category.unwrap_or(Category::Other);
    match judgment.verdict {
        // Beside a grant (or inside a grant and its withdrawal) a "yes" was a repeated yes in
        // time order: nothing to record. Before a plain refusal it was the grant the refusal
        // withdrew.
        ConsentVerdict::Granted
            if settled.verdict == ConsentVerdict::Declined && settled.withdraws.is_none() =>
        {
            ctx.confirmations
                .push(draft(ctx, category, &question, reply, at, &judgment, None));
            if let Some(s) = &mut state.settled {
                s.withdraws = Some(Withdrawn {
                    reply_comment_id: reply.id.clone(),
                    granted_at: at.at,
                });
            }
            // Every record gets its note right after it: the store anchors them in order.
            let mut view = reply_view(ctx, state, &settled.action, &settled.decided(), &judgment);
            view.granted_when = Some(notes::format_time(at.at));
            note_reply(ctx, state, reply, NoteTemplate::LateGrant, &view);
            true
        }
        // Beside a refusal a "no" changes nothing either; before a grant it voids the grant.
        ConsentVerdict::Declined if settled.verdict == ConsentVerdict::Granted => {
            ctx.confirmations
                .push(draft(ctx, category, &question, reply, at, &judgment, None));
            state.settled = Some(SettledQuestion {
                verdict: ConsentVerdict::Declined,
                quote: judgment.quote.clone(),
                reply_comment_id: reply.id.clone(),
                decided_at: at.at,
                withdraws: None,
                doubted_by: None,
                ..settled.clone()
            });
            let mut view = reply_view(ctx, state, &settled.action, at, &judgment);
            view.granted_when = Some(notes::format_time(settled.decided_at));
            note_reply(ctx, state, reply, NoteTemplate::Declined, &view);
            true
        }
        _ => false,
    }
}

/// A reply no question is open for (yet): kept, bounded, newest first dropped last.
fn keep_for_later(state: &mut TicketState, reply: &Comment, at: &Moment) {
    state.early_replies.push(EarlyReply {
        comment: reply.clone(),
        at: at.at,
    });
    state.early_replies.sort_by_key(|a| a.moment());
    let excess = state.early_replies.len().saturating_sub(EARLY_REPLIES_KEPT);
    state.early_replies.drain(..excess);
}

/// The reply to the questions `open` (asked before it, oldest first).
fn answer(
    state: &mut TicketState,
    ctx: &mut Ctx,
    reply: &Comment,
    at: &Moment,
    open: &[PendingQuestion],
) {
    let Some(newest) = open.last() else {
        return;
    };
    let others = open.len() - 1;
    let asked = Asked {
        question: &newest.question,
        full_comment: Some(newest.comment.as_str()).filter(|c| !c.is_empty()),
        asked_of: &newest.asked_of,
        other_open_questions: others,
    };
    let judgment = consent::judge_reply(&asked, reply);
    if judgment.verdict == ConsentVerdict::Ignored {
        return;
    }
    state.last_judged = latest(state.last_judged.take(), at);
    let settles = matches!(
        judgment.verdict,
        ConsentVerdict::Granted | ConsentVerdict::Declined
    );
    if settles && others == 0 {
        settle(state, ctx, newest, reply, at, judgment);
        return;
    }

    // Unclear: the questions stay open, each knowing it got an unclear reply.
    for q in &mut state.questions {
        if open.iter().any(|o| o.asked == q.asked) {
            q.unclear_reply = latest(q.unclear_reply.take(), at);
        }
    }
    let category = state.category.unwrap_or(Category::Other);
    let mut view = reply_view(ctx, state, &newest.action, at, &judgment);
    view.asked_verified = newest.verified_when_asked;
    if others > 0 {
        view.open_questions = open.iter().map(|q| q.action.clone()).collect();
        view.refusal = judgment.verdict == ConsentVerdict::Declined;
    } else if view.next == NextStep::AwaitReply {
        // The question stays open, but waiting is not the next step: asking again is.
        view.next = NextStep::Reask;
    }
    view.paste = Some(notes::Paste {
        label: if others > 0 {
            "Permission question to paste (one action per comment)"
        } else {
            "Permission question to paste"
        },
        text: notes::permission_question(category, Some(&newest.action), Some(&newest.question)),
        line: false,
    });
    note_reply(ctx, state, reply, NoteTemplate::Unclear, &view);
}

/// A granted or declined answer to the one open question `pending`.
fn settle(
    state: &mut TicketState,
    ctx: &mut Ctx,
    pending: &PendingQuestion,
    reply: &Comment,
    at: &Moment,
    judgment: Judgment,
) {
    let category = state.category.unwrap_or(Category::Other);
    ctx.confirmations
        .push(draft(ctx, category, pending, reply, at, &judgment, None));
    state.questions.retain(|q| q.asked != pending.asked);
    state.settled = Some(SettledQuestion {
        action: pending.action.clone(),
        question: pending.question.clone(),
        verdict: judgment.verdict,
        quote: judgment.quote.clone(),
        request_comment_id: pending.asked.comment_id.clone(),
        reply_comment_id: reply.id.clone(),
        decided_at: at.at,
        verified_when_asked: pending.verified_when_asked,
        asked: Some(pending.asked.clone()),
        asked_of: pending.asked_of.clone(),
        withdraws: None,
        doubted_by: None,
    });
    let template = if judgment.verdict == ConsentVerdict::Granted {
        NoteTemplate::Granted
    } else {
        NoteTemplate::Declined
    };
    let mut view = reply_view(ctx, state, &pending.action, at, &judgment);
    view.asked_verified = pending.verified_when_asked;
    note_reply(ctx, state, reply, template, &view);
}

/// The view of a note about a reply: the quote, the action, when, the judge's reasons.
fn reply_view(
    ctx: &Ctx,
    state: &TicketState,
    action: &str,
    at: &Moment,
    judgment: &Judgment,
) -> NoteView {
    let mut view = ctx.view(state).with_quote(&judgment.quote);
    view.action = Some(action.to_string());
    view.when = Some(notes::format_time(at.at));
    view.judgment_reasons = judgment.reasons.clone();
    view
}

/// The one note a reply gets.
fn note_reply(
    ctx: &mut Ctx,
    state: &TicketState,
    reply: &Comment,
    template: NoteTemplate,
    view: &NoteView,
) {
    ctx.note(
        state,
        NoteStep::Verdict {
            reply_id: reply.id.clone(),
        },
        template,
        view,
        false,
    );
}

/// The trail record of `reply` answering `question` (`withdraws`: the grant's reply comment).
fn draft(
    ctx: &Ctx,
    category: Category,
    question: &PendingQuestion,
    reply: &Comment,
    at: &Moment,
    judgment: &Judgment,
    withdraws: Option<CommentId>,
) -> ConfirmationDraft {
    ConfirmationDraft {
        ticket_id: ctx.event.ticket.id.clone(),
        requester_id: question.asked_of.clone(),
        category,
        action: question.action.clone(),
        verdict: judgment.verdict,
        quote: judgment.quote.clone(),
        request_comment_id: question.asked.comment_id.clone(),
        reply_comment_id: reply.id.clone(),
        decided_at: at.at,
        channel: reply.channel.clone(),
        body_sha256: consent::body_sha256(&reply.body),
        withdraws_reply_comment_id: withdraws,
    }
}

/// Whether an unclear reply after a grant may narrow or take back the permission: anything
/// but courtesy, a question, a plain grant or the absence of an answer. A reason this list does
/// not know counts as narrowing, so that a signal the judge learns later errs towards telling
/// the agent.
fn may_narrow(reasons: &[String]) -> bool {
    const HARMLESS: [&str; 9] = [
        "courtesy:",
        "grant:",
        "question:",
        "past:",
        "action:",
        "object:",
        "no explicit answer",
        "no explicit grant",
        "the helpdesk flagged the comment",
    ];
    reasons
        .iter()
        .any(|r| !HARMLESS.iter().any(|h| r.starts_with(h)))
}

/// A reply after a settled grant (see the module docs). Returns whether it changed anything.
fn after_grant(state: &mut TicketState, ctx: &mut Ctx, reply: &Comment, at: &Moment) -> bool {
    let Some(grant) = state
        .settled
        .clone()
        .filter(|s| s.verdict == ConsentVerdict::Granted && at.is_after(&s.decided()))
    else {
        return false;
    };
    let judgment = consent::judge_reply(&Asked::question(&grant.question, &grant.asked_of), reply);
    let category = state.category.unwrap_or(Category::Other);
    let template = match judgment.verdict {
        ConsentVerdict::Declined => {
            let question = as_asked(&grant);
            let withdraws = Some(grant.reply_comment_id.clone());
            ctx.confirmations.push(draft(
                ctx, category, &question, reply, at, &judgment, withdraws,
            ));
            state.settled = Some(SettledQuestion {
                verdict: ConsentVerdict::Declined,
                quote: judgment.quote.clone(),
                reply_comment_id: reply.id.clone(),
                decided_at: at.at,
                withdraws: Some(Withdrawn {
                    reply_comment_id: grant.reply_comment_id.clone(),
                    granted_at: grant.decided_at,
                }),
                doubted_by: None,
                ..grant.clone()
            });
            NoteTemplate::Withdrawn
        }
        ConsentVerdict::Unclear if grant.doubted_by.is_none() && may_narrow(&judgment.reasons) => {
            if let Some(s) = &mut state.settled {
                s.doubted_by = Some(reply.id.clone());
            }
            NoteTemplate::ReplyAfterGrant
        }
        _ => return false,
    };
    state.last_judged = latest(state.last_judged.take(), at);
    // The doubt's next step (asking again) brings its own question to paste.
    let mut view = reply_view(ctx, state, &grant.action, at, &judgment);
    view.granted_when = Some(notes::format_time(grant.decided_at));
    note_reply(ctx, state, reply, template, &view);
    true
}

#[cfg(test)]
mod tests {
    use super::may_narrow;

    #[test]
    fn only_harmless_reasons_leave_a_grant_alone() {
        let reasons = |rs: &[&str]| rs.iter().map(|r| r.to_string()).collect::<Vec<_>>();
        assert!(!may_narrow(&reasons(&["no explicit answer"])));
        assert!(!may_narrow(&reasons(&[
            "question: \"how long\"",
            "no explicit grant"
        ])));
        assert!(may_narrow(&reasons(&[
            "scope: \"only\"",
            "no explicit grant"
        ])));
        assert!(may_narrow(&reasons(&["condition: \"until\""])));
        assert!(may_narrow(&reasons(&["a reason nobody listed"])));
    }
}
