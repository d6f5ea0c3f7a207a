//! The reading of a reply, clause by clause: the signals its hits give (`hits`), then what
//! each clause and sentence does — asks for the asked action, names it, answers, draws a
//! conclusion, tells a plan, asks to be told, acknowledges — and where the answer is.
//!
//! The rules never walk the text again: everything they ask about a sentence is recorded
//! here, in one pass, so that judging stays linear in the length of the reply.

use super::asked::AskedAction;
use super::clause::Clause;
use super::hits::{ClauseHits, read_hits};
use super::language::Languages;
use super::refusal::BARE_NO;
use super::sentence::{
    ANSWER_MARKERS, CONSEQUENCE, FIRST_PERSON, FOLLOW_ON, NOTIFY, OWN_PLAN, SECOND_PERSON,
    acknowledges_information,
};
use super::signal::{Evidence, Signal, quoted};
use super::words::{contains_phrase, contains_word, opens_with, word_spans};
use crate::workflow::consent::lexicon::{Hit, Kind, Lexicon, is_cjk};

/// What the hits say, clause by clause.
pub(super) struct Reading {
    pub(super) evidence: Evidence,
    pub(super) first_evidence_at: Option<usize>,
    pub(super) last_evidence_at: Option<usize>,
    /// Words of the reply that are neither courtesy, answer nor the question's own words, when
    /// the only answer is a bare yes (what the yes may be attached to).
    pub(super) unattached: String,
    /// A bare yes beside "understood": the reply acknowledges.
    pub(super) understood: bool,
    /// The first sentence with evidence more than an acknowledgement.
    pub(super) first_evidence_sentence: Option<usize>,
    /// Where the first explicit permission or request for the action is.
    pub(super) first_strong_at: Option<usize>,
    /// The last sentence with a yes or more.
    pub(super) last_evidence_sentence: Option<usize>,
    /// Words in each sentence.
    pub(super) sentence_words: Vec<usize>,
    /// Sentences that ask for the action or permit it by name.
    pub(super) anchored_sentences: Vec<usize>,
    /// The first sentence with an answer opens with "then", "in that case": it answers on the
    /// terms of the sentence before.
    pub(super) answer_follows_on: bool,
    /// The first answer is marked as one after a story ("Anyway -", "To be explicit:",
    /// "Om op uw vraag terug te komen:").
    pub(super) answer_marked: bool,
    /// Clauses (sentence, start) that draw the requester's own permission from someone else's
    /// approval ("…, so I give permission to delete it").
    pub(super) own_conclusions: Vec<(usize, usize)>,
    /// Sentences that ask to be told when the action is done ("let me know once it's done",
    /// "完了後、ご一報ください"), without naming the action again.
    pub(super) notify: Vec<bool>,
    /// Sentences that name the asked verb.
    pub(super) names_action: Vec<bool>,
    /// Sentences that say the requester understands what the agent told them ("I understand
    /// this cannot be undone", "元に戻せないことは承知しております").
    pub(super) acknowledges: Vec<bool>,
    /// Sentences that open with the requester's own plan ("I'll set it up again", "je vais").
    pub(super) own_plan: Vec<bool>,
    /// Sentences addressed to the action: a request marker, a question, an answer, or the asked
    /// verb itself. Only a sentence that is none of these can be background.
    pub(super) directed: Vec<bool>,
}

