//! The rule when the reply refuses. A refusal not followed by a new yes is `declined`; it
//! leaves the reply `unclear` instead when it only keeps part of the action back, only puts it
//! off, is asked or made conditional, or is only read from a negated verb beside a question,
//! and so does a yes after the refusal or a yes with reservations. A yes taken back ("Yes —
//! actually no, don't") or refused outright in a later sentence is `declined`, unless the
//! decision is left open.
//!
//! Separate from the grant rule: once a refusal stands, no grant is possible, and the question
//! is only whether the refusal is said outright.

use super::asked::AskedAction;
use super::clause::opens_clause;
use super::reply::Reply;
use super::signal::{Evidence, Signal, quoted};
use super::words::{CONTRAST, IF, contains_phrase};
use crate::workflow::ConsentVerdict;
use crate::workflow::consent::lexicon::{Hit, Kind, is_sentence_end};

/// The verdict on a reply with a refusal in it (`first_refusal`, the first).
pub(super) fn verdict(reply: &Reply<'_>, first_refusal: &Signal) -> ConsentVerdict {
    let Reply {
        folded,
        hits,
        asked,
        reading,
        signals,
        ..
    } = *reply;
    let refusal = |s: &&Signal| reply.is_refusal(s);
    let has = |k: Kind| reply.has(k);
    let last_refusal = signals.iter().rev().find(refusal).map_or(0, |s| s.at);
    let last_grant = reading.last_evidence_at;
    let refuses_first = reading
        .first_evidence_at
        .is_none_or(|g| first_refusal.at <= g);
    let asks_after = signals
        .iter()
        .any(|s| s.kind == Kind::Question && s.at > first_refusal.at);
    // "No, I'll do it myself": the "do it" is not addressed to us.
    let does_it_themselves = refuses_first && has(Kind::DeclineSoft);
    // "We found out another team still pulls packages from one of the projects": a scope
    // word in a sentence that only tells (long, addressed to nothing the question asks, not
    // opening with it) says what happened, not what part is allowed.
    let tells = |s: &Signal| {
        s.at < folded.len()
            && reading.sentence_words.get(s.sentence).is_some_and(|n| *n >= 6)
            && !reading.directed.get(s.sentence).copied().unwrap_or(true)
            && !opens_clause(folded, s.at)
            // "Va bene, ma solo dopo il 20": beside an answer, a condition or a moment, a
            // scope word sets terms.
            && !reply.in_sentence(s.sentence).any(|x| {
                matches!(
                        x.kind,
                        Kind::Ack
                            | Kind::Affirm
                            | Kind::Permit
                            | Kind::Grant
                            | Kind::Condition
                            | Kind::Timing
                            | Kind::Hedge
                    )
            })
    };
    let restrictive_scope = signals.iter().any(|s| {
        s.kind == Kind::Scope && !REFUSAL_SCOPE.iter().any(|w| s.reason.contains(w)) && !tells(s)
    });
    let withdrawal_at = signals
        .iter()
        .filter(|s| s.kind == Kind::Withdraw)
        .map(|s| s.at)
        .max();
    let grant_before = reading.evidence >= Evidence::Affirm && !refuses_first;
    let pending_after = |at: usize| {
        signals.iter().any(|s| {
            // "…, wait, back up first": put off, not refused.
            matches!(s.kind, Kind::Hedge | Kind::Question | Kind::Condition) && s.at > at
        })
    };
    // "네 진행해주세요 … 아직 하지 마세요": after a yes, not yet is put off, not taken back.
    let not_yet = |s: &Signal| {
        reply
            .sentence_text(s)
            .is_some_and(|sentence| NOT_YET.iter().any(|w| contains_phrase(sentence, w)))
    };
    let said_outright_after = |at: usize| {
        signals
            .iter()
            .any(|s| s.kind == Kind::Decline && !s.derived && s.at > at && !not_yet(s))
    };
    let last_evidence_sentence = reading.last_evidence_sentence;
    // "Is there really no way?", "If not, then rather not": a refusal asked or made
    // conditional is not said outright.
    let asked_or_conditional = |sentence: usize| {
        reply.in_sentence(sentence).any(|x| {
            x.kind == Kind::Question
                || (x.kind == Kind::Condition
                    && (IF.contains(&quoted(&x.reason))
                            // "Vorher bitte nichts verschieben": not until then.
                            || UNTIL_THEN.contains(&quoted(&x.reason))))
        })
    };
    let outright = |s: &Signal| !asked_or_conditional(s.sentence);
    // "Yes. P.S. only the ones on main, we don't want the feature branches spun up again": a
    // refusal beside a part of the action, another target or something else wanted narrows
    // the yes; it does not take it back.
    let narrows = |s: &Signal| {
        reply
            .in_sentence(s.sentence)
            .any(|x| matches!(x.kind, Kind::Scope | Kind::Redirect))
    };
    let refused_in_a_later_sentence = signals.iter().any(|s| {
        s.kind == Kind::Decline
            && !s.derived
            && outright(s)
            && !narrows(s)
            && !not_yet(s)
            && last_evidence_sentence.is_some_and(|e| s.sentence > e)
            && !BARE_NO.iter().any(|no| quoted(&s.reason) == *no)
    });
    let only_soft_or_derived = signals
        .iter()
        .filter(|s| refusal(s))
        .all(|s| s.kind == Kind::DeclineSoft || (s.kind == Kind::Decline && s.derived));
    match last_grant {
        // A yes after the refusal: which one stands is not for us to guess.
        Some(g)
            if g > last_refusal && !does_it_themselves && reading.evidence >= Evidence::Affirm =>
        {
            ConsentVerdict::Unclear
        }
        _ if grant_before => match withdrawal_at {
            // "Yes — actually no, don't": taken back, unless the decision is still open.
            Some(w) if said_outright_after(w) || !pending_after(w) => ConsentVerdict::Declined,
            Some(_) => ConsentVerdict::Unclear,
            // "Yes, go ahead. … No, please don't.": refused outright after the yes.
            None if refused_in_a_later_sentence => ConsentVerdict::Declined,
            // "Yes… no, wait", "Yes, but don't touch X": a yes with reservations.
            None => ConsentVerdict::Unclear,
        },
        // "Only staging, production don't touch": part of it, not a refusal.
        _ if restrictive_scope => ConsentVerdict::Unclear,
        // "You can delete the subgroup but please keep everything else": part of it.
        _ if keeps_only_part(signals, hits, folded, asked, |s| reply.is_refusal(s)) => {
            ConsentVerdict::Unclear
        }
        // "Hold off for a day, I need to rotate the key first": put off, not refused.
        _ if signals
            .iter()
            .filter(|s| refusal(s))
            .all(|s| PUT_OFF.contains(&quoted(&s.reason)))
            && signals
                .iter()
                .any(|s| matches!(s.kind, Kind::Condition | Kind::Timing)) =>
        {
            ConsentVerdict::Unclear
        }
        // "Would X still work? I wouldn't want to be locked out", "I think it's not needed,
        // reset the password instead": asks, hesitates or wants something else.
        // A question about another matter ("Approfitto per chiederle: esiste …?") asks
        // nothing about this one.
        _ if only_soft_or_derived
            && signals
                .iter()
                .any(|s| s.kind == Kind::Question && !reply.in_another_matter(s)) =>
        {
            ConsentVerdict::Unclear
        }
        _ if !signals.iter().filter(|s| refusal(s)).any(outright) => ConsentVerdict::Unclear,
        _ if asks_after && !refuses_first => ConsentVerdict::Unclear,
        _ => ConsentVerdict::Declined,
    }
}

