//! The requester's story before the answer: what happened, told in sentences of some length
//! that address nothing the question asks. A negation or hedge in it is background, and a
//! condition, moment or scope word in it tells what happened rather than setting terms — unless
//! it orders the action after something ("first", "until") or wants something else instead.
//!
//! Separate from the checks after the answer (`afterword`): before the answer a qualifier is
//! excused for being story; after it, for being the requester's own plan or a question of
//! their own.

use super::clause::opens_clause;
use super::moments::UNITS;
use super::reply::Reply;
use super::signal::{Evidence, Signal, quoted};
use super::words::{CONTRAST, IF, comes_after, contains_phrase};
use crate::workflow::consent::lexicon::Kind;

impl Reply<'_> {
    /// Background before the answer does not qualify an answer that names the action;
    /// nothing after it, nor anything in the answer's own sentence, is background.
    /// Only a story of some length is background ("No. Go ahead." is not), and only a
    /// contrast ("…, but: yes, I give permission") may open the answer's own sentence.
    pub(super) fn background(&self, s: &Signal) -> bool {
        let Reply { reading, .. } = *self;
        reading.evidence >= Evidence::Permit
            && matches!(s.kind, Kind::Negation | Kind::Hedge)
            // "Let me check with them": the decision is still open, wherever it is said.
            && !PENDING.contains(&quoted(&s.reason))
            && ((reading
                .first_evidence_sentence
                .is_some_and(|first| s.sentence < first)
                && reading
                    .sentence_words
                    .get(s.sentence)
                    .is_some_and(|n| *n >= 6))
                || (s.kind == Kind::Hedge
                    && reading.evidence == Evidence::Anchored
                    && CONTRAST.iter().any(|w| quoted(&s.reason) == *w)
                    && reading.first_strong_at.is_some_and(|at| s.at < at)))
    }

    /// The sentence of `s` tells of the requester being away (leave, holidays), naming none of
    /// the question's targets.
    pub(super) fn tells_absence(&self, s: &Signal) -> bool {
        self.sentence_text(s).is_some_and(|sentence| {
            ABSENCE.iter().any(|w| contains_phrase(sentence, w))
                && !self.asked.names_target(sentence)
        })
    }

    /// A qualifier in the story ("it only has a few stale pages", "two weeks ago", "when I
    /// graduated") says what happened, not on what terms the answer is given; words that
    /// order the action after something ("first", "until") may still be terms.
    pub(super) fn story_qualifier(&self, s: &Signal) -> bool {
        let Reply {
            folded, reading, ..
        } = *self;
        reading.evidence >= Evidence::Permit
            && matches!(
                s.kind,
                Kind::Condition | Kind::Timing | Kind::Scope | Kind::Redirect | Kind::AutoReply
            )
            && (self.story_sentence(s.sentence) || self.marked_story_sentence(s.sentence))
            // "Everything except the wiki can go", "I'd prefer you archive it": a part of
            // the action, or something else wanted, is a term wherever it is said.
            && (s.kind != Kind::Scope || TELLING_SCOPE.contains(&quoted(&s.reason)))
            // "We are still exporting it this week": only how long ago or how long, never
            // a moment to come, is story.
            && (s.kind != Kind::Timing
                || (UNITS.contains(&quoted(&s.reason))
                    && !comes_after(&folded[..s.at.min(folded.len())], COMING))
                // "Te cuento un poco el contexto: … a partir del lunes empiezo una baja": in
                // background opened as such, the moment of the requester's own absence is the
                // story's (a moment for anything else may be one for the action).
                || (self.in_another_matter(s) && self.tells_absence(s)))
            && !(s.kind == Kind::Redirect && WANTS_ELSE.contains(&quoted(&s.reason)))
            && (!SEQUENCE.contains(&quoted(&s.reason)) || reading.answer_marked)
            && !IF.contains(&quoted(&s.reason))
            // "Only the staging one." opens with its terms; "it only has a few pages"
            // tells, and so does "Some background: …".
            && (!opens_clause(folded, s.at)
                || reading.answer_marked
                || quoted(&s.reason) == "some")
            // "…. Then you may delete it" answers on the terms just set.
            && !reading.answer_follows_on
    }
}

