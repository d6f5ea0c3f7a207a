//! What the ticket snapshot says: category (first event, override tags) and the agents' fact
//! tags. (The status is `status`'s, the requester `requester`'s.)

use super::{Ctx, TicketState};
use crate::workflow::notes::{NextStep, NoteTemplate};
use crate::workflow::{Category, EventKind, NoteStep, TagNames};

/// The ticket's tags after the event. The snapshot should already include a tag change; the
/// change itself is applied on top in case the snapshot lags behind it.
fn effective_tags(ctx: &Ctx) -> Vec<String> {
    let mut tags = ctx.event.ticket.tags.clone();
    if let EventKind::TagsChanged { added, removed } = &ctx.event.kind {
        tags.retain(|t| !removed.contains(t));
        for tag in added {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
    }
    tags
}

fn override_category(tags: &[String], names: &TagNames) -> Option<Category> {
    tags.iter()
        .filter_map(|t| t.strip_prefix(names.category_prefix.as_str()))
        .find_map(Category::parse)
}

pub(super) fn apply(state: &mut TicketState, ctx: &mut Ctx) {
    let event = ctx.event;
    let names = &ctx.settings.tags;
    let tags = effective_tags(ctx);
    let has = |name: &str| tags.iter().any(|t| t == name);

    let first = state.category.is_none();
    let fresh = state
        .tags_seen_at
        .is_none_or(|seen| event.occurred_at >= seen);
    if !first && !fresh {
        return;
    }
    state.tags_seen_at = Some(event.occurred_at);
    let was = state.clone();
    state.ownership_verified = has(&names.ownership_verified);
    state.role_verified = has(&names.role_verified);
    // A tag that voided facts left behind counts again once it was taken off and put back.
    state.ownership_stale &= state.ownership_verified;
    state.role_stale &= state.role_verified;
    state.escalated = has(&names.escalated);
    state.category_override = override_category(&tags, names);

    let ticket = &event.ticket;
    if first {
        let found = ctx
            .settings
            .classifier
            .classify(&ticket.subject, &ticket.description, &tags);
        state.category = Some(found.category);
        state.reasons = found.reasons;
        // A ticket already escalated when first seen gets its escalation in the triage note.
        state.escalation_noted = state.escalated;
        let view = ctx.view(state);
        ctx.note(state, NoteStep::Triage, NoteTemplate::Triage, &view, false);
        return;
    }

    if state.category_override != was.category_override {
        let found = ctx
            .settings
            .classifier
            .classify(&ticket.subject, &ticket.description, &tags);
        if Some(found.category) != was.category {
            state.category = Some(found.category);
            state.reasons = found.reasons;
            state.recategorisations += 1;
            let step = NoteStep::Recategorised {
                category: found.category,
                nth: state.recategorisations,
            };
            let mut view = ctx.view(state);
            view.previous_category = was.category;
            ctx.note(state, step, NoteTemplate::Recategorised, &view, true);
            // The recategorisation note already shows the whole picture.
            state.escalation_noted |= state.escalated;
            return;
        }
    }

    let Some(category) = state.category else {
        return;
    };
    if state.escalated && !state.escalation_noted && category != Category::Other {
        state.escalation_noted = true;
        let view = ctx.view(state);
        ctx.note(
            state,
            NoteStep::Escalated,
            NoteTemplate::Escalated,
            &view,
            false,
        );
        return;
    }
    if state.escalated {
        // Principle 2: the escalation decides now; no verification prompts.
        return;
    }
    let newly = state.verified(category) && !was.verified(category);
    if newly {
        let step = match category {
            Category::AccountAccess => NoteStep::OwnershipVerified,
            _ => NoteStep::RoleVerified,
        };
        let view = ctx.view(state);
        debug_assert!(view.next != NextStep::VerifyOwnership);
        ctx.note(state, step, NoteTemplate::Verified, &view, false);
    }
}
