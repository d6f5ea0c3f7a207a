//! Sentences after the answer that set no terms on it.
//!
//! A long e-mail seldom stops at the answer: "Yes, you have our permission to re-run the
//! pipelines. On a separate matter: could you tell us whether …?", "Confirmo que deseo que
//! eliminen la 2FA. En cuanto recupere el acceso, volveré a activarla.", "Je confirme … .
//! L'ancienne adresse a été désactivée en janvier, raison pour laquelle je ne reçois plus rien."
//! A question, a condition or a negation there is about another matter, the requester's own
//! plan or what happened; it qualifies nothing the answer permitted. Read as terms, it leaves
//! most true grants in realistic e-mails `unclear`.
//!
//! Only the shape of the sentence decides, never its words alone, and only after an answer that
//! names the action: the sentence comes after the last answer, names neither the asked action
//! nor any of its targets or things, carries no answer, refusal, scope, other action or relayed
//! approval, and is one of:
//! - **another matter**: it opens with a marker that changes the subject ("on a separate
//!   matter", "unabhängig davon", "aprovecho para preguntarles", "另外", "ところで", "별개로");
//!   a P.S. is not one (a P.S. often carries terms: "P.S. only the staging project");
//! - **the requester's own plan**: a first-person future ("volveré a activar", "riattiverò",
//!   "werden wir … erneuern", "rotaremos"), without a hypothetical "if" or a prerequisite
//!   ("first", "before", "until");
//! - **a telling sentence**: six words or more, addressed to nothing the question asks (no
//!   request marker, question or asked verb), whose qualifiers only say what happened (a
//!   negation, a "when", a "but" inside it), with no "if", no prerequisite and no moment to come.

use super::afterword::{HOW_LONG, PREREQUISITE};
use super::asked::names_asked_thing;
use super::clause::{Clause, opens_clause, sentence_span};
use super::moments::UNITS;
use super::read::Reading;
use super::refusal::UNTIL_THEN;
use super::reply::Reply;
use super::sentence::SECOND_PERSON;
use super::signal::{Evidence, Signal, quoted};
use super::story::{COMING, PENDING, TELLING_SCOPE};
use super::words::{
    CONTRAST, IF, SCANNED_SENTENCE, comes_after, contains_phrase, obliges, phrase_covers,
    phrase_set,
};
use crate::workflow::consent::lexicon::{Kind, Lexicon, fold};
use aho_corasick::AhoCorasick;
use std::sync::LazyLock;

/// Openings that change the subject, in each language (folded: lower case, no apostrophes).
const ANOTHER_MATTER: &[&str] = &[
    "on a separate matter",
    "on another matter",
    "on a separate note",
    "on a different note",
    "on an unrelated note",
    "unrelated",
    "separately",
    "by the way",
    "btw",
    "also a question",
    "another question",
    "one more question",
    "one more thing",
    "one last thing",
    "and one more thing",
    "and one last thing",
    "y una última cosa",
    "y otra cosa",
    "und noch etwas",
    "et une dernière chose",
    "e uma última coisa",
    "e unultima cosa",
    "en nog één ding",
    "another thing",
    "una última cosa",
    "otra cosa",
    "noch etwas",
    "eine letzte sache",
    "une dernière chose",
    "autre chose",
    "uma última coisa",
    "outra coisa",
    "unultima cosa",
    "unaltra cosa",
    "nog één ding",
    "nog iets",
    "最後に",
    "最后",
    "마지막으로",
    "그런데 혹시",
    "그리고 혹시",
    "a different question",
    "for your information",
    "fyi",
    "for the record",
    "on a side note",
    "side note",
    "one more question",
    "just so you know",
    "for context",
    "for some context",
    "some context",
    "some background",
    "to give you some context",
    "zum hintergrund",
    "kurz zum hintergrund",
    "zur einordnung",
    "dazu gleich eine frage",
    "eine frage nebenbei",
    "noch eine frage nebenbei",
    "kurze frage am rande",
    "frage am rande",
    "te cuento",
    "para contextualizar",
    "un poco de contexto",
    "una pregunta aparte",
    "pregunta aparte",
    "pour vous donner un peu de contexte",
    "pour le contexte",
    "pour vous donner du contexte",
    "une question à part",
    "petite question",
    "só pra contextualizar",
    "só para contextualizar",
    "um pouco de contexto",
    "uma pergunta à parte",
    "já agora",
    "per contesto",
    "per darvi un po di contesto",
    "un po di contesto",
    "una domanda a parte",
    "ter achtergrond",
    "ter context",
    "wat achtergrond",
    "nog een vraagje",
    "背景を補足",
    "背景として",
    "もう一点",
    "別件で",
    "补充一下背景",
    "背景是",
    "还有一个问题",
    "另外想问",
    "배경을 말씀드리면",
    "추가로 문의",
    "하나 더 여쭤",
    "unabhängig davon",
    "übrigens",
    "nebenbei",
    "eine andere frage",
    "noch eine frage",
    "eine weitere frage",
    "zu ihrer information",
    "zur information",
    "zur info",
    "aprovecho para",
    "aprovecho la ocasión",
    "aprovecho la oportunidad",
    "por otro lado",
    "aparte de esto",
    "aparte de eso",
    "otra pregunta",
    "otra consulta",
    "para su información",
    "por cierto",
    "par ailleurs",
    "jen profite",
    "au passage",
    "autre question",
    "une autre question",
    "pour information",
    "pour info",
    "pour votre information",
    "à part ça",
    "sur un autre sujet",
    "aproveito para",
    "aproveitando",
    "outra pergunta",
    "outra questão",
    "por outro lado",
    "para sua informação",
    "a propósito",
    "colgo loccasione",
    "approfitto per",
    "ne approfitto per",
    "a parte questo",
    "unaltra domanda",
    "altra domanda",
    "per vostra informazione",
    "per informazione",
    "per conoscenza",
    "tra laltro",
    "los daarvan",
    "overigens",
    "trouwens",
    "nog een vraag",
    "een andere vraag",
    "ter info",
    "ter informatie",
    "ter kennisgeving",
    "verder nog",
    "另外",
    "顺便",
    "順便",
    "此外",
    "另一个问题",
    "另一個問題",
    "ところで",
    "別件",
    "別件ですが",
    "なお",
    "参考までに",
    "ちなみに",
    "별개로",
    "참고로",
    "그리고 별개로",
    "별도로",
    "다른 질문",
    "한편",
];

