//! The rule when nothing refuses: `granted` needs evidence that answers this question and not
//! one signal that could qualify it (negation, condition, moment, scope, hedge, question back,
//! sarcasm, another action or target, someone else's approval, an auto-reply) once the story,
//! the afterword, the reasons and the acknowledgements have been excused. A bare yes further
//! needs the agent to have asked one thing and nothing else in the reply to attach it to; an
//! acknowledgement or an open-ended "do what is needed" is never permission.
//!
//! Separate from the refusal rule, which is read first: this one only decides between
//! `granted` and `unclear`.

use super::Framing;
use super::reply::Reply;
use super::signal::{Evidence, Signal};
use super::words::{contains_word, word_spans};
use crate::workflow::ConsentVerdict;
use crate::workflow::consent::lexicon::Kind;

/// The verdict on a reply with no refusal in it; the reason for an `unclear` that no signal
/// gives goes to `reasons`.
pub(super) fn verdict(
    reply: &Reply<'_>,
    framing: &Framing,
    reasons: &mut Vec<String>,
) -> ConsentVerdict {
    let Reply {
        folded,
        reading,
        signals,
        ..
    } = *reply;
    let blockers: Vec<&Signal> = signals
        .iter()
        .filter(|s| {
            !reply.own_plan(s)
                && !reply.afterword(s)
                && !reply.sets_no_terms(s)
                && !reply.harmless(s)
                && !reply.asks_how_long(s)
                && !reply.advice_asked(s)
                && !reply.acknowledged(s)
                && blocks_grant(s.kind)
                && !s.asked_words
                && !reply.background(s)
                && !reply.story_qualifier(s)
                && !reply.reason_for_action(s)
                && !reply.answers_other_question(s)
                && !reply.asks_for_information(s)
        })
        // "My manager approved it yesterday. I give permission to delete it": the requester's
        // own permission naming the action, in a sentence of its own.
        .filter(|s| {
            !(s.kind == Kind::Relay && reading.anchored_sentences.iter().any(|a| *a != s.sentence))
        })
        // "My manager approved this, so I give permission to delete it": the requester's
        // own conclusion, naming the action, after the approval it rests on.
        .filter(|s| {
            !(s.kind == Kind::Relay
                && reading.evidence == Evidence::Anchored
                && reading
                    .own_conclusions
                    .iter()
                    .any(|(sentence, start)| *sentence == s.sentence && s.at < *start))
        })
        .collect();
    match reading.evidence {
        Evidence::None => ConsentVerdict::Unclear,
        Evidence::Ack => {
            reasons.push("an acknowledgement is not permission".to_string());
            ConsentVerdict::Unclear
        }
        _ if !blockers.is_empty() => ConsentVerdict::Unclear,
        Evidence::Affirm if reading.understood => {
            reasons.push("\"yes, understood\" acknowledges: it is not permission".to_string());
            ConsentVerdict::Unclear
        }
        // "Yes to both": an answer to every question the agent asked, this one included.
        Evidence::Affirm | Evidence::Permit
            if framing.other_things.is_some()
                && (reading.evidence == Evidence::Affirm
                    || framing.permission_may_answer_other)
                && !answers_every_question(folded) =>
        {
            reasons.push(format!(
                "the agent's message asked more than one thing ({}): the reply does not say which it answers",
                framing.other_things.as_deref().unwrap_or_default()
            ));
            ConsentVerdict::Unclear
        }
        Evidence::Affirm if !reading.unattached.is_empty() => {
            reasons.push(format!(
                "the yes is attached to another statement: \"{}\"",
                reading.unattached
            ));
            ConsentVerdict::Unclear
        }
        _ => ConsentVerdict::Granted,
    }
}

/// Kinds of signal that, unless excused, keep a reply from being a grant.
fn blocks_grant(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Negation
            | Kind::Condition
            | Kind::Timing
            | Kind::Scope
            | Kind::Hedge
            | Kind::Question
            | Kind::Sarcasm
            | Kind::Redirect
            | Kind::Relay
            | Kind::AutoReply
    )
}

/// An open-ended instruction ("do what is needed", "machen Sie, was nötig ist"): it leaves the
/// action to the agent, so it is no permission for the one asked; beside permission that names
/// the asked action it only adds to it.
const OPEN_ENDED: &[&str] = &[
    "whatever is needed",
    "whatever is necessary",
    "whatever you need",
    "whatever it takes",
    "what is needed",
    "what is necessary",
    "what you need to",
    "was nötig ist",
    "was notwendig ist",
    "was nötig",
    "lo que sea necesario",
    "lo que haga falta",
    "lo que necesiten",
    "ce qui est nécessaire",
    "ce quil faut",
    "o que for preciso",
    "o que for necessário",
    "o que precisar",
    "quello che serve",
    "ciò che serve",
    "quanto necessario",
    "wat nodig is",
    "必要なこと",
    "必要な対応",
    "必要な作業",
    "需要的",
    "필요한 것",
    "필요한 조치",
];

/// Hedges for the open-ended instructions in `folded`.
pub(super) fn open_ended(folded: &str) -> Vec<Signal> {
    OPEN_ENDED
        .iter()
        .filter_map(|p| {
            let at = if p.is_ascii() {
                word_spans(folded)
                    .find(|(i, _)| {
                        folded[*i..].starts_with(p)
                            && !folded[*i + p.len()..].starts_with(char::is_alphanumeric)
                    })
                    .map(|(i, _)| i)
            } else {
                folded.find(p)
            }?;
            Some(Signal {
                kind: Kind::Hedge,
                at,
                reason: format!("open-ended: \"{p}\" leaves the action to the agent"),
                sentence: usize::MAX,
                asked_words: false,
                derived: false,
                gives_reason: false,
            })
        })
        .collect()
}

/// Words that answer every question of a message at once ("yes to both", "beides", "둘 다").
const EVERY_QUESTION: &[&str] = &[
    "both",
    "to both",
    "yes to both",
    "all of them",
    "beide",
    "beides",
    "ambos",
    "ambas",
    "les deux",
    "tous les deux",
    "entrambi",
    "entrambe",
    "tutti e due",
    "allebei",
    "alle twee",
    "beide vragen",
    "両方",
    "どちらも",
    "两个都",
    "兩個都",
    "둘 다",
    "모두",
];

/// `folded` answers every question at once, as words of its own.
fn answers_every_question(folded: &str) -> bool {
    EVERY_QUESTION.iter().any(|w| {
        if w.is_ascii() {
            contains_word(folded, w)
        } else {
            folded.contains(w)
        }
    })
}
