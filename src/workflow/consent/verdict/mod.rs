//! The verdict on a requester's new text: evidence found clause by clause, then a deliberately
//! cautious rule.
//!
//! `granted` needs positive evidence that the text answers *this* question, and nothing anywhere
//! in the text that could make it anything less:
//! - explicit permission ("go ahead", "you have my permission", "autorizo", "許可します"), or a
//!   request for the asked action itself ("please delete it", "Yes, disable 2FA", "삭제해 주세요");
//! - or a bare yes ("yes", "sí", "はい", "that's correct"), which counts only when the agent asked
//!   one thing and every other word of the reply is courtesy: "Yes I'm sure that's my account"
//!   answers something else;
//! - an acknowledgement ("ok", "got it", "了解", "알겠습니다") is never permission by itself.
//!
//! Anything that could qualify it blocks a grant: negation, condition, a moment other than now,
//! partial scope, hedge, a question back, sarcasm, someone else's approval, another action or
//! target. A refusal (not followed by a new yes) is `declined`. Everything else is `unclear`: a
//! wrong grant lets staff act on an account without permission, so doubt always falls that way.
//!
//! Every step is linear in the length of the text (the caller caps it).
//!
//! The parts, in the order a judgment runs:
//! - the reply is read clause by clause (`clause` cuts it, `read` walks the clauses, `hits`
//!   turns each lexicon hit into a `Signal`, with `negation`, `language`
//!   and `sentence` for what a word means where it stands), against what the question asks
//!   (`asked`);
//! - checks on the whole text add signals the clauses cannot give: other targets (`targets`),
//!   other roles (`roles`), dates and clock times (`moments`), an open-ended instruction
//!   (`grant`);
//! - the rules decide, in this order: an auto-reply is `unclear`; a refusal decides by
//!   `refusal`; otherwise `grant` decides between `granted` and `unclear`. Both rules excuse a
//!   signal the same way (`reply`): the requester's story before the answer (`story`) and
//!   what follows it (`afterword`) may carry words that set no terms.

mod afterword;
mod asked;
mod clause;
mod detached;
mod grant;
mod hits;
mod language;
mod moments;
mod negation;
mod read;
mod refusal;
mod reply;
mod roles;
mod sentence;
mod signal;
mod story;
mod targets;
mod words;

use super::lexicon::{Kind, Lexicon, fold};
use super::normal;
use crate::workflow::ConsentVerdict;
use asked::AskedAction;
use clause::clauses;
use grant::open_ended;
use moments::clock_and_dates;
use read::read;
use reply::Reply;
use roles::role_in_grant;
use signal::Evidence;
use targets::other_targets;

/// How the agent's message framed the question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Framing {
    /// Why the agent's message asked more than this one thing (a bare yes may answer the
    /// other), if it did.
    pub other_things: Option<String>,
    /// Whether explicit permission ("go ahead") could answer one of those other things too;
    /// when it cannot (they only ask the requester to send or do something), explicit
    /// permission answers this question.
    pub permission_may_answer_other: bool,
}

/// Judges `text` (the requester's new text, quotes already removed) against `request`, the
/// question asked on its own.
pub fn judge_text(request: &str, text: &str) -> (ConsentVerdict, Vec<String>) {
    judge_framed(request, text, &Framing::default())
}

/// Judges `text` against `request` as the agent's message framed it.
pub fn judge_framed(request: &str, text: &str, framing: &Framing) -> (ConsentVerdict, Vec<String>) {
    let lexicon = Lexicon::builtin();
    let normalised = normal::normalise(text);
    let folded = fold(&normalised.text);
    if folded.trim().is_empty() {
        let mut reasons = normalised.findings;
        reasons.push("empty reply".to_string());
        return (ConsentVerdict::Unclear, reasons);
    }
    let asked = AskedAction::of(request, lexicon);
    let hits = lexicon.scan(&folded);
    let clauses = clauses(&folded);
    let (mut signals, reading) = read(&hits, &folded, &clauses, &asked, lexicon);
    signals.extend(other_targets(request, &normalised.text));
    signals.extend(role_in_grant(request, &signals));
    // "…ripristinare la wiki alla versione del 10/03/2024": a date the question itself names
    // is the action's own words, not a moment of the reply's.
    signals.extend(clock_and_dates(&normalised.text).into_iter().map(|mut s| {
        s.asked_words = request.contains(signal::quoted(&s.reason));
        s
    }));
    if reading.evidence < Evidence::Anchored {
        signals.extend(open_ended(&folded));
    }
    signals.sort_by_key(|s| s.at);

    let mut reasons: Vec<String> = normalised.findings.clone();
    // A long reply's signals are summarised: only the first are named.
    reasons.extend(signals.iter().take(MAX_REASONS).map(|s| s.reason.clone()));
    let unnamed = signals.len().saturating_sub(MAX_REASONS);
    let line_starts = reply::line_starts(&folded);
    let by_sentence = reply::by_sentence(&signals);
    let reply = Reply {
        folded: &folded,
        clauses: &clauses,
        hits: &hits,
        asked: &asked,
        reading: &reading,
        signals: &signals,
        line_starts: &line_starts,
        by_sentence: &by_sentence,
    };
    // "When I was on holiday I lost my phone": a story that mentions a holiday is no
    // out-of-office answer when the reply goes on to permit the action by name.
    // "P.S. Da domani sono in ferie": after an answer that names the action, being away is
    // the requester's news, not an out-of-office message.
    let auto_reply = signals.iter().any(|s| {
        s.kind == Kind::AutoReply
            && !(reading.evidence == Evidence::Anchored
                && (reply.story_sentence(s.sentence)
                    || reading
                        .anchored_sentences
                        .first()
                        .is_some_and(|a| s.sentence > *a)))
    });

    let verdict = if auto_reply {
        ConsentVerdict::Unclear
    } else if let Some(first_refusal) = signals.iter().find(|s| reply.is_refusal(s)) {
        refusal::verdict(&reply, first_refusal)
    } else {
        grant::verdict(&reply, framing, &mut reasons)
    };
    let verdict = if verdict == ConsentVerdict::Granted && !normalised.findings.is_empty() {
        reasons.push("the text does not read as written: never a grant".to_string());
        ConsentVerdict::Unclear
    } else {
        verdict
    };
    if reasons.is_empty() {
        reasons.push("no explicit answer".to_string());
    } else if verdict == ConsentVerdict::Unclear && reading.evidence == Evidence::None {
        reasons.push("no explicit grant".to_string());
    }
    if reasons.len() > MAX_REASONS || unnamed > 0 {
        // The verdict's own reason comes last; keep it.
        let last = reasons.pop().unwrap_or_default();
        let more = (reasons.len() + unnamed).saturating_sub(MAX_REASONS - 2);
        reasons.truncate(MAX_REASONS - 2);
        reasons.push(format!("… and {more} more signals"));
        reasons.push(last);
    }
    (verdict, reasons)
}

/// How many reasons a judgment lists; a long reply's are summarised after that.
const MAX_REASONS: usize = 24;