/// Pointers at another question of the agent's message, in each language.
const OTHER_QUESTION: &[&str] = &[
    "to your first question",
    "regarding your first question",
    "as for your first question",
    "on your first question",
    "to your other question",
    "as for your other question",
    "zu ihrer ersten frage",
    "zu ihrer anderen frage",
    "respecto a su primera pregunta",
    "respecto a tu primera pregunta",
    "en cuanto a su primera pregunta",
    "a su primera pregunta",
    "quant à votre première question",
    "concernant votre première question",
    "pour votre première question",
    "relativamente à vossa primeira questão",
    "relativamente à sua primeira questão",
    "sobre a sua primeira pergunta",
    "quanto alla sua prima domanda",
    "wat uw eerste vraag betreft",
    "op uw eerste vraag",
    "最初のご質問",
    "첫 번째 질문에 대해",
    "첫 번째 질문 관련",
    "一点目のご質問",
    "关于您的第一个问题",
    "关于第一个问题",
    "關於第一個問題",
];

/// "When", in each language, where it is not also "if" (`IF`).
const WHEN: &[&str] = &[
    "when",
    "cuando",
    "quand",
    "quando",
    "wanneer",
    "とき",
    "時",
    "的时候",
    "때",
];

/// First-person futures: a word that ends so, standing alone ("volveré", "riattiverò",
/// "rotaremos", "ferai"), in the languages whose future is one inflected word.
const FUTURE_ENDINGS: &[&str] = &["ré", "remos", "rò", "remo", "rei", "rai", "rons"];

/// Preferences about how or when, and their opposites ("wäre schlecht"), in each language
/// (folded).
const PREFERENCE: &[&str] = &[
    "better",
    "best",
    "prefer",
    "preferably",
    "ideally",
    "rather",
    "besser",
    "lieber",
    "am besten",
    "idealerweise",
    "mieux",
    "préférable",
    "de préférence",
    "idéalement",
    "mejor",
    "preferible",
    "preferiblemente",
    "idealmente",
    "melhor",
    "preferível",
    "de preferência",
    "meglio",
    "preferibile",
    "preferibilmente",
    "beter",
    "liever",
    "bij voorkeur",
    "助かります",
    "望ましい",
    "好ましい",
    "できれば",
    "出来れば",
    "最好",
    "比较好",
    "比較好",
    "更好",
    "좋겠",
    "좋을 것 같",
    "바람직",
    "bad",
    "inconvenient",
    "not ideal",
    "schlecht",
    "ungünstig",
    "ungelegen",
    "mauvais",
    "gênant",
    "malo",
    "mal momento",
    "ruim",
    "péssimo",
    "male",
    "scomodo",
    "slecht",
    "ongelegen",
    "困ります",
    "都合が悪",
    "不方便",
    "不太好",
    "곤란",
];

/// First-person futures made of words ("werden wir", "zullen we"), beside `OWN_PLAN`'s openings.
const FUTURE_PHRASES: &[&str] = &[
    "i will",
    "ill",
    "we will",
    "well",
    "werde ich",
    "werden wir",
    "ich werde",
    "wir werden",
    "zal ik",
    "zullen we",
    "zullen wij",
    "ik zal",
    "we zullen",
    // The present that speaks of a plan after a "once …" clause ("Zodra ik weer binnen ben,
    // zet ik 2FA weer aan", "Sobald ich drin bin, richte ich 2FA neu ein").
    "ga ik",
    "gaan we",
    "gaan wij",
    "zet ik",
    "zetten we",
    "richte ich",
    "richten wir",
    "我会",
    "我们会",
    "我們會",
    "我将",
    "我们将",
];

