//! Comments: an agent's public comment may ask a permission question (`questions`), the
//! requester's public reply may answer one or withdraw a permission (`replies`).

use super::{Ctx, Moment, TicketState, questions, replies};
use crate::workflow::EventKind;
use crate::workflow::consent;

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
            questions::on_question(state, ctx, question, &comment.body, at);
        }
    } else if &comment.author_id == requester && comment.public {
        replies::on_reply(state, ctx, comment, at);
    }
    // Anyone else (a CC'd colleague, another end user) cannot give permission.
}

/// The later of two moments.
pub(super) fn latest(a: Option<Moment>, b: &Moment) -> Option<Moment> {
    match a {
        Some(a) if a > *b => Some(a),
        _ => Some(b.clone()),
    }
}
