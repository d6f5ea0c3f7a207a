//! Permission questions (an agent's public comment) and the requester's replies.

use super::{
    Ctx, EARLY_REPLIES_KEPT, EarlyReply, Moment, PendingQuestion, SettledQuestion, TicketState,
};
use crate::workflow::consent::{self, PermissionQuestion};
use crate::workflow::notes::{self, NoteTemplate};
use crate::workflow::{Category, Comment, ConfirmationDraft, ConsentVerdict, EventKind};

pub(super) fn apply(state: &mut TicketState, ctx: &mut Ctx) {
    let EventKind::CommentAdded { comment } = &ctx.event.kind else {
        return;
    };
    // Redelivered events, and the same comment under another event id, change nothing.
    if !state.handled_comments.insert(comment.id.clone()) {
        return;
    }
    let at = Moment {
        at: ctx.event.occurred_at,
        comment_id: comment.id.clone(),
    };
    let requester = &ctx.event.ticket.requester_id;
    if comment.author_is_staff && &comment.author_id != requester {
        // An internal note never asks the customer anything.
        if comment.public
            && let Some(question) = consent::recognise_question(&comment.body)
        {
            on_question(state, ctx, question, at);
        }
    } else if &comment.author_id == requester && comment.public {
        on_requester_reply(state, ctx, comment, at);
    }
    // Anyone else (a CC'd colleague, another end user) cannot give permission.
}

fn on_question(state: &mut TicketState, ctx: &mut Ctx, question: PermissionQuestion, at: Moment) {
    if state
        .last_question
        .as_ref()
        .is_some_and(|last| !at.is_after(last))
    {
        // A newer question was already seen: this one arrived late and was superseded.
        return;
    }
    let names = &ctx.settings.tags;
    // Verification as it was when the question was asked: the event's own snapshot.
    let verified_when_asked = ctx.event.ticket.tags.contains(&names.ownership_verified);
    let id = at.comment_id.clone();
    state.last_question = Some(at.clone());
    state.pending = Some(PendingQuestion {
        action: question.action,
        question: question.question,
        asked: at.clone(),
        verified_when_asked,
    });

    let category = state.category.unwrap_or(Category::Other);
    let mut view = ctx.view(state);
    view.when = Some(notes::format_time(at.at));
    if category == Category::AccountAccess && !verified_when_asked {
        ctx.note(
            state,
            format!("warning-unverified-{id}"),
            NoteTemplate::Warning,
            &view,
            false,
        );
    } else {
        ctx.note(
            state,
            format!("question-{id}"),
            NoteTemplate::Question,
            &view,
            false,
        );
    }

    // Replies that arrived before this question but were written after it answer it, in order.
    let mut early = std::mem::take(&mut state.early_replies);
    early.sort_by(|a, b| order(&a.moment(), &b.moment()));
    early.retain(|r| r.moment().is_after(&at));
    let mut rest = early.into_iter();
    for reply in rest.by_ref() {
        if judge(state, ctx, &reply.comment, &reply.moment()) {
            break;
        }
    }
    state.early_replies = rest.collect();
}

fn order(a: &Moment, b: &Moment) -> std::cmp::Ordering {
    if a.is_after(b) {
        std::cmp::Ordering::Greater
    } else if b.is_after(a) {
        std::cmp::Ordering::Less
    } else {
        std::cmp::Ordering::Equal
    }
}

fn on_requester_reply(state: &mut TicketState, ctx: &mut Ctx, comment: &Comment, at: Moment) {
    match &state.pending {
        Some(p) if at.is_after(&p.asked) => {
            judge(state, ctx, comment, &at);
        }
        // Older than the pending question: it cannot answer it (nor any later question).
        Some(_) => {}
        None => {
            state.early_replies.push(EarlyReply {
                comment: comment.clone(),
                at: at.at,
            });
            state
                .early_replies
                .sort_by(|a, b| order(&a.moment(), &b.moment()));
            let excess = state.early_replies.len().saturating_sub(EARLY_REPLIES_KEPT);
            state.early_replies.drain(..excess);
        }
    }
}

/// Judges `reply` against the pending question. Returns whether the question is settled.
fn judge(state: &mut TicketState, ctx: &mut Ctx, reply: &Comment, at: &Moment) -> bool {
    let Some(pending) = state.pending.clone() else {
        return false;
    };
    let ticket = &ctx.event.ticket;
    let asked = consent::Asked::question(&pending.question, &ticket.requester_id);
    let judgment = consent::judge_reply(&asked, reply);
    let category = state.category.unwrap_or(Category::Other);
    let template = match judgment.verdict {
        ConsentVerdict::Ignored => return false,
        ConsentVerdict::Unclear => NoteTemplate::Unclear,
        ConsentVerdict::Granted => NoteTemplate::Granted,
        ConsentVerdict::Declined => NoteTemplate::Declined,
    };
    let settled = template != NoteTemplate::Unclear;
    if settled {
        ctx.confirmations.push(ConfirmationDraft {
            ticket_id: ticket.id.clone(),
            requester_id: ticket.requester_id.clone(),
            category,
            action: pending.action.clone(),
            verdict: judgment.verdict,
            quote: judgment.quote.clone(),
            request_comment_id: pending.asked.comment_id.clone(),
            reply_comment_id: reply.id.clone(),
            decided_at: at.at,
            channel: reply.channel.clone(),
            body_sha256: consent::body_sha256(&reply.body),
            withdraws_reply_comment_id: None,
        });
        state.pending = None;
        state.settled = Some(SettledQuestion {
            action: pending.action.clone(),
            question: pending.question.clone(),
            verdict: judgment.verdict,
            quote: judgment.quote.clone(),
            request_comment_id: pending.asked.comment_id.clone(),
            reply_comment_id: reply.id.clone(),
            decided_at: at.at,
            verified_when_asked: pending.verified_when_asked,
        });
    }
    let mut view = ctx.view(state).with_quote(&judgment.quote);
    view.action = Some(pending.action);
    view.when = Some(notes::format_time(at.at));
    view.judgment_reasons = judgment.reasons;
    view.asked_verified = pending.verified_when_asked;
    if template == NoteTemplate::Unclear {
        // The question stays pending, but waiting is not the next step: asking again is.
        if view.next == notes::NextStep::AwaitReply {
            view.next = notes::NextStep::Reask;
        }
        view.paste = Some(notes::Paste {
            label: "Permission question to paste",
            text: notes::permission_question(
                category,
                view.action.as_deref(),
                Some(&pending.question),
            ),
            line: false,
        });
    }
    ctx.note(
        state,
        format!("verdict-{}", reply.id),
        template,
        &view,
        false,
    );
    settled
}