/// Hedges that leave the decision open ("let me check", "ask my team"): never background.
pub(super) const PENDING: &[&str] = &[
    "let me check",
    "let me think",
    "ask my",
    "check with",
    "talk to",
    "need to ask",
    "need to check",
    "check whether",
    "check if",
    "decide whether",
    "decide if",
    "see whether",
    "get back to you",
    "ill confirm",
    "will confirm",
    "discuss",
    "discussed internally",
    "internally first",
    "intern besprechen",
    "besprechen",
    "abklären",
    "hablarlo",
    "consultarlo",
    "en discuter",
    "discutir",
    "discutere",
    "overleggen",
    "bespreken",
    "相談",
    "商量",
    "讨论",
    "討論",
    "논의",
    "상의하",
    "상의해",
    "상의 후",
    "상의드",
    "상의를",
    "상의가",
    "상의한",
    "approval",
    "wait",
    "hmm",
];

/// Words that make a following span of time one to come ("this week", "next month").
pub(super) const COMING: &[&str] = &[
    "this",
    "next",
    "coming",
    "these",
    "diese",
    "dieser",
    "diesen",
    "nächste",
    "nächsten",
    "esta",
    "este",
    "próxima",
    "próximo",
    "cette",
    "ce",
    "prochaine",
    "prochain",
    "questa",
    "questo",
    "prossima",
    "prossimo",
    "deze",
    "dit",
    "volgende",
    "komende",
    "essa",
    "esse",
];

/// Scope words a story uses to tell ("it only has a few pages", "some background"); any other
/// scope word names part of the action.
/// Being away, in each language ("baja de maternidad", "Urlaub", "休暇").
const ABSENCE: &[&str] = &[
    "parental leave",
    "maternity leave",
    "paternity leave",
    "on leave",
    "on holiday",
    "on vacation",
    "out of office",
    "baja de maternidad",
    "baja de paternidad",
    "de baja",
    "de vacaciones",
    "vacaciones",
    "elternzeit",
    "mutterschutz",
    "urlaub",
    "congé maternité",
    "congé parental",
    "en congé",
    "en vacances",
    "licença maternidade",
    "licença de maternidade",
    "de férias",
    "férias",
    "maternità",
    "in ferie",
    "ferie",
    "zwangerschapsverlof",
    "ouderschapsverlof",
    "met vakantie",
    "vakantie",
    "産休",
    "育休",
    "休暇",
    "产假",
    "休假",
    "育儿假",
    "출산휴가",
    "육아휴직",
    "휴가",
    // Reachable less, or later: the requester's own availability.
    "erreichbar",
    "bereikbaar",
    "joignable",
    "reachable",
    "check my email",
    "check my emails",
    "checking email",
    "reply may be slow",
    "replies may be slow",
    "slow to answer",
    "slow to reply",
    "slow to respond",
    "メールは",
    "メールを確認",
    "学会",
    "出張",
    "出差",
    "답장이",
    "회신이",
    "미팅이 있어",
];

pub(super) const TELLING_SCOPE: &[&str] = &[
    "only",
    "some",
    "solo",
    "sólo",
    "solamente",
    "nur",
    "seulement",
    "juste",
    "só",
    "somente",
    "apenas",
    "alleen",
    "soltanto",
    "만",
    "只",
];

/// Words that want something else than the action ("instead", "rather", "lieber").
const WANTS_ELSE: &[&str] = &[
    "instead",
    "rather",
    "prefer",
    "stattdessen",
    "lieber",
    "plutôt",
    "au lieu",
    "en cambio",
    "en vez",
    "en lugar",
    "em vez",
    "ao invés",
    "invece",
    "piuttosto",
    "liever",
    "in plaats van",
    "대신",
    "말고",
    "代わりに",
    "代わり",
    "ではなく",
    "而是",
    "改为",
    "换成",
];

/// Words that order the action after something else: in the story too, they may set terms.
const SEQUENCE: &[&str] = &[
    "first",
    "before",
    "until",
    "till",
    "after",
    "once",
    "as soon as",
    "make sure",
    "primero",
    "antes",
    "hasta",
    "después",
    "erst",
    "bevor",
    "bis",
    "nachdem",
    "dabord",
    "avant",
    "après",
    "primeiro",
    "depois",
    "prima di",
    "dopo",
    "finché",
    "appena",
    "eerst",
    "voordat",
    "totdat",
    "tot",
    "nadat",
    "zodra",
    "まで",
    "前に",
    "後で",
    "あとで",
    "終わったら",
    "之前",
    "之后",
    "以后",
    "先",
    "等",
    "먼저",
    "전에",
    "까지",
    "후에",
    "다음에",
    "하고 나서",
];