/// Reads the reply's hits clause by clause: the signals found, and what its sentences say.
pub(super) fn read(
    hits: &[Hit<'_>],
    folded: &str,
    clauses: &[Clause],
    asked: &AskedAction,
    lexicon: &Lexicon,
) -> (Vec<Signal>, Reading) {
    let mut signals = Vec::new();
    let mut evidence = Evidence::None;
    let mut first_evidence_at = None;
    let mut last_evidence_at = None;
    let mut unattached: Vec<&str> = Vec::new();
    let mut consumed = vec![false; hits.len()];
    let mut understood = false;
    let mut first_evidence_sentence: Option<usize> = None;
    let mut first_strong_at: Option<usize> = None;
    let mut last_evidence_sentence: Option<usize> = None;
    let mut sentence_words: Vec<usize> = vec![0];
    let mut anchored_sentences: Vec<usize> = Vec::new();
    let mut directed: Vec<bool> = vec![false];
    let mut notify: Vec<bool> = vec![false];
    // Sentences that name the asked action (for `notify`).
    let mut names_action: Vec<bool> = vec![false];
    let mut own_plan: Vec<bool> = vec![opens_with(folded, OWN_PLAN)];
    let mut acknowledges: Vec<bool> = vec![acknowledges_information(folded)];
    let mut answer_follows_on = false;
    let mut answer_marked = false;
    let mut own_conclusions: Vec<(usize, usize)> = Vec::new();
    // Where the current sentence starts drawing a conclusion ("…, so …").
    let mut conclusion_at: Option<usize> = None;
    let languages = Languages::of(folded);
    let mut sentence = 0;
    let mut sentence_start = 0;
    // "Sie haben meine Erlaubnis, das Projekt zu löschen": permission in one clause, the asked
    // action in the next, one sentence.
    let mut sentence_permits = false;
    let mut sentence_names_action = false;
    let mut h = 0;
    let clause_count = clauses.len();
    for (ci, clause) in clauses.iter().enumerate() {
        if clause.opens_sentence && ci > 0 {
            sentence += 1;
            sentence_words.push(0);
            directed.push(false);
            notify.push(false);
            names_action.push(false);
            own_plan.push(opens_with(&folded[clause.start..], OWN_PLAN));
            acknowledges.push(acknowledges_information(&folded[clause.start..]));
            sentence_start = clause.start;
            sentence_permits = false;
            sentence_names_action = false;
            conclusion_at = None;
        }
        let first_hit = h;
        while h < hits.len() && hits[h].start < clause.stop {
            h += 1;
        }
        let clause_hits = &hits[first_hit..h];
        let text = &folded[clause.start..clause.end];
        let offset = clause.start;
        // Words of the clause with whether a hit covers them.
        let words: Vec<(usize, &str)> = word_spans(text).map(|(i, w)| (offset + i, w)).collect();
        if let Some(n) = sentence_words.last_mut() {
            *n += words.len();
        }
        // The hit covering each word, in one sweep (hits do not overlap, both are in order).
        let mut covering: Vec<Option<Kind>> = Vec::with_capacity(words.len());
        let mut p = 0;
        for (at, w) in &words {
            while p < clause_hits.len() && clause_hits[p].end <= *at {
                p += 1;
            }
            covering.push(
                clause_hits
                    .get(p)
                    .filter(|x| x.start < at + w.len())
                    .map(|x| x.phrase.kind),
            );
        }
        let asked_verb_at: Option<usize> = words
            .iter()
            .find(|(_, w)| asked.is_own_verb(w))
            .map(|(at, _)| *at)
            .or_else(|| {
                clause_hits
                    .iter()
                    .find(|x| x.phrase.kind == Kind::Action && x.phrase.groups & asked.actions != 0)
                    .map(|x| x.start)
            });
        let has_kind = |k: Kind| clause_hits.iter().any(|x| x.phrase.kind == k);
        let clause_initial_verb = words.first().is_some_and(|(at, w)| {
            Some(*at) == asked_verb_at && !w.ends_with("ed") && !w.ends_with("ing")
        });
        let clause_signals_from = signals.len();
        let found = read_hits(
            &ClauseHits {
                folded,
                hits,
                first_hit,
                end_hit: h,
                clause,
                asked,
                asked_verb_at,
                languages,
                lexicon,
                sentence,
            },
            &mut consumed,
            &mut signals,
        );
        understood |= found.understood;
        let mut clause_evidence = found.evidence;
        let mut clause_evidence_at = found.at;
        for s in signals.iter_mut().skip(clause_signals_from) {
            s.sentence = sentence;
            let words = &folded[s.at.min(folded.len())..];
            let phrase_len = s
                .reason
                .split('"')
                .nth(1)
                .map_or(0, str::len)
                .min(words.len());
            s.asked_words = matches!(s.kind, Kind::Timing | Kind::Condition | Kind::Scope)
                && asked.has_phrase(&words[..phrase_len]);
        }
        // A request for the asked action itself: "please delete it", "Yes, disable 2FA",
        // "you can delete it", "削除してください", "Delete it.".
        // Words no courtesy, answer or question word explains: what a bare yes may be attached
        // to. A greeting clause and a closing name are courtesy.
        let greeting = clause.opens_sentence
            && clause_hits
                .first()
                .is_some_and(|x| x.phrase.kind == Kind::Neutral && x.start == offset);
        let closing_name = ci + 1 == clause_count && clause_hits.is_empty() && words.len() <= 3;
        let mut clause_unexplained: Vec<&str> = Vec::new();
        if !greeting && !closing_name {
            for ((_, w), kind) in words.iter().zip(&covering) {
                let explained = kind.is_some_and(|k| {
                    matches!(
                        k,
                        Kind::Affirm
                            | Kind::Ack
                            | Kind::Permit
                            | Kind::Directive
                            | Kind::Neutral
                            | Kind::Filler
                            | Kind::Action
                            | Kind::Object
                    )
                }) || asked.names_word(w)
                    || asked.is_own_verb(w)
                    || w.chars().all(|c| !c.is_alphanumeric());
                if !explained {
                    clause_unexplained.push(w);
                }
            }
        }
        // "Don't delete it", "削除しないでください" (the negation follows the verb).
        let negated = clause_hits
            .iter()
            .any(|x| matches!(x.phrase.kind, Kind::Negation | Kind::Decline));
        // A bare yes or a bare verb names the action only in a clause that says nothing else:
        // "Yes, delete it", not "Yes, the deletion failed again".
        let says_nothing_else = clause_unexplained.is_empty();
        let asks_for_it = asked_verb_at.is_some()
            && !negated
            && (has_kind(Kind::Directive)
                || has_kind(Kind::Permit)
                || (clause_initial_verb && says_nothing_else)
                || (has_kind(Kind::Affirm)
                    && clause_evidence_at < asked_verb_at
                    && says_nothing_else));
        if asks_for_it {
            clause_evidence = Evidence::Anchored;
            let at = clause_evidence_at.unwrap_or(asked_verb_at.unwrap_or(offset));
            clause_evidence_at = Some(at);
            signals.push(Signal {
                kind: Kind::Grant,
                at,
                reason: format!("grant: \"{}\"", text.trim()),
                sentence,
                asked_words: false,
                derived: false,
                gives_reason: false,
            });
        }
        // The asked verb as such, not a participle of it ("the deleted project"); without a
        // recognised verb, an action of the asked kind.
        let names_asked_action = words
            .iter()
            .any(|(_, w)| asked.is_own_verb(w) && !w.ends_with("ed") && !w.ends_with("ing"))
            || (asked.verb_stem.is_none()
                && clause_hits.iter().any(|x| {
                    x.phrase.kind == Kind::Action && x.phrase.groups & asked.actions != 0
                }));
        let clause_directed = names_asked_action
            || clause_evidence > Evidence::Ack
            || has_kind(Kind::Directive)
            || has_kind(Kind::Question);
        if let Some(d) = directed.last_mut() {
            *d |= clause_directed;
        }
        if let Some(n) = names_action.last_mut() {
            *n |= asked_verb_at.is_some();
        }
        if NOTIFY.iter().any(|p| contains_phrase(text, p))
            && let Some(n) = notify.last_mut()
        {
            *n = true;
        }
        // "I'll let you know when…" speaks to the agent: not a plan of the requester's own.
        if words.iter().any(|(_, w)| SECOND_PERSON.contains(w))
            && let Some(p) = own_plan.last_mut()
        {
            *p = false;
        }
        // "We don't use it anymore", "Não há lá nada de que precisemos": a clause of its own
        // that only says the thing is not needed or used gives a reason for the action.
        let gives_reason = !clause_directed
            && !has_kind(Kind::Ack)
            && lexicon.need.iter().any(|n| {
                // Latin stems are word prefixes; CJK ones and phrases are found anywhere.
                if n.contains(' ') || n.chars().any(is_cjk) {
                    text.contains(n.as_str())
                } else {
                    // French elides the pronoun into the verb ("l'utilise", folded "lutilise").
                    words.iter().any(|(_, w)| {
                        w.starts_with(n.as_str())
                            || (n.len() >= 5
                                && w.strip_prefix(['l', 'n', 'j', 'm', 's', 'd'])
                                    .is_some_and(|rest| rest.starts_with(n.as_str())))
                    })
                }
            });
        if gives_reason {
            for s in signals.iter_mut().skip(clause_signals_from) {
                s.gives_reason = matches!(s.kind, Kind::Negation | Kind::DeclineSoft)
                    || (s.kind == Kind::Decline && BARE_NO.contains(&quoted(&s.reason)));
            }
        }
        sentence_permits |= clause_evidence >= Evidence::Permit;
        sentence_names_action |= asked_verb_at.is_some() && !negated;
        if sentence_permits && sentence_names_action && clause_evidence < Evidence::Anchored {
            clause_evidence = Evidence::Anchored;
            clause_evidence_at.get_or_insert(offset);
        }
        if clause_evidence > Evidence::Ack && first_evidence_sentence.is_none() {
            let opening = folded[sentence_start..].trim_start();
            answer_follows_on = opens_with(opening, FOLLOW_ON);
            let lead =
                &folded[sentence_start..clause_evidence_at.unwrap_or(offset).max(sentence_start)];
            answer_marked = ANSWER_MARKERS.iter().any(|m| {
                if m.is_ascii() {
                    contains_word(lead, m)
                } else {
                    lead.contains(m)
                }
            });
        }
        if opens_with(text, CONSEQUENCE) {
            conclusion_at.get_or_insert(clause.start);
        }
        if let Some(at) = conclusion_at
            && clause_evidence >= Evidence::Permit
            && words.iter().any(|(_, w)| FIRST_PERSON.contains(w))
        {
            // One entry per sentence: every conclusion in it starts at the same clause.
            if own_conclusions.last() != Some(&(sentence, at)) {
                own_conclusions.push((sentence, at));
            }
        }
        if clause_evidence > Evidence::Ack {
            first_evidence_sentence.get_or_insert(sentence);
            if clause_evidence == Evidence::Anchored && anchored_sentences.last() != Some(&sentence)
            {
                anchored_sentences.push(sentence);
            }
            if clause_evidence >= Evidence::Permit {
                first_strong_at = first_strong_at.or(clause_evidence_at);
            }
        }
        if clause_evidence >= Evidence::Affirm {
            last_evidence_sentence = Some(sentence);
        }
        if let Some(at) = clause_evidence_at {
            first_evidence_at.get_or_insert(at);
            last_evidence_at = Some(at);
        }
        evidence = evidence.max(clause_evidence);
        unattached.extend(clause_unexplained.iter().copied());
    }
    let reading = Reading {
        evidence,
        first_evidence_at,
        last_evidence_at,
        unattached: unattached.into_iter().take(8).collect::<Vec<_>>().join(" "),
        understood,
        first_evidence_sentence,
        first_strong_at,
        last_evidence_sentence,
        sentence_words,
        anchored_sentences,
        answer_follows_on,
        answer_marked,
        own_conclusions,
        notify: notify
            .iter()
            .zip(&names_action)
            .map(|(n, a)| *n && !*a)
            .collect(),
        names_action,
        acknowledges,
        own_plan,
        directed,
    };
    (signals, reading)
}
