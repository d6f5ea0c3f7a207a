//! The ticket's status over time: live, solved (done, may come back), or closed (final). Which
//! of the helpdesk's status names is which comes from its terms ([`HelpdeskTerms`]): Zendesk's
//! new/open/pending/hold, solved, closed; Zammad's new/open/pending…, closed, merged.
//!
//! Every event's snapshot says the status *after* the event, so each event is an observation.
//! They are kept in time order, so that an event arriving late is judged by the status the
//! ticket had when it happened, whatever came since: an event of a live period counts even when
//! it arrives after the ticket was solved (without a note then), an event of a solved period
//! never does. A solved ticket that goes back to new/open/pending/hold is live again and its
//! new permission questions and answers are followed.
//!
//! For Zendesk, closed is final: "Once a ticket is closed (as distinct from solved), it can't be reopened"
//! (Zendesk, Creating and updating tickets,
//! <https://developer.zendesk.com/documentation/ticketing/managing-tickets/creating-and-updating-tickets/>);
//! a customer writing again gets a follow-up ticket, which onbehalf sees as a new ticket. A
//! ticket merged into another one is closed by Zendesk, so its merge event counts as closed.

use super::{Ctx, TicketState};
use crate::workflow::notes::NoteTemplate;
use crate::workflow::{EventKind, HelpdeskTerms, NoteStep, TicketEvent};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// new, open, pending, hold: the workflow is followed.
    Live,
    Solved,
    /// Closed, or merged into another ticket: final.
    Closed,
}

impl Status {
    /// The helpdesk's status names, in any case; `None` for what is not one of its statuses
    /// (absent, null, unknown: the observations before it stand).
    fn parse(name: &str, terms: &HelpdeskTerms) -> Option<Status> {
        let name = name.trim().to_ascii_lowercase();
        let is = |names: &[String]| names.contains(&name);
        if is(&terms.live) {
            Some(Status::Live)
        } else if is(&terms.solved) {
            Some(Status::Solved)
        } else if is(&terms.closed) {
            Some(Status::Closed)
        } else {
            None
        }
    }
}

/// One observation: the status an event's snapshot showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusSeen {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub status: Status,
}

/// How many observations are kept. Only the first and last of a run of equal statuses matter,
/// so this covers dozens of status changes; an event older than all of them counts as live
/// (what it carries is acted on rather than lost).
const STATUSES_KEPT: usize = 64;

/// What the ticket's status means for one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Standing {
    /// The ticket was live right after the event (the event's own snapshot says so, or, when
    /// it shows no status, the observations before it): the event is applied. An event whose
    /// snapshot says solved or closed is ignored: it was the solving update or came after it,
    /// and a permission question or answer does not belong to either.
    pub(super) acted_on: bool,
    /// This event made a solved ticket live again.
    pub(super) reopened: bool,
}

/// The status this event shows, if it shows one.
fn observed(event: &TicketEvent, terms: &HelpdeskTerms) -> Option<Status> {
    let snapshot = Status::parse(&event.ticket.status, terms);
    match &event.kind {
        EventKind::Merged {
            target_ticket_id: Some(target),
        } if *target != event.ticket.id => Some(Status::Closed),
        EventKind::StatusChanged { current, .. } => Status::parse(current, terms).or(snapshot),
        _ => snapshot,
    }
}

/// The status at `at`: the newest observation before it (or at it, when `inclusive`); live
/// when nothing was seen before. Closed absorbs everything after it.
fn status_at(seen: &[StatusSeen], at: OffsetDateTime, inclusive: bool) -> Status {
    let before = |s: &&StatusSeen| s.at < at || (inclusive && s.at == at);
    if seen
        .iter()
        .filter(before)
        .any(|s| s.status == Status::Closed)
    {
        return Status::Closed;
    }
    seen.iter()
        .rev()
        .find(|s| before(s))
        .map_or(Status::Live, |s| s.status)
}

/// The status now (after the newest observation).
fn current(seen: &[StatusSeen]) -> Status {
    if seen.iter().any(|s| s.status == Status::Closed) {
        Status::Closed
    } else {
        seen.last().map_or(Status::Live, |s| s.status)
    }
}

