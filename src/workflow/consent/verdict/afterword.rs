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
use super::words::{IF, SCANNED_SENTENCE, contains_phrase, floor_char_boundary, obliges};
use crate::workflow::consent::lexicon::{Kind, is_sentence_end};

impl Reply<'_> {
    /// "…, please disable it. I'll set it up again once I'm back in": the requester's own
    /// plan for afterwards, in a sentence of its own after the answer, sets no terms on it.
    pub(super) fn own_plan(&self, s: &Signal) -> bool {
        let Reply { reading, .. } = *self;
        let notify = reading.notify.get(s.sentence).copied().unwrap_or(false);
        reading.evidence >= Evidence::Permit
            && matches!(s.kind, Kind::Condition | Kind::Timing)
            && reading
                .first_evidence_sentence
                .is_some_and(|first| s.sentence > first)
            && ((reading.own_plan.get(s.sentence).copied().unwrap_or(false)
                && !reading.directed.get(s.sentence).copied().unwrap_or(true))
                // "Please let me know once it's done": when to tell, not when to act.
                || notify)
            && !PREREQUISITE.contains(&quoted(&s.reason))
            // "결과 나오면 알려주세요", "let me know if it works": an "if" on when to tell.
            && (!IF.contains(&quoted(&s.reason))
                || (notify && INFORMATION_IF.contains(&quoted(&s.reason))))
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

impl Reply<'_> {
    /// "…, j'autorise le transfert du projet. Autre sujet : à qui dois-je m'adresser pour un
    /// devis ?": after the last answer naming the action, a question asking the agent for
    /// information ("is there a way", "who do I contact", "kann ich", "방법이 있을까요") that
    /// names neither the asked verb nor its targets puts no terms on the answer. Only its
    /// question mark and its "if"/"when" are excused: a moment, a scope or a prerequisite
    /// in it still keeps the reply unclear.
    pub(super) fn asks_for_information(&self, s: &Signal) -> bool {
        let Reply {
            folded,
            clauses,
            asked,
            reading,
            ..
        } = *self;
        let excusable = match s.kind {
            Kind::Question => true,
            Kind::Condition => INFORMATION_IF.contains(&quoted(&s.reason)),
            _ => false,
        };
        excusable
            && reading.evidence == Evidence::Anchored
            && s.sentence != usize::MAX
            && s.at < folded.len()
            && reading
                .anchored_sentences
                .iter()
                .max()
                .is_some_and(|last| s.sentence > *last)
            && !reading
                .names_action
                .get(s.sentence)
                .copied()
                .unwrap_or(true)
            && {
                let (start, end) = sentence_span(clauses, s.at);
                let sentence = &folded[start..end];
                sentence.len() <= SCANNED_SENTENCE
                    && !asked.names_target(sentence)
                    && INFORMATION_QUESTION
                        .iter()
                        .any(|m| contains_phrase(sentence, m))
                    && !ABOUT_THE_ACTION
                        .iter()
                        .any(|m| contains_phrase(sentence, m))
            }
    }
}

/// The "if" and "when" a question for information may carry ("if she has the same problem,
/// must she open a ticket?"); "unless" and "only if" are terms wherever they are.
const INFORMATION_IF: &[&str] = &[
    "if", "when", "wenn", "falls", "si", "se", "als", "indien", "cuando", "quand", "quando",
    "wanneer", "如果", "要是", "なら", "たら", "れば", "면", "으면", "다면",
];

/// Ways of asking the agent for information, in each language: whether something is possible,
/// what the requester may or must do, whom to ask, how something works.
const INFORMATION_QUESTION: &[&str] = &[
    "is there a way",
    "is there any way",
    "is it possible",
    "do you know",
    "should i",
    "can i",
    "could i",
    "do i",
    "how do i",
    "how can i",
    "who should i",
    "who do i",
    "where can i",
    "where do i",
    "will i",
    "am i able",
    "is there a recommended",
    "gibt es",
    "ist es möglich",
    "wissen sie",
    "weißt du",
    "kann ich",
    "muss ich",
    "soll ich",
    "an wen",
    "wo kann ich",
    "est il possible",
    "savez vous",
    "existe t il",
    "y a t il",
    "puis je",
    "dois je",
    "à qui",
    "est ce que je",
    "hay alguna forma",
    "hay alguna manera",
    "hay forma",
    "es posible",
    "saben si",
    "sabéis si",
    "sabes si",
    "puedo",
    "debo",
    "a quién",
    "tem como",
    "há como",
    "é possível",
    "sabem se",
    "vocês sabem",
    "consigo",
    "posso",
    "devo",
    "a quem",
    "cè un modo",
    "c è un modo",
    "si può",
    "sapete se",
    "a chi",
    "is er een manier",
    "is het mogelijk",
    "weten jullie",
    "weet u",
    "kan ik",
    "moet ik",
    "bij wie",
    "方法はありますか",
    "可能でしょうか",
    "可能ですか",
    "どちらに",
    "どこで",
    "どのように",
    "ありますでしょうか",
    "是否可以",
    "有没有办法",
    "有沒有辦法",
    "可以一起",
    "怎么",
    "怎麼",
    "如何",
    "방법이 있을까요",
    "방법이 있나요",
    "어디서",
    "어디에서",
    "어떻게",
    "가능한가요",
    "가능할까요",
];

/// Words that turn a question back to the action: pointing at it ("is that safe?", "will
/// this break …"), worrying about what it does, or asking to keep part of what it touches.
const ABOUT_THE_ACTION: &[&str] = &[
    "this",
    "that",
    "these",
    "those",
    "ça",
    "cela",
    "ceci",
    "eso",
    "esto",
    "isso",
    "isto",
    "ciò",
    "questo",
    "dat",
    "dit",
    "これ",
    "それ",
    "この",
    "その",
    "这",
    "這",
    "那",
    "它",
    "이것",
    "그것",
    "이건",
    "그건",
    "safe",
    "sure",
    "risk",
    "risky",
    "break",
    "affect",
    "impact",
    "lose",
    "damage",
    "sicher",
    "risiko",
    "kaputt",
    "verlieren",
    "auswirk",
    "sûr",
    "risque",
    "casser",
    "perdre",
    "seguro",
    "segura",
    "riesgo",
    "romper",
    "perder",
    "afecta",
    "risco",
    "quebrar",
    "afeta",
    "sicuro",
    "rischio",
    "rompere",
    "perdere",
    "veilig",
    "risico",
    "kapot",
    "verliezen",
    "安全",
    "风险",
    "風險",
    "影响",
    "影響",
    "丢失",
    "壊れ",
    "失われ",
    "危険",
    "위험",
    "안전",
    "영향",
    "손실",
    "keep",
    "retain",
    "preserve",
    "garder",
    "conserver",
    "behalten",
    "aufbewahren",
    "conservar",
    "mantener",
    "manter",
    "mantenere",
    "conservare",
    "houden",
    "bewaren",
    "保留",
    "残",
    "保持",
    "유지",
    "보관",
];

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