impl Reply<'_> {
    /// The sentence of `s` tells what happened: a past marker is in it ("last week", "vorige
    /// week", "先週", "since").
    /// (Even where a longer moment covers it: "last week" is one hit, of a moment.)
    pub(super) fn told_in_past(&self, s: &Signal) -> bool {
        self.sentence_text(s)
            .is_some_and(|sentence| Lexicon::builtin().mentions(sentence, Kind::Past))
    }

    /// `s` is said in another matter: its sentence or its line opens with a change of subject
    /// ("Approfitto per chiederle un'informazione: …").
    pub(super) fn in_another_matter(&self, s: &Signal) -> bool {
        s.at < self.folded.len() && self.opener(s.at, ANOTHER_MATTER).is_some()
    }

    /// Where the words of `openings` are, when the sentence or the line around byte `at` opens
    /// with one of them.
    fn opener(&self, at: usize, openings: &[&str]) -> Option<std::ops::Range<usize>> {
        let (start, _) = sentence_span(self.clauses, at);
        [start, self.line_start(at)].into_iter().find_map(|from| {
            let text = &self.folded[from..];
            let lead = text.len() - text.trim_start().len();
            opening_of(text.trim_start(), openings).map(|n| from + lead..from + lead + n)
        })
    }

    /// `s` is said in answer to another question of the agent's message: its sentence or line
    /// opens by pointing at it ("To your first question: no, …"), and neither the asked verb
    /// nor the question's targets are in its sentence (its object may be: "no, I don't have the
    /// recovery codes anymore").
    pub(super) fn answers_other_question(&self, s: &Signal) -> bool {
        let names_action = self
            .reading
            .names_action
            .get(s.sentence)
            .copied()
            .unwrap_or(true);
        !names_action
            && self.sentence_text(s).is_some_and(|sentence| {
                !self.asked.names_target(sentence) && self.opener(s.at, OTHER_QUESTION).is_some()
            })
    }

    /// The signal `s` sits in a sentence after the answer that sets no terms on it.
    pub(super) fn sets_no_terms(&self, s: &Signal) -> bool {
        let Reply {
            folded,
            clauses,
            hits,
            asked,
            reading,
            ..
        } = *self;
        let placed;
        let s = if s.sentence == usize::MAX {
            match place(s, folded, clauses) {
                Some(p) => {
                    placed = p;
                    &placed
                }
                None => return false,
            }
        } else {
            s
        };
        if reading.evidence < Evidence::Permit
        || s.at >= folded.len()
        // After the last sentence that answers by naming the action: a courtesy "gerne" later
        // on ("Für Rückfragen stehe ich Ihnen gerne zur Verfügung") answers nothing.
        || !answered_before(reading, s.sentence)
        {
            return false;
        }
        // The words that open another matter ("for some context") are no signal of their own.
        let opener = self.opener(s.at, ANOTHER_MATTER);
        if opener.as_ref().is_some_and(|o| o.contains(&s.at)) {
            return true;
        }
        let alongside: Vec<&Signal> = self
            .in_sentence(s.sentence)
            .filter(|x| !opener.as_ref().is_some_and(|o| o.contains(&x.at)))
            .collect();
        // Anything that answers, refuses, narrows or redirects is terms wherever it is said.
        // A refusal read from a negated verb ("I never added a key") tells what happened, unless
        // it names the thing asked about ("the release tags must not be removed").
        let story_refusal = |x: &Signal| {
            x.kind == Kind::Decline
                && x.derived
                && x.at < folded.len()
                && !names_asked_thing(folded, sentence_span(clauses, x.at), asked, hits)
        };
        let another_matter = opener.is_some();
        // "The recovery codes were only in a note on that phone": in a story of what happened
        // (a past marker beside it), a scope word inside the sentence tells; opening it ("Only
        // the staging one") or in another matter it is terms.
        let told_in_past = self.told_in_past(s);
        // "P.S. Da domani sono in ferie fino a lunedì": the moments of the requester's own
        // absence, and the words an out-of-office message shares with it, are their news.
        let absence = self.tells_absence(s);
        let telling_scope = |x: &Signal| {
            x.kind == Kind::Scope
                && !another_matter
                && told_in_past
                && TELLING_SCOPE.contains(&quoted(&x.reason))
                && x.at < folded.len()
                && !opens_clause(folded, x.at)
        };
        let quiet = |x: &&Signal| {
            telling_scope(x)
                || (absence && matches!(x.kind, Kind::Timing | Kind::AutoReply))
                || story_refusal(x)
                || (x.kind == Kind::Sarcasm && LAUGHTER.contains(&quoted(&x.reason)))
                || matches!(
                    x.kind,
                    Kind::Negation
                        | Kind::Condition
                        | Kind::Timing
                        | Kind::Hedge
                        | Kind::Question
                        | Kind::Ack
                        | Kind::Filler
                        | Kind::Neutral
                        | Kind::Past
                )
        };
        // Another matter may ask the agent for something ("could you let us know whether …").
        if !alongside
        .iter()
        .all(|x| quiet(x) || (another_matter && x.kind == Kind::Directive))
        || reading.names_action.get(s.sentence).copied().unwrap_or(true)
        // "Let me check with them first": the decision is still open, wherever it is said.
        || alongside
            .iter()
            .any(|x| PENDING.contains(&quoted(&x.reason)))
        {
            return false;
        }
        let (start, end) = sentence_span(clauses, s.at);
        let sentence = folded[start..end].trim_start();
        // Another matter runs to the end of its line ("Unabhängig davon hätte ich eine Frage: Ist
        // es möglich, …?"); things of the asked kind may come up in it ("a nivel de grupo y no
        // proyecto por proyecto"), the question's targets may not.
        if asked.names_target(sentence) {
            return false;
        }
        // Another matter still may not set a moment or an order: "Übrigens, bitte erst ab
        // Montag", "另外，请在周五之后再做" put terms on the answer whatever opens them. Only a
        // duration ("compute minutes", "per year") or a hypothetical "whether" may come up.
        // "… when I open the Web IDE in Safari the screen goes blank": a "when" that tells how
        // the other matter happens, in a sentence that asks nothing of the agent and names no
        // moment.
        let describes_other_matter = !reading.directed.get(s.sentence).copied().unwrap_or(true)
            && reading
                .sentence_words
                .get(s.sentence)
                .is_some_and(|n| *n >= 6)
            && !alongside.iter().any(|x| {
                matches!(
                    x.kind,
                    Kind::Timing | Kind::Negation | Kind::Hedge | Kind::Question
                )
            });
        let sets_a_moment = alongside.iter().any(|x| {
            let word = quoted(&x.reason);
            (x.kind == Kind::Timing
                && (!UNITS.contains(&word)
                    || comes_after(&folded[..x.at.min(folded.len())], COMING)))
                || (x.kind == Kind::Condition
                    && !IF.contains(&word)
                    && !(describes_other_matter && WHEN.contains(&word)))
        });
        if another_matter {
            return !sets_a_moment;
        }
        // "I'll let you know when the export is done" speaks to the agent: a plan of the
        // requester's own names nobody else.
        let addresses_agent = sentence
            .split_whitespace()
            .any(|w| SECOND_PERSON.contains(&w));
        let own_future = !addresses_agent
            && (sentence
                .split_whitespace()
                .any(|w| w.chars().count() > 4 && FUTURE_ENDINGS.iter().any(|e| w.ends_with(e)))
                || FUTURE_PHRASES.iter().any(|p| contains_phrase(sentence, p)));
        // "Kurze Frage am Rande, wann ungefähr ist das durch?": asking how long it takes puts no
        // terms on the answer.
        if alongside
            .iter()
            .all(|x| x.kind != Kind::Condition && x.kind != Kind::Negation)
            && asks_how_long(sentence)
        {
            return true;
        }
        // Own plans and told stories carry no hypothetical, no prerequisite, no moment to come
        // (the requester's own plan may have its own moment: "mi nieto vendrá el sábado").
        let sets_order = alongside.iter().any(|x| {
            let word = quoted(&x.reason);
            (x.kind == Kind::Condition
            && (IF.contains(&word) || PREREQUISITE.contains(&word) || UNTIL_THEN.contains(&word)))
            // A moment in a story after the answer may be when not to act ("we cannot afford
            // any downtime during business hours"); only the requester's own plan has its own.
            || (x.kind == Kind::Timing && !own_future && !absence)
            // "But not this week.": a contrast that opens the sentence sets terms; one inside a
            // story ("I tried, but the key was on the old laptop") tells.
            || (x.kind == Kind::Hedge && CONTRAST.contains(&word) && x.at <= start + 1)
            || x.kind == Kind::Question
            // "… not like I have a choice lol": a sentence that opens with its negation, or
            // laughs, comments on the answer rather than telling what happened.
            || (x.kind == Kind::Negation && x.at <= start + 1)
            || (x.kind == Kind::Sarcasm && !own_future)
        })
            // "The billing settings must not be affected by this": a negated obligation after
            // the answer is a requirement on how the action is done, not a story.
            || (alongside.iter().any(|x| x.kind == Kind::Negation) && obliges(sentence))
            // "We release on Friday, so after that would be better": a preference is a term.
            || sentence.len() > SCANNED_SENTENCE
            || PREFERENCE.iter().any(|w| contains_phrase(sentence, w));
        if sets_order {
            return false;
        }
        let words = reading.sentence_words.get(s.sentence).copied().unwrap_or(0);
        let directed = reading.directed.get(s.sentence).copied().unwrap_or(true);
        // The requester's own plan may name the thing ("volveré a activar la 2FA"); a story that
        // names it may be setting terms on it ("the old address must stay").
        !directed
            && (own_future
                || (words >= 6
                    && !addresses_agent
                    && !names_asked_thing(folded, (start, end), asked, hits)))
    }
}

