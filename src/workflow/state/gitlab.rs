//! GitLab's facts about the requester: adopted when they are about the current requester and
//! say something new; shown in the triage note, or in a note of their own when they arrive
//! later (GitLab answered after an outage, a new requester was looked up).

use super::{Ctx, TicketState};
use crate::workflow::gitlab::GitLabFacts;
use crate::workflow::notes::NoteTemplate;
use crate::workflow::{Category, NoteStep};

/// Keeps `facts` in the state; true when they are worth a note: about the current requester,
/// and not what the state already shows (a repeated failure is not news).
pub(super) fn adopt(state: &mut TicketState, facts: Option<&GitLabFacts>) -> bool {
    let Some(facts) = facts else {
        return false;
    };
    if state.requester_id.as_deref() != Some(facts.requester_id.as_str()) {
        return false;
    }
    let news = match state.current_gitlab() {
        None => true,
        Some(shown) if shown.failed() && facts.failed() => false,
        Some(shown) => shown.found != facts.found,
    };
    if news
        || state
            .current_gitlab()
            .is_none_or(|shown| shown.read_at < facts.read_at)
    {
        state.gitlab = Some(facts.clone());
    }
    news
}

/// A note with the facts learnt after the triage note.
pub(super) fn note(state: &mut TicketState, ctx: &mut Ctx) {
    let category = state.category.unwrap_or(Category::Other);
    if category == Category::Other || state.escalated {
        return;
    }
    state.gitlab_notes += 1;
    let view = ctx.view(state);
    ctx.note(
        state,
        NoteStep::GitLabFacts {
            nth: state.gitlab_notes,
        },
        NoteTemplate::GitLab,
        &view,
        false,
    );
}
