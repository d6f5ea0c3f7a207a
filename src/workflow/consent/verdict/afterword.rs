//! What follows the answer: sentences after permission that names the action may still carry
//! a condition, a moment, a negation or a question that is no term on it — the requester's own
//! plan for afterwards ("I'll set it up again once I'm back in"), asking to be told when it is
//! done, asking for advice ("if you have tips …"), asking how long it takes, or telling what
//! happened in a sentence that addresses nothing the question asks.
//!
//! Separate from the story before the answer (`story`): these are excused for where they come
//! after the answer and what they ask for, and a prerequisite ("first", "until") is never
//! excused here.

use super::asked::names_asked_thing;
use super::clause::sentence_span;
use super::reply::Reply;
use super::signal::{Evidence, Signal, quoted};
use super::words::{IF, floor_char_boundary, obliges};
use crate::workflow::consent::lexicon::{Kind, is_sentence_end};

impl Reply<'_> {
    /// "…, please disable it. I'll set it up again once I'm back in": the requester's own
    /// plan for afterwards, in a sentence of its own after the answer, sets no terms on it.
    pub(super) fn own_plan(&self, s: &Signal) -> bool {
        let Reply { reading, .. } = *self;
        reading.evidence >= Evidence::Permit
            && matches!(s.kind, Kind::Condition | Kind::Timing)
            && reading
                .first_evidence_sentence
                .is_some_and(|first| s.sentence > first)
            && ((reading.own_plan.get(s.sentence).copied().unwrap_or(false)
                && !reading.directed.get(s.sentence).copied().unwrap_or(true))
                // "Please let me know once it's done": when to tell, not when to act.
                || reading.notify.get(s.sentence).copied().unwrap_or(false))
            && !PREREQUISITE.contains(&quoted(&s.reason))
            && !IF.contains(&quoted(&s.reason))
    }

    /// "…, ik geef toestemming om het te herstellen. Als u tips heeft, hoor ik het graag":
    /// after the answer, "if you have tips" asks for advice; its "if" is on the agent's
    /// knowledge, not on the action.
    pub(super) fn advice_asked(&self, s: &Signal) -> bool {
        let Reply {
            folded, reading, ..
        } = *self;
        reading.evidence == Evidence::Anchored
            && s.kind == Kind::Condition
            && IF.contains(&quoted(&s.reason))
            && s.at < folded.len()
            && reading
                .first_evidence_sentence
                .is_some_and(|first| s.sentence > first)
            && !reading
                .names_action
                .get(s.sentence)
                .copied()
                .unwrap_or(true)
            && asks_for_advice(&folded[s.at..])
    }

    /// A qualifier in a sentence after the last answer naming the action, among only the
    /// given kinds of signal in its sentence.
    fn after_the_answer(&self, s: &Signal, alongside: &[Kind]) -> bool {
        let Reply {
            reading, signals, ..
        } = *self;
        reading.evidence == Evidence::Anchored
            && s.sentence != usize::MAX
            && reading
                .last_evidence_sentence
                .is_some_and(|last| s.sentence > last)
            && !signals.iter().any(|x| {
                x.sentence == s.sentence && x.kind != s.kind && !alongside.contains(&x.kind)
            })
    }

    /// "Oui, je suis d'accord pour que vous ajoutiez l'adresse. L'ancienne, je ne peux plus
    /// l'ouvrir depuis des années": a negation in a sentence of some length that is
    /// addressed to nothing the question asks (no request, question, answer or asked verb,
    /// none of its targets or things: "O app-b ainda não" speaks to the action) tells what
    /// happened; it sets no terms.
    pub(super) fn afterword(&self, s: &Signal) -> bool {
        let Reply {
            folded,
            clauses,
            hits,
            asked,
            reading,
            ..
        } = *self;
        let (start, end) = sentence_span(clauses, s.at);
        s.kind == Kind::Negation
            && self.after_the_answer(s, &[Kind::Ack])
            && reading
                .sentence_words
                .get(s.sentence)
                .is_some_and(|n| *n >= 6)
            && !reading.directed.get(s.sentence).copied().unwrap_or(true)
            && !reading
                .names_action
                .get(s.sentence)
                .copied()
                .unwrap_or(true)
            && !names_asked_thing(folded, (start, end), asked, hits)
            // "La facturation ne doit pas être touchée": a negated obligation is a requirement.
            && !obliges(&folded[start..end])
    }

    /// "…, jullie hebben mijn toestemming om de pipelines opnieuw te draaien. Btw, hoe lang
    /// duurt zoiets meestal?": asking how long it takes asks for information; it puts no
    /// terms on the answer.
    pub(super) fn asks_how_long(&self, s: &Signal) -> bool {
        let Reply {
            folded, clauses, ..
        } = *self;
        s.kind == Kind::Question && self.after_the_answer(s, &[Kind::Ack, Kind::Timing]) && {
            let (start, end) = sentence_span(clauses, s.at);
            HOW_LONG.iter().any(|p| folded[start..end].contains(p))
        }
    }
}

/// Asking how long something takes, in each language.
pub(super) const HOW_LONG: &[&str] = &[
    "how long",
    "how much time",
    "hoe lang",
    "wie lange",
    "cuánto tiempo",
    "cuánto tarda",
    "cuánto vais a tardar",
    "cuánto van a tardar",
    "combien de temps",
    "quanto tempo",
    "quanto ci vuole",
    "どのくらい時間",
    "どれくらい時間",
    "多长时间",
    "多久",
    "얼마나 걸",
];

/// What a requester may ask the agent for advice about ("tips", "conseils", "dicas").
const ADVICE: &[&str] = &[
    "tip",
    "tips",
    "advice",
    "suggestion",
    "suggestions",
    "recommendation",
    "recommendations",
    "pointers",
    "tipps",
    "tipp",
    "ratschläge",
    "rat",
    "empfehlung",
    "empfehlungen",
    "conseil",
    "conseils",
    "recommandation",
    "recommandations",
    "consejo",
    "consejos",
    "recomendación",
    "recomendaciones",
    "sugerencia",
    "sugerencias",
    "dica",
    "dicas",
    "sugestão",
    "sugestões",
    "recomendação",
    "recomendações",
    "consiglio",
    "consigli",
    "suggerimento",
    "suggerimenti",
    "advies",
    "adviezen",
    "suggesties",
    "aanbevelingen",
];

/// `rest` (from an "if" on) is the condition "if you have tips / any advice …": a clause of a
/// few words naming advice the agent may have.
fn asks_for_advice(rest: &str) -> bool {
    let clause = rest[..floor_char_boundary(rest, 80)]
        .split(|c: char| is_sentence_end(c) || c == ',')
        .next()
        .unwrap_or_default();
    clause
        .split(|c: char| !c.is_alphanumeric())
        .take(8)
        .any(|w| ADVICE.contains(&w))
}

/// Conditions that set a prerequisite for the action ("first", "until"): even in the
/// requester's own plan they say "not yet".
pub(super) const PREREQUISITE: &[&str] = &[
    "first",
    "before",
    "until",
    "till",
    "make sure",
    "unless",
    "only if",
    "as long as",
    "so long as",
    "provided",
    "providing",
    "without",
    "primero",
    "antes",
    "hasta",
    "erst",
    "bevor",
    "bis",
    "dabord",
    "avant",
    "primeiro",
    "prima di",
    "eerst",
    "voordat",
    "totdat",
    "tot",
    "先",
    "之前",
    "먼저",
    "전에",
    "까지",
];