/// The last answer comes before `sentence`: the last sentence that names the action, or with
/// explicit permission only, the last sentence with a yes or more.
fn answered_before(reading: &Reading, sentence: usize) -> bool {
    let last = if reading.evidence == Evidence::Anchored {
        reading.anchored_sentences.iter().max().copied()
    } else {
        reading.last_evidence_sentence
    };
    last.is_some_and(|last| sentence > last)
}

/// Asking how long or until when, in each language.
fn asks_how_long(sentence: &str) -> bool {
    HOW_LONG
        .iter()
        .chain(WHEN_DONE)
        .any(|p| sentence.contains(p))
}

/// "When will it be done", beside `HOW_LONG`.
const WHEN_DONE: &[&str] = &[
    "wann ungefähr",
    "bis wann",
    "when will",
    "when do you expect",
    "around when",
    "para cuándo",
    "quand pensez vous",
    "dici quand",
    "entro quando",
    "para quando",
    "wanneer verwacht",
    "いつ頃",
    "いつごろ",
    "什么时候",
    "什麼時候",
    "何时",
    "언제쯤",
    "얼마나 걸",
];

/// Laughter beside a story ("phone got stolen at a lan party lol"): no sarcasm about the answer.
const LAUGHTER: &[&str] = &[
    "lol",
    "haha",
    "hahaha",
    "lmao",
    "😂",
    "🤣",
    "😅",
    "ㅋㅋ",
    "ㅋㅋㅋ",
    "www",
    "笑",
];

/// Harmless wherever it is said: a greeting's question ("tudo bem?", "how are you?") and "先"
/// meaning "previous" (先日, 先週, 先月), not "first".
impl Reply<'_> {
    pub(super) fn harmless(&self, s: &Signal) -> bool {
        let (folded, clauses) = (self.folded, self.clauses);
        if s.at >= folded.len() {
            return false;
        }
        match s.kind {
            Kind::Question => {
                let (start, end) = sentence_span(clauses, s.at);
                let sentence = &folded[start..end];
                sentence.split_whitespace().count() <= 6
                    && GREETING_QUESTIONS.iter().any(|g| sentence.contains(g))
            }
            // "Do it whenever suits you", "quando vi è più comodo", "no rush": words that
            // leave the moment to the agent set none; "if it helps" offers context, and
            // "once I'm back in" is the requester's own moment after the action.
            Kind::Condition | Kind::Timing | Kind::Negation
                if phrase_covers(folded, s.at, &NO_MOMENT) =>
            {
                true
            }
            // "If you need anything else, shout", "é só falar": an offer of more help.
            Kind::Condition | Kind::Scope | Kind::Negation
                if phrase_covers(folded, s.at, &OFFERED) =>
            {
                true
            }
            // "按你们说的" ("as you said"): the agent's words, not someone else's approval.
            Kind::Relay if matches!(quoted(&s.reason), "说" | "說") => {
                let before = &folded[..s.at];
                ["你们", "你們", "您", "你", "贵方", "貴方"]
                    .iter()
                    .any(|w| before.ends_with(w))
            }
            Kind::Condition | Kind::Timing | Kind::Hedge if self.courtesy_sentence(s) => true,
            // "tout est redéployé chaque semaine": how often, not when.
            Kind::Timing => {
                let before = folded[..s.at].trim_end();
                FREQUENCY.iter().any(|w| {
                    before.ends_with(w)
                        && (!w.is_ascii()
                            || !before[..before.len() - w.len()].ends_with(char::is_alphanumeric))
                })
            }
            // "Phone got stolen at a LAN party lol": laughing at one's own story, in a sentence
            // that neither answers nor names the action, mocks nothing asked.
            Kind::Sarcasm if LAUGHTER.contains(&quoted(&s.reason)) && s.sentence != usize::MAX => {
                !self.reading.anchored_sentences.contains(&s.sentence)
                    && !self
                        .reading
                        .names_action
                        .get(s.sentence)
                        .copied()
                        .unwrap_or(true)
                    && self.in_sentence(s.sentence).all(|x| {
                        !matches!(
                            x.kind,
                            Kind::Grant | Kind::Permit | Kind::Affirm | Kind::Ack | Kind::Directive
                        ) && (x.kind != Kind::Sarcasm || LAUGHTER.contains(&quoted(&x.reason)))
                    })
            }
            Kind::Condition if quoted(&s.reason) == "先" => {
                folded[s.at..].strip_prefix("先").is_some_and(|rest| {
                    ["日", "週", "月", "ほど", "程", "般", "生"]
                        .iter()
                        .any(|p| rest.starts_with(p))
                })
            }
            _ => false,
        }
    }
}

