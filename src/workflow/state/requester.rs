//! Who the requester is, and what a change of requester voids.
//!
//! A permission is the requester's to give, and a verification is about one person. Every
//! event's snapshot names the requester after the event (Zendesk's `detail.requester_id`; a
//! `ticket.requester_changed` event carries the new one the same way), so a change is noticed
//! on whichever event shows it first, ordered by the events' own time (an older snapshot never
//! undoes a newer one). A change voids the open questions (asked of someone else), the settled
//! permission (given by someone else) and the verification tags already on the ticket (they
//! speak for someone else until an agent removes and re-adds them); a note says so. The trail
//! keeps what the previous requester said.

use super::{Ctx, TicketState};
use crate::workflow::NoteStep;
use crate::workflow::notes::NoteTemplate;

pub(super) fn apply(state: &mut TicketState, ctx: &mut Ctx) {
    let now = ctx.event.ticket.requester_id.trim();
    if now.is_empty() {
        return;
    }
    let at = ctx.event.occurred_at;
    let Some(known) = state.requester_id.clone() else {
        adopt(state, now);
        state.requester_seen_at = Some(at);
        return;
    };
    if state.requester_seen_at.is_some_and(|seen| at < seen) {
        // An older snapshot: the requester it names may have changed since.
        return;
    }
    state.requester_seen_at = Some(at);
    if known == now {
        return;
    }
    state.requester_id = Some(now.to_string());
    state.requester_changes += 1;

    let voided_questions: Vec<String> = state
        .questions
        .iter()
        .filter(|q| q.asked_of != now)
        .map(|q| q.action.clone())
        .collect();
    state.questions.retain(|q| q.asked_of == now);
    let voided_permission = state
        .settled
        .take_if(|s| s.asked_of != now)
        .map(|s| s.action);
    state.early_replies.retain(|r| r.comment.author_id == now);
    state.ownership_stale |= state.ownership_verified;
    state.role_stale |= state.role_verified;

    let mut view = ctx.view(state);
    view.previous_requester = Some(known);
    view.requester = Some(now.to_string());
    view.open_questions = voided_questions;
    view.voided_permission = voided_permission;
    view.stale_facts = [
        (state.ownership_stale, &ctx.settings.tags.ownership_verified),
        (state.role_stale, &ctx.settings.tags.role_verified),
    ]
    .into_iter()
    .filter(|(stale, _)| *stale)
    .map(|(_, tag)| tag.clone())
    .collect();
    ctx.note(
        state,
        NoteStep::RequesterChanged {
            nth: state.requester_changes,
        },
        NoteTemplate::RequesterChanged,
        &view,
        false,
    );
}

/// The first requester this version sees. Questions and permissions stored by older versions
/// did not say whom they were asked of: they are taken to be this requester's.
fn adopt(state: &mut TicketState, requester: &str) {
    state.requester_id = Some(requester.to_string());
    for q in &mut state.questions {
        if q.asked_of.is_empty() {
            q.asked_of = requester.to_string();
        }
    }
    if let Some(s) = &mut state.settled
        && s.asked_of.is_empty()
    {
        s.asked_of = requester.to_string();
    }
}