/// Since when the ticket is done, if it is done now: the start of the last run of solved or
/// closed observations.
fn done_since(seen: &[StatusSeen]) -> Option<OffsetDateTime> {
    if current(seen) == Status::Live {
        return None;
    }
    let closed_from = seen.iter().position(|s| s.status == Status::Closed);
    let effective = |i: usize| match closed_from {
        Some(c) if i >= c => Status::Closed,
        _ => seen[i].status,
    };
    let mut start = seen.len();
    while start > 0 && effective(start - 1) != Status::Live {
        start -= 1;
    }
    seen.get(start).map(|s| s.at)
}

/// Adds an observation in time order (after any at the same time) and drops what no question
/// can need any more: exact repeats, the middle of runs of one status, the oldest beyond
/// [`STATUSES_KEPT`].
fn insert(seen: &mut Vec<StatusSeen>, observation: StatusSeen) {
    if seen.contains(&observation) {
        return;
    }
    let at = seen.partition_point(|s| s.at <= observation.at);
    seen.insert(at, observation);
    let mut i = 1;
    while i + 1 < seen.len() {
        if seen[i - 1].status == seen[i].status && seen[i].status == seen[i + 1].status {
            seen.remove(i);
        } else {
            i += 1;
        }
    }
    let excess = seen.len().saturating_sub(STATUSES_KEPT);
    seen.drain(..excess);
}

/// Records the event's status and says whether the event is acted on.
pub(super) fn observe(
    state: &mut TicketState,
    event: &TicketEvent,
    terms: &HelpdeskTerms,
) -> Standing {
    if state.statuses.is_empty()
        && let Some(done) = state.done_at
    {
        // Stored by a version that kept only when the ticket was first done.
        state.statuses.push(StatusSeen {
            at: done,
            status: Status::Solved,
        });
    }
    let at = event.occurred_at;
    let was_done = current(&state.statuses) != Status::Live;
    if let Some(status) = observed(event, terms) {
        insert(&mut state.statuses, StatusSeen { at, status });
    }
    let after = status_at(&state.statuses, at, true);
    state.done_at = done_since(&state.statuses);
    let reopened = was_done && state.done_at.is_none();
    if reopened {
        state.reopenings += 1;
    }
    Standing {
        acted_on: after == Status::Live,
        reopened,
    }
}

/// The note that says the workflow is followed again.
pub(super) fn note_reopened(state: &TicketState, ctx: &mut Ctx) {
    let view = ctx.view(state);
    ctx.note(
        state,
        NoteStep::Reopened {
            nth: state.reopenings,
        },
        NoteTemplate::Reopened,
        &view,
        false,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn seen(minute: i64, status: Status) -> StatusSeen {
        StatusSeen {
            at: datetime!(2025-01-08 10:00 UTC) + time::Duration::minutes(minute),
            status,
        }
    }

    #[test]
    fn the_middle_of_a_run_is_dropped_but_its_ends_are_kept() {
        let mut list = vec![];
        for m in [1, 2, 3, 4] {
            insert(&mut list, seen(m, Status::Solved));
        }
        assert_eq!(list, [seen(1, Status::Solved), seen(4, Status::Solved)]);
        // A late observation inside the run splits it.
        insert(&mut list, seen(2, Status::Live));
        assert_eq!(
            list,
            [
                seen(1, Status::Solved),
                seen(2, Status::Live),
                seen(4, Status::Solved)
            ]
        );
        assert_eq!(
            status_at(&list, seen(3, Status::Live).at, false),
            Status::Live
        );
        assert_eq!(done_since(&list), Some(seen(4, Status::Solved).at));
    }

    #[test]
    fn closed_absorbs_whatever_comes_after_it() {
        let list = [
            seen(1, Status::Closed),
            seen(2, Status::Live),
            seen(3, Status::Solved),
        ];
        assert_eq!(current(&list), Status::Closed);
        assert_eq!(
            status_at(&list, seen(5, Status::Live).at, true),
            Status::Closed
        );
        assert_eq!(done_since(&list), Some(seen(1, Status::Closed).at));
    }

    #[test]
    fn the_list_stays_bounded() {
        let mut list = vec![];
        for m in 0..500 {
            let status = if m % 2 == 0 {
                Status::Live
            } else {
                Status::Solved
            };
            insert(&mut list, seen(m, status));
        }
        assert_eq!(list.len(), STATUSES_KEPT);
        assert_eq!(list.last(), Some(&seen(499, Status::Solved)));
    }
}