/// Leaving the moment to the agent, in each language (folded).
const AT_YOUR_CONVENIENCE: &[&str] = &[
    "whenever suits you",
    "whenever it suits you",
    "whenever suits",
    "whenever you like",
    "whenever you want",
    "whenever you can",
    "whenever youre ready",
    "whenever convenient",
    "when convenient",
    "when it suits you",
    "when it is convenient for you",
    "at your convenience",
    "no rush",
    "no hurry",
    "wann es ihnen passt",
    "wann immer es ihnen passt",
    "wann immer sie möchten",
    "wann immer sie wollen",
    "wie es ihnen passt",
    "keine eile",
    "quand vous voulez",
    "quand vous le souhaitez",
    "quand cela vous convient",
    "quand ça vous arrange",
    "à votre convenance",
    "pas durgence",
    "rien ne presse",
    "cuando quieran",
    "cuando queráis",
    "cuando os venga bien",
    "cuando les venga bien",
    "cuando puedan",
    "cuando podáis",
    "sin prisa",
    "quando quiserem",
    "quando for melhor",
    "quando puderem",
    "quando for conveniente",
    "sem pressa",
    "quando vi è più comodo",
    "quando vi è comodo",
    "quando volete",
    "quando potete",
    "quando preferite",
    "nessuna fretta",
    "wanneer het jullie uitkomt",
    "wanneer het u uitkomt",
    "wanneer jullie willen",
    "wanneer u wilt",
    "geen haast",
    "ご都合の良い時",
    "ご都合のよいとき",
    "ご都合の良いタイミング",
    "ご都合のよいタイミング",
    "急ぎません",
    "急ぎではありません",
    "急ぎではございません",
    "随时",
    "隨時",
    "方便的时候",
    "方便的時候",
    "不急",
    "편하실 때",
    "편한 때",
    "편하신 시간",
    "언제든지",
    "급하지 않",
];

impl Reply<'_> {
    /// "Primeiro, obrigado pela paciência com toda a verificação", "계정 소유권 확인까지 꼼꼼하게
    /// 진행해 주셔서 감사합니다": a sentence that thanks or apologises, and answers, asks and
    /// contrasts nothing, sets no terms with its moments and qualifiers.
    fn courtesy_sentence(&self, s: &Signal) -> bool {
        if s.sentence == usize::MAX || s.at >= self.folded.len() {
            return false;
        }
        let (start, end) = sentence_span(self.clauses, s.at);
        if end - start > SCANNED_SENTENCE {
            return false;
        }
        let sentence = &self.folded[start..end];
        // "First, thanks for …" opens with its "first"; "thanks for waiting until Monday"
        // still orders the action.
        let word = quoted(&s.reason);
        let orders = s.kind == Kind::Condition
            && (PREREQUISITE.contains(&word) || UNTIL_THEN.contains(&word))
            && s.at > start + 1;
        COURTESY.iter().any(|w| contains_phrase(sentence, w))
            && !orders
            && !CONTRAST.iter().any(|w| contains_phrase(sentence, w))
            && !names_asked_thing(self.folded, (start, end), self.asked, self.hits)
            && !self
                .reading
                .names_action
                .get(s.sentence)
                .copied()
                .unwrap_or(true)
            && !self.reading.anchored_sentences.contains(&s.sentence)
            && self.in_sentence(s.sentence).all(|x| {
                !matches!(
                    x.kind,
                    Kind::Grant
                        | Kind::Permit
                        | Kind::Affirm
                        | Kind::Directive
                        | Kind::Question
                        | Kind::Decline
                        | Kind::DeclineSoft
                        | Kind::Withdraw
                        | Kind::Redirect
                        | Kind::Relay
                )
            })
    }
}

/// Thanks and apologies, in each language (folded).
const COURTESY: &[&str] = &[
    "thank you",
    "thanks",
    "sorry",
    "apologies",
    "danke",
    "vielen dank",
    "entschuldigung",
    "entschuldigen",
    "merci",
    "désolé",
    "désolée",
    "gracias",
    "perdón",
    "disculpa",
    "disculpen",
    "obrigado",
    "obrigada",
    "desculpa",
    "desculpem",
    "grazie",
    "scusa",
    "scusate",
    "mi scuso",
    "bedankt",
    "dank je",
    "dank u",
    "excuses",
    "ありがとう",
    "感謝",
    "申し訳",
    "すみません",
    "谢谢",
    "謝謝",
    "感谢",
    "感謝",
    "抱歉",
    "不好意思",
    "감사",
    "고맙",
    "죄송",
];

