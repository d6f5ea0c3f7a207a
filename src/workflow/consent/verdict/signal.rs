//! What the judge finds in a reply: a `Signal` per qualifier, answer or refusal, and the
//! `Evidence` level of the answer.
//!
//! Every other part of the judge speaks in these terms: the clause reading produces them, the
//! checks on the whole text add to them, and the rules in `refusal` and `grant` weigh them.
//! They are kept apart so that no part depends on another only for its vocabulary.

use crate::workflow::consent::lexicon::{Hit, Kind};

/// A signal found in the reply, for the verdict and its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Signal {
    pub(super) kind: Kind,
    /// Position in the folded text, to order signals.
    pub(super) at: usize,
    pub(super) reason: String,
    /// The sentence it was found in (`usize::MAX`: found in the raw text).
    pub(super) sentence: usize,
    /// A qualifier that is one of the question's own words ("older than 90 days" asked).
    pub(super) asked_words: bool,
    /// A refusal read from a negated verb ("I don't want anything to break"), not said outright.
    pub(super) derived: bool,
    /// A negation in a clause that only gives a reason for the action ("we don't use it
    /// anymore"): it says nothing about the permission.
    pub(super) gives_reason: bool,
}

/// The evidence for a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Evidence {
    None,
    /// "ok", "got it".
    Ack,
    /// "yes", "sí", "that's correct".
    Affirm,
    /// "go ahead", "I confirm", "autorizo": permission, not naming the action.
    Permit,
    /// Permission or a request naming the asked action or its target.
    Anchored,
}

pub(super) fn signal(hit: &Hit<'_>, folded: &str) -> Signal {
    Signal {
        kind: hit.phrase.kind,
        at: hit.start,
        reason: format!(
            "{}: \"{}\"",
            hit.phrase.kind.label(),
            &folded[hit.start..hit.end]
        ),
        sentence: 0,
        asked_words: false,
        derived: false,
        gives_reason: false,
    }
}

/// The phrase a reason quotes ("decline: \"no\"" → "no").
pub(super) fn quoted(reason: &str) -> &str {
    match (reason.find('"'), reason.rfind('"')) {
        (Some(a), Some(b)) if b > a => &reason[a + 1..b],
        _ => "",
    }
}