/// "Before that", "until then": a refusal they govern only puts the action off.
pub(super) const UNTIL_THEN: &[&str] = &[
    "vorher",
    "davor",
    "bis dahin",
    "until then",
    "before that",
    "hasta entonces",
    "antes de eso",
    "jusque là",
    "avant cela",
    "até lá",
    "antes disso",
    "fino ad allora",
    "prima di allora",
    "tot dan",
    "daarvoor",
];

/// Words that keep something back ("keep", "leave", "lasciate", "behalten", "保留").
const KEEP: &[&str] = &[
    "keep",
    "leave",
    "lascia",
    "laat",
    "lass",
    "behalt",
    "deixa",
    "dej",
    "conserv",
    "gard",
    "houd",
    "bewaar",
    "tenete",
    "mantene",
    "manteng",
    "mantenh",
    "保留",
    "残して",
    "남겨",
    "유지",
];

/// Every refusal keeps something back ("but please keep everything else", "ma lasciate le
/// immagini prod-*") after a contrast, in a sentence that first names the asked action: part
/// of the action is allowed, the rest kept. Neither a grant nor a refusal.
fn keeps_only_part(
    signals: &[Signal],
    hits: &[Hit<'_>],
    folded: &str,
    asked: &AskedAction,
    is_refusal: impl Fn(&Signal) -> bool,
) -> bool {
    let mut refusals = signals.iter().filter(|s| is_refusal(s)).peekable();
    refusals.peek().is_some()
        && refusals.all(|r| {
            let phrase = quoted(&r.reason);
            let phrase = ["please ", "pls ", "bitte ", "por favor ", "per favore "]
                .iter()
                .find_map(|p| phrase.strip_prefix(p))
                .unwrap_or(phrase);
            KEEP.iter().any(|k| phrase.starts_with(k))
                && r.at <= folded.len()
                && hits.iter().any(|h| {
                    h.phrase.kind == Kind::Action
                        && h.phrase.groups & asked.actions != 0
                        && h.end <= r.at
                        && {
                            let gap = &folded[h.end..r.at];
                            !gap.contains(is_sentence_end)
                                && CONTRAST.iter().any(|c| contains_phrase(gap, c))
                        }
                })
        })
}

/// Refusals that only put the action off ("hold off", "attendez", "先别").
const PUT_OFF: &[&str] = &[
    "hold off",
    "please hold",
    "attendez",
    "先别",
    "先別",
    "warte",
    "moment",
    "wait no",
    "no wait",
    "nee wacht",
];

/// A lone "no" after a yes may be a pause ("Yes… no, wait"), not a refusal.
pub(super) const BARE_NO: &[&str] = &[
    "no",
    "nope",
    "nah",
    "nee",
    "nein",
    "non",
    "não",
    "nao",
    "아니요",
    "いいえ",
    "不",
];

/// Scope words that go with a refusal ("No, keep it for now") rather than a partial yes.
const REFUSAL_SCOPE: &[&str] = &[
    "\"keep",
    "\"leave",
    "\"for now\"",
    "\"not yet\"",
    "\"hold",
    "\"houd",
    "\"bewaar",
    "\"tenete",
    "\"mantenete",
    "\"남겨",
    "\"유지",
    "\"残して",
    "\"lascia",
    "\"deixa",
    "\"laat",
    "\"lass",
    "\"dej",
];

/// "Not yet", in each language: the action put off, not refused.
const NOT_YET: &[&str] = &[
    "not yet",
    "noch nicht",
    "todavía no",
    "aún no",
    "pas encore",
    "ainda não",
    "non ancora",
    "nog niet",
    "まだ",
    "还不",
    "還不",
    "暂时",
    "아직",
];