/// The phrases that leave the moment to the agent or keep it the requester's own.
static NO_MOMENT: LazyLock<AhoCorasick> =
    LazyLock::new(|| phrase_set(&[AT_YOUR_CONVENIENCE, IF_IT_HELPS, ONCE_BACK_IN, POLITE_IF]));

/// The offers of more help.
static OFFERED: LazyLock<AhoCorasick> = LazyLock::new(|| phrase_set(&[OFFERS]));

/// Offers of more help, in each language (folded).
const OFFERS: &[&str] = &[
    "if you need anything else",
    "if you need anything",
    "if you need more",
    "if you need any more",
    "if you have any questions",
    "if anything else is needed",
    "falls sie noch etwas brauchen",
    "falls sie noch fragen haben",
    "wenn sie noch etwas brauchen",
    "wenn sie noch fragen haben",
    "si vous avez besoin dautre chose",
    "si vous avez besoin de quoi que ce soit",
    "si vous avez des questions",
    "si necesitan algo más",
    "si necesitáis algo más",
    "si necesitan cualquier cosa",
    "se precisarem de mais alguma coisa",
    "se precisarem de algo",
    "é só falar",
    "é só avisar",
    "é só chamar",
    "se avete bisogno",
    "se vi serve altro",
    "se serve altro",
    "als jullie nog iets nodig hebben",
    "als u nog iets nodig heeft",
    "mocht u nog vragen hebben",
    "何かあれば",
    "ご不明な点があれば",
    "ご不明点があれば",
    "如有任何问题",
    "如有任何問題",
    "如果还需要",
    "如果還需要",
    "필요하시면",
    "궁금한 점이 있으시면",
    "필요한 게 있으시면",
];

/// Words that make a moment a frequency ("every week", "chaque semaine", "毎週").
const FREQUENCY: &[&str] = &[
    "every",
    "each",
    "chaque",
    "tous les",
    "toutes les",
    "jede",
    "jeden",
    "jedes",
    "cada",
    "todos los",
    "todas las",
    "toda",
    "todo",
    "todos os",
    "todas as",
    "ogni",
    "tutti i",
    "elke",
    "iedere",
    "毎",
    "每",
    "매",
];

/// Offering context "if it helps", in each language (folded).
const IF_IT_HELPS: &[&str] = &[
    "if it helps",
    "if that helps",
    "in case it helps",
    "falls es hilft",
    "falls das hilft",
    "wenn es hilft",
    "si ça peut aider",
    "si cela peut aider",
    "si ça peut servir",
    "por si os sirve",
    "por si les sirve",
    "por si sirve",
    "por si ayuda",
    "caso ajude",
    "se ajudar",
    "se può servire",
    "se può essere utile",
    "se vi può servire",
    "als het helpt",
    "voor het geval het helpt",
    "ご参考までに",
    "参考までに",
    "供参考",
    "仅供参考",
    "僅供參考",
    "참고로",
    "도움이 될까 해서",
];

/// Polite requests put as a condition ("진행해 주시면 감사하겠습니다": "if you would do it, I
/// would be grateful"): their "if" asks, it sets no terms.
const POLITE_IF: &[&str] = &[
    "주시면 감사",
    "주시면 고맙",
    "いただければ幸い",
    "いただけますと幸い",
    "いただけると幸い",
    "いただければ助かり",
];

/// The requester's own moment once the action is done: back in the account.
const ONCE_BACK_IN: &[&str] = &[
    "once im back in",
    "once i am back in",
    "once im in",
    "as soon as im in",
    "as soon as i am in",
    "when im in",
    "once i can log in",
    "once i can sign in",
    "as soon as im back in",
    "as soon as i can log in",
    "when im back in",
    "sobald ich wieder drin bin",
    "sobald ich wieder eingeloggt bin",
    "sobald ich mich wieder anmelden kann",
    "sobald ich wieder angemeldet bin",
    "dès que je serai reconnecté",
    "dès que je pourrai me reconnecter",
    "dès que je peux me reconnecter",
    "en cuanto entre",
    "en cuanto pueda entrar",
    "cuando pueda entrar",
    "assim que eu entrar",
    "assim que conseguir entrar",
    "assim que eu conseguir entrar",
    "appena riesco a entrare",
    "appena rientro",
    "non appena riesco ad accedere",
    "zodra ik weer binnen ben",
    "zodra ik weer kan inloggen",
    "zodra ik ben ingelogd",
    "ログインできましたら",
    "ログインできたら",
    "ログインでき次第",
    "로그인되면",
    "로그인이 되면",
    "로그인하면",
    "로그인되는 대로",
    "登录后",
    "登入後",
    "能登录后",
    "登录以后",
];

/// A greeting that asks how one is.
const GREETING_QUESTIONS: &[&str] = &[
    "how are you",
    "hope you are well",
    "hope youre well",
    "qué tal",
    "que tal",
    "cómo estás",
    "cómo está",
    "wie gehts",
    "wie geht es",
    "ça va",
    "ca va",
    "comment allez vous",
    "tudo bem",
    "tudo bom",
    "como vai",
    "come stai",
    "come sta",
    "hoe gaat het",
    "hoe is het",
    "お元気ですか",
    "你好吗",
    "您好吗",
    "최근 잘",
    "잘 지내",
];

/// A clock time or date found in the raw text ("02:00"), placed in the one sentence of the
/// folded text that holds it; `None` when it is found nowhere or more than once.
fn place(s: &Signal, folded: &str, clauses: &[Clause]) -> Option<Signal> {
    let needle = fold(quoted(&s.reason));
    let needle = needle.trim();
    if needle.is_empty() {
        return None;
    }
    let mut found = folded.match_indices(needle).map(|(at, _)| at);
    let at = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let here = clauses.iter().rposition(|c| c.start <= at)?;
    let sentence = clauses[1..=here]
        .iter()
        .filter(|c| c.opens_sentence)
        .count();
    Some(Signal {
        at,
        sentence,
        ..s.clone()
    })
}

/// The length of the opening of `text` that is one of `openings` (as whole words).
fn opening_of(text: &str, openings: &[&str]) -> Option<usize> {
    openings
        .iter()
        .filter(|o| {
            text.strip_prefix(*o)
                .is_some_and(|rest| !o.is_ascii() || !rest.starts_with(char::is_alphanumeric))
        })
        .map(|o| o.len())
        .max()
}

#[cfg(test)]
mod tests {
    use super::super::judge_text;
    use crate::workflow::ConsentVerdict::{Granted, Unclear};

    const RERUN: &str = "Could you please provide permission for staff to re-run one or more \
                         pipelines in project `acme/web` to investigate the issue you've described?";
    const DISABLE_2FA: &str = "¿Podría confirmar que desea que eliminemos la autenticación de dos \
                               factores (2FA) de su cuenta `lmartinez`?";
    const PRIMARY: &str = "Could you please confirm that you would like us to add \
                           `r.okafor@example.com` to your account and make it the _primary_ email address?";

    fn verdict(request: &str, reply: &str) -> crate::workflow::ConsentVerdict {
        judge_text(request, reply).0
    }

    /// Each text after `answer` to `RERUN`, as the next sentence and as the next paragraph,
    /// with the verdict it must get either way.
    fn after_answer(answer: &str, cases: &[(&str, crate::workflow::ConsentVerdict)]) {
        for (text, expected) in cases {
            for separator in [" ", "\n\n"] {
                assert_eq!(
                    verdict(RERUN, &format!("{answer}{separator}{text}")),
                    *expected,
                    "{separator:?}{text}"
                );
            }
        }
    }

    #[test]
    fn another_matter_after_the_answer_sets_no_terms() {
        let answer = "Yes, you have our permission to re-run the pipelines in acme/web.";
        assert_eq!(
            verdict(
                RERUN,
                &format!(
                    "{answer}\n\nOn a separate matter: could you let us know whether pipelines on protected branches count towards our compute minutes?"
                )
            ),
            Granted
        );
        // A scope said after "by the way" is still a scope.
        assert_eq!(
            verdict(
                RERUN,
                &format!("{answer} By the way, please only re-run the last one.")
            ),
            Unclear
        );
        // Nor a moment or an order, whatever opens it.
        assert_eq!(
            verdict(RERUN, &format!("{answer} Übrigens, bitte erst ab Montag.")),
            Unclear
        );
        assert_eq!(
            verdict(RERUN, &format!("{answer} 另外，请在周五之后再做。")),
            Unclear
        );
        // A P.S. is no change of subject.
        assert_eq!(
            verdict(RERUN, &format!("{answer}\n\nP.S. only the staging ones.")),
            Unclear
        );
    }

    #[test]
    fn a_question_for_information_after_the_answer_sets_no_terms() {
        let answer = "Yes, you have our permission to re-run the pipelines in acme/web.";
        // A question that turns back to the action, or sets a moment or a part to keep, is
        // still a question about the answer.
        after_answer(
            answer,
            &[
                (
                    "Autre sujet : à qui dois-je m'adresser pour obtenir un devis ?",
                    Granted,
                ),
                (
                    "Noch eine Frage am Rande: Wenn eine Kollegin das gleiche Problem hat, muss ich dann ein Ticket eröffnen?",
                    Granted,
                ),
                (
                    "그리고 별도 질문인데요, 러너 토큰을 주기적으로 교체하는 권장 방법이 있을까요?",
                    Granted,
                ),
                ("Do you know if that is safe?", Unclear),
                ("Is it possible to wait until Friday?", Unclear),
                (
                    "Est-il possible de garder une copie des journaux ?",
                    Unclear,
                ),
            ],
        );
    }

    #[test]
    fn a_negated_obligation_after_the_answer_is_a_requirement() {
        let answer = "You have my permission to re-run the pipelines in acme/web.";
        after_answer(
            answer,
            &[
                (
                    "The billing settings must not be affected by this though.",
                    Unclear,
                ),
                (
                    "Die Abrechnung darf davon aber nicht betroffen sein, das ist wichtig.",
                    Unclear,
                ),
                (
                    "La facturation ne doit pas être touchée par cette opération.",
                    Unclear,
                ),
            ],
        );
        // A story after the answer still tells what happened.
        assert_eq!(
            verdict(
                RERUN,
                &format!("{answer} I honestly did not expect this to take so much of your time.")
            ),
            Granted
        );
    }

    #[test]
    fn a_story_opened_as_background_after_the_answer_sets_no_terms() {
        let answer = "Yes, you have my permission to re-run the pipelines in acme/web.";
        // A negated verb in it tells what happened; it is no refusal.
        assert_eq!(
            verdict(
                RERUN,
                &format!(
                    "{answer}\n\nFor some context, our old contractor never configured the shared runners for this group."
                )
            ),
            Granted
        );
        // A refusal there that names the thing asked about is one.
        assert_ne!(
            verdict(
                RERUN,
                &format!(
                    "{answer}\n\nFor some context, the deploy pipelines must never be re-run on Fridays."
                )
            ),
            Granted
        );
    }

    #[test]
    fn the_requesters_own_plan_sets_no_terms() {
        assert_eq!(
            verdict(
                DISABLE_2FA,
                "Confirmo que deseo que eliminen la autenticación de dos factores de mi cuenta lmartinez. \
                 En cuanto recupere el acceso, volveré a activar la 2FA con la nueva llave."
            ),
            Granted
        );
        // A prerequisite in the plan still says "not yet".
        assert_eq!(
            verdict(
                RERUN,
                "Yes, you have my permission to re-run the pipelines. I will need the backups first though."
            ),
            Unclear
        );
    }

    #[test]
    fn a_story_told_after_the_answer_sets_no_terms() {
        assert_eq!(
            verdict(
                PRIMARY,
                "Yes, I confirm that I would like you to add r.okafor@example.com to my account and make it \
                 the primary email address. My employer shut down the old mailbox when I moved teams, which \
                 is why I cannot receive the confirmation mail."
            ),
            Granted
        );
        // A moment in it may be when not to act; a sentence opening with its negation comments.
        assert_eq!(
            verdict(
                RERUN,
                "Go ahead and re-run the pipelines in acme/web. Our team cannot afford any downtime during business hours."
            ),
            Unclear
        );
        assert_eq!(
            verdict(RERUN, "Sure, go ahead... not like I have a choice lol"),
            Unclear
        );
    }

    #[test]
    fn a_clock_time_is_read_in_its_own_sentence() {
        let answer = "Yes, you have our permission to re-run the pipelines in acme/web.";
        // The requester's own plan has its own moment.
        assert_eq!(
            verdict(
                RERUN,
                &format!("{answer} We will rotate the deploy tokens at 18:00.")
            ),
            Granted
        );
        assert_eq!(
            verdict(
                RERUN,
                &format!("{answer} Please do it between 02:00 and 04:00 UTC.")
            ),
            Unclear
        );
        // Information about times may be when not to act, whatever opens it.
        assert_eq!(
            verdict(
                RERUN,
                &format!(
                    "{answer}\n\nFor your information, the runner host is patched every Thursday between 02:00 and 04:00 UTC."
                )
            ),
            Unclear
        );
    }

    #[test]
    fn a_greeting_asks_nothing_and_senjitsu_is_no_first() {
        let answer = "Yes, you have my permission to re-run the pipelines in acme/web.";
        assert_eq!(
            verdict(RERUN, &format!("Hi Sam, how are you?\n\n{answer}")),
            Granted
        );
        assert_eq!(
            verdict(RERUN, &format!("Hi Sam, are you sure?\n\n{answer}")),
            Unclear
        );
        let request = "プロジェクト `acme/web` のパイプラインをスタッフが再実行することについて、許可をいただけますでしょうか。";
        assert_eq!(
            verdict(
                request,
                "先日はありがとうございました。プロジェクト acme/web のパイプラインの再実行を許可します。"
            ),
            Granted
        );
        assert_eq!(
            verdict(
                request,
                "先にバックアップを取ってください。プロジェクト acme/web のパイプラインの再実行を許可します。"
            ),
            Unclear
        );
    }

    #[test]
    fn a_when_that_tells_another_matter_sets_no_terms() {
        let answer = "Yes, you have my permission to re-run the pipelines in acme/web.";
        after_answer(
            answer,
            &[
                (
                    "One more thing: when I open the Web IDE in Safari the screen sometimes stays blank.",
                    Granted,
                ),
                // Not when it asks something of the agent, names a moment, or hedges.
                (
                    "One more thing: when you do it, please tell me first.",
                    Unclear,
                ),
                (
                    "One more thing: when our lead is back on Friday he may want to look at the pipelines.",
                    Unclear,
                ),
                (
                    "One more thing: when our team lead is back, but he may disagree with all this.",
                    Unclear,
                ),
                (
                    "By the way, when the migration finishes we will not need the mirror either.",
                    Unclear,
                ),
            ],
        );
    }

    #[test]
    fn pointing_back_at_the_question_marks_the_answer() {
        // The story before it may then carry its own order ("first") without setting terms.
        let story = "A bit of context from our side first: we are moving the last of our services off Jenkins and this repository is the one where the timeouts really hurt.";
        assert_eq!(
            verdict(
                RERUN,
                &format!(
                    "{story}\n\nAs for your question: yes, you have my permission to re-run pipelines in acme/web."
                )
            ),
            Granted
        );
    }

    #[test]
    fn an_answer_to_another_question_is_no_refusal() {
        let request = "Could you please confirm that you would like us to remove two-factor authentication from the account `mhallworth`?";
        let answer = "So yes, I confirm that I would like you to remove two-factor authentication from the account mhallworth.";
        assert_eq!(
            verdict(
                request,
                &format!(
                    "To your first question: no, I don't have the recovery codes anymore.\n\n{answer}"
                )
            ),
            Granted
        );
        // Pointing at another question does not cover a refusal of this one.
        assert_ne!(
            verdict(
                request,
                &format!(
                    "To your first question: no, and please don't remove two-factor authentication.\n\n{answer}"
                )
            ),
            Granted
        );
    }

    #[test]
    fn a_scope_word_in_a_story_of_what_happened_tells() {
        let request = "Could you please confirm that you would like us to remove two-factor authentication from the account `jvandijk`?";
        let answer =
            "I give permission to remove two-factor authentication from my account jvandijk.";
        assert_eq!(
            verdict(
                request,
                &format!(
                    "{answer}\n\nMy phone broke last week and the backup was only in a note on that phone."
                )
            ),
            Granted
        );
        // Not without a past marker, nor opening its clause.
        for story in [
            "We only want the authenticator app removed from the old phone.",
            "Last week, only the backup codes were printed.",
        ] {
            assert_eq!(
                verdict(request, &format!("{answer}\n\n{story}")),
                Unclear,
                "{story}"
            );
        }
    }
}
