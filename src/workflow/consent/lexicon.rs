//! The phrase lists of `rules/consent.toml`, text folding, and phrase matching.

use aho_corasick::{AhoCorasick, MatchKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

const RULES: &str = include_str!("../../../rules/consent.toml");

/// What a matched phrase signals about the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A bare yes ("yes", "sí", "はい", "네", "that's correct"): permission only when the agent
    /// asked one thing and nothing else is attached to it.
    Affirm,
    /// An acknowledgement ("ok", "got it", "了解", "알겠습니다"): never permission by itself.
    Ack,
    /// Says the message was understood ("got it", "알겠습니다"): beside a bare yes, the reply is
    /// an acknowledgement.
    Understood,
    /// Explicit permission ("go ahead", "you have my permission", "autorizo", "許可します").
    Permit,
    /// A polite request marker ("please", "bitte", "por favor", "てください", "해 주세요"): with the
    /// asked action it asks for that action.
    Directive,
    /// Someone else's approval relayed ("my boss says", "老闆說", "팀장님이").
    Relay,
    /// Words that go with an answer without adding to it ("it", "that", "now", "my").
    Filler,
    /// A grant derived from the text's structure ("please delete it"), never listed.
    Grant,
    Decline,
    DeclineSoft,
    Withdraw,
    Negation,
    Condition,
    /// A moment; a condition unless a `Past` marker makes it history.
    Timing,
    Past,
    Scope,
    Hedge,
    Question,
    Sarcasm,
    Redirect,
    AutoReply,
    Neutral,
    /// A verb naming a kind of action (`groups` says which kinds).
    Action,
    /// A thing an action is done to (`groups` says which kinds).
    Object,
}

impl Kind {
    /// The label used in a judgment's reasons.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Affirm => "affirmative",
            Kind::Ack => "acknowledgement",
            Kind::Understood => "understood",
            Kind::Permit => "grant",
            Kind::Directive => "request",
            Kind::Relay => "relayed approval",
            Kind::Filler => "filler",
            Kind::Grant => "grant",
            Kind::Decline => "decline",
            Kind::DeclineSoft => "not needed",
            Kind::Withdraw => "withdrawal",
            Kind::Negation => "negation",
            Kind::Condition => "condition",
            Kind::Timing => "timing",
            Kind::Past => "past",
            Kind::Scope => "scope",
            Kind::Hedge => "hedge",
            Kind::Question => "question",
            Kind::Sarcasm => "sarcasm",
            Kind::Redirect => "something else",
            Kind::AutoReply => "auto-reply",
            Kind::Neutral => "courtesy",
            Kind::Action => "action",
            Kind::Object => "object",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    affirm: Vec<String>,
    ack: Vec<String>,
    understood: Vec<String>,
    permit: Vec<String>,
    directive: Vec<String>,
    relay: Vec<String>,
    filler: Vec<String>,
    decline: Vec<String>,
    decline_soft: Vec<String>,
    withdraw: Vec<String>,
    negation: Vec<String>,
    condition: Vec<String>,
    timing: Vec<String>,
    past: Vec<String>,
    scope: Vec<String>,
    hedge: Vec<String>,
    question: Vec<String>,
    sarcasm: Vec<String>,
    redirect: Vec<String>,
    auto_reply: Vec<String>,
    neutral: Vec<String>,
    need: Vec<String>,
    actions: BTreeMap<String, Vec<String>>,
    objects: BTreeMap<String, Vec<String>>,
    permission_question: QuestionRules,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionRules {
    leads: Vec<String>,
    follow_ups: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Phrase {
    /// Folded text, without the `^`, `$`, `*` markers.
    pub text: String,
    pub kind: Kind,
    sentence_start: bool,
    sentence_end: bool,
    prefix: bool,
    /// The particle of a split verb ("schakel … uit": "uit"), which must follow within
    /// [`SPLIT_REACH`] words in the same sentence; the hit covers the verb alone, so every word
    /// in between ("niet", "2fa") is still read.
    tail: Option<String>,
    /// Bit set of action kinds (only for `Kind::Action`).
    pub groups: u64,
}

/// How many words may stand between a split verb and its particle ("schalten Sie die 2FA
/// bitte aus").
const SPLIT_REACH: usize = 6;

impl Phrase {
    fn parse(raw: &str, kind: Kind, groups: u64) -> Phrase {
        let sentence_start = raw.starts_with('^');
        let sentence_end = raw.ends_with('$');
        let prefix = raw.ends_with('*');
        let inner = raw.trim_start_matches('^').trim_end_matches(['$', '*']);
        // German and Dutch split a verb around its object ("schakel 2FA uit", "führen Sie die
        // Pipelines erneut aus"): "verb* … particle" names both parts.
        let (inner, tail, prefix) = match inner.split_once(" … ") {
            Some((verb, particle)) => (
                verb.trim_end_matches('*'),
                Some(fold(particle).trim().to_string()),
                verb.ends_with('*'),
            ),
            None => (inner, None, prefix),
        };
        Phrase {
            // The text is NFKC before folding ("ㅇㅇ" is stored as conjoining jamo): so are the
            // phrases.
            text: fold(&crate::workflow::text::nfkc(inner)).trim().to_string(),
            kind,
            sentence_start,
            sentence_end,
            prefix,
            tail,
            groups,
        }
    }

    fn anchors(&self) -> usize {
        usize::from(self.sentence_start) + usize::from(self.sentence_end)
    }
}

/// One phrase found in a folded text.
#[derive(Debug, Clone)]
pub struct Hit<'l> {
    pub start: usize,
    pub end: usize,
    pub phrase: &'l Phrase,
}

#[derive(Debug)]
pub struct Lexicon {
    phrases: Vec<Phrase>,
    /// Every phrase text, found in one pass over the text.
    automaton: AhoCorasick,
    /// Phrases by automaton pattern (several phrases may share a text: other anchors).
    by_pattern: Vec<Vec<usize>>,
    /// What the particle of a split verb is read as once the verb is found: a word that goes
    /// with the action ("uit" in "schakel 2FA uit").
    particle: Phrase,
    /// Action kind names by bit position, for reasons.
    pub action_names: Vec<String>,
    /// Object kind names by bit position, for reasons.
    pub object_names: Vec<String>,
    /// Stems of words for needing or using something ("need", "usamos", "brauch"), folded.
    pub need: Vec<String>,
    /// Openings of a permission question (regular expressions, see the rules file).
    pub question_leads: Vec<String>,
    /// Openings of a question sentence that say the agent's message asked something before it
    /// ("If so, …", "Also, …", "Además, …").
    pub question_follow_ups: Vec<String>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    // The rules are compiled in and covered by tests, so failing here is a build defect.
    Lexicon::parse(RULES).expect("rules/consent.toml is valid")
});

/// Why the rules file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("phrase matcher: {0}")]
    Matcher(#[from] aho_corasick::BuildError),
}

impl Lexicon {
    pub fn builtin() -> &'static Lexicon {
        &LEXICON
    }

    pub fn parse(source: &str) -> Result<Lexicon, RulesError> {
        let rules: RulesFile = toml::from_str(source)?;
        let mut phrases = Vec::new();
        let lists = [
            (Kind::Affirm, &rules.affirm),
            (Kind::Ack, &rules.ack),
            (Kind::Understood, &rules.understood),
            (Kind::Permit, &rules.permit),
            (Kind::Directive, &rules.directive),
            (Kind::Relay, &rules.relay),
            (Kind::Filler, &rules.filler),
            (Kind::Decline, &rules.decline),
            (Kind::DeclineSoft, &rules.decline_soft),
            (Kind::Withdraw, &rules.withdraw),
            (Kind::Negation, &rules.negation),
            (Kind::Condition, &rules.condition),
            (Kind::Timing, &rules.timing),
            (Kind::Past, &rules.past),
            (Kind::Scope, &rules.scope),
            (Kind::Hedge, &rules.hedge),
            (Kind::Question, &rules.question),
            (Kind::Sarcasm, &rules.sarcasm),
            (Kind::Redirect, &rules.redirect),
            (Kind::AutoReply, &rules.auto_reply),
            (Kind::Neutral, &rules.neutral),
        ];
        for (kind, list) in lists {
            phrases.extend(list.iter().map(|raw| Phrase::parse(raw, kind, 0)));
        }
        let action_names = grouped(&rules.actions, Kind::Action, &mut phrases);
        let object_names = grouped(&rules.objects, Kind::Object, &mut phrases);
        phrases.retain(|p| !p.text.is_empty());
        let mut texts: Vec<&str> = Vec::new();
        let mut by_pattern: Vec<Vec<usize>> = Vec::new();
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, p) in phrases.iter().enumerate() {
            let id = *index.entry(p.text.as_str()).or_insert_with(|| {
                texts.push(p.text.as_str());
                by_pattern.push(Vec::new());
                texts.len() - 1
            });
            by_pattern[id].push(i);
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&texts)?;
        Ok(Lexicon {
            phrases,
            particle: Phrase::parse("particle", Kind::Filler, 0),
            automaton,
            by_pattern,
            action_names,
            object_names,
            need: rules
                .need
                .iter()
                .map(|n| fold(n).trim().to_string())
                .filter(|n| !n.is_empty())
                .collect(),
            question_leads: rules.permission_question.leads,
            question_follow_ups: rules.permission_question.follow_ups,
        })
    }

    #[cfg(test)]
    pub fn phrases(&self) -> &[Phrase] {
        &self.phrases
    }

    /// Every phrase occurrence in `folded`, overlaps resolved longest first (then the phrase
    /// with more anchors, then the earlier one), returned in text order.
    ///
    /// One pass of the automaton finds every occurrence; choosing among overlaps marks the
    /// bytes each taken phrase covers, so the whole scan is linear in the text (phrases are
    /// short).
    pub fn scan(&self, folded: &str) -> Vec<Hit<'_>> {
        let mut hits: Vec<Hit<'_>> = Vec::new();
        for m in self.automaton.find_overlapping_iter(folded) {
            for &i in &self.by_pattern[m.pattern().as_usize()] {
                let phrase = &self.phrases[i];
                if fits(folded, m.start(), m.end(), phrase) {
                    hits.push(Hit {
                        start: m.start(),
                        end: m.end(),
                        phrase,
                    });
                }
            }
        }
        hits.sort_by(|a, b| {
            (b.end - b.start)
                .cmp(&(a.end - a.start))
                .then(b.phrase.anchors().cmp(&a.phrase.anchors()))
                .then(a.start.cmp(&b.start))
        });
        let mut covered = vec![false; folded.len()];
        let mut taken: Vec<Hit<'_>> = Vec::new();
        let mut particles = Vec::new();
        for hit in hits {
            if covered[hit.start..hit.end].iter().any(|c| *c) {
                continue;
            }
            covered[hit.start..hit.end]
                .iter_mut()
                .for_each(|c| *c = true);
            if let Some(tail) = hit.phrase.tail.as_deref()
                && let Some(at) = particle_at(&folded[hit.end..], tail)
            {
                particles.push(hit.end + at..hit.end + at + tail.len());
            }
            taken.push(hit);
        }
        // The particle of a split verb goes with the verb: read as such, unless a phrase of
        // its own covers it.
        for span in particles {
            if !covered[span.clone()].iter().any(|c| *c) {
                covered[span.clone()].iter_mut().for_each(|c| *c = true);
                taken.push(Hit {
                    start: span.start,
                    end: span.end,
                    phrase: &self.particle,
                });
            }
        }
        taken.sort_by_key(|h| h.start);
        taken
    }

    /// A phrase of `kind` occurs in `folded`, even inside a longer phrase that `scan` would
    /// take instead ("last" in the moment "last week").
    pub fn mentions(&self, folded: &str, kind: Kind) -> bool {
        self.automaton.find_overlapping_iter(folded).any(|m| {
            self.by_pattern[m.pattern().as_usize()].iter().any(|&i| {
                let phrase = &self.phrases[i];
                phrase.kind == kind && fits(folded, m.start(), m.end(), phrase)
            })
        })
    }

    /// The kinds of `kind` (action or object) named in `folded` (bit set).
    pub fn groups_named(&self, folded: &str, kind: Kind) -> u64 {
        self.scan(folded)
            .iter()
            .filter(|h| h.phrase.kind == kind)
            .fold(0, |acc, h| acc | h.phrase.groups)
    }

    /// Names of the kinds in `groups`, for reasons.
    pub fn group_names(&self, groups: u64, kind: Kind) -> String {
        let names = if kind == Kind::Object {
            &self.object_names
        } else {
            &self.action_names
        };
        names
            .iter()
            .enumerate()
            .filter(|(bit, _)| groups & (1 << bit) != 0)
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Whether `line` says anything the judge weighs (an answer, a refusal, a qualifier), for the
/// signature cut: such a line after a sign-off is judged, not skipped as the sender's name.
pub fn carries_signal(line: &str) -> bool {
    let folded = fold(&super::normal::normalise(line).text);
    Lexicon::builtin().scan(&folded).iter().any(|h| {
        !matches!(
            h.phrase.kind,
            Kind::Neutral | Kind::Filler | Kind::Object | Kind::Past | Kind::Directive
        )
    })
}

/// Adds the phrases of a table of kinds; a phrase listed under several kinds becomes one phrase
/// carrying all of them. Returns the kind names by bit position.
fn grouped(
    table: &BTreeMap<String, Vec<String>>,
    kind: Kind,
    phrases: &mut Vec<Phrase>,
) -> Vec<String> {
    let mut merged: BTreeMap<&str, u64> = BTreeMap::new();
    let mut names = Vec::new();
    for (bit, (name, list)) in table.iter().take(64).enumerate() {
        names.push(name.clone());
        for phrase in list {
            *merged.entry(phrase.as_str()).or_default() |= 1 << bit;
        }
    }
    phrases.extend(
        merged
            .iter()
            .map(|(raw, groups)| Phrase::parse(raw, kind, *groups)),
    );
    names
}

/// Folds text for matching (see the header of `rules/consent.toml`). The text is normalised
/// first ([`super::normal`]); folding only unifies case, apostrophes, spacing and punctuation.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last: Option<char> = None;
    let mut run = 0;
    let mut gap: Option<char> = None;
    let mut chars = text.chars().flat_map(char::to_lowercase).peekable();
    let mut prev_alnum = false;
    while let Some(c) = chars.next() {
        // A dot inside a name ("m.osei", "v1.2") ends no sentence: it is dropped.
        if c == '.' && prev_alnum && chars.peek().is_some_and(|n| n.is_alphanumeric()) {
            continue;
        }
        prev_alnum = c.is_alphanumeric();
        if matches!(c, '\'' | '’' | '‘' | 'ʼ' | '´' | '`') {
            continue;
        }
        if c == '\n' {
            gap = Some('\n');
            continue;
        }
        if is_clause_mark(c) {
            // A clause mark after text; kept once, where no stronger break is pending.
            if !out.is_empty() && gap != Some('\n') {
                gap = Some(',');
            }
            continue;
        }
        if c.is_whitespace() || is_separator(c) {
            gap = gap.or(Some(' '));
            continue;
        }
        if let Some(g) = gap.take() {
            if !out.is_empty() {
                match g {
                    ',' => out.push_str(", "),
                    g => out.push(g),
                }
            }
            last = None;
        }
        if Some(c) == last && c.is_alphabetic() {
            run += 1;
            // Third equal letter in a row: shorten the whole run to one letter.
            if run == 2 {
                out.pop();
            }
            if run >= 2 {
                continue;
            }
        } else {
            run = 0;
        }
        last = Some(c);
        out.push(c);
    }
    out
}

/// Marks between clauses of one sentence ("yes, that's my account").
fn is_clause_mark(c: char) -> bool {
    matches!(c, ',' | ';' | ':' | '，' | '、' | '；' | '：' | '—' | '–')
}

/// Punctuation folded to a space.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        '-' | '('
            | ')'
            | '['
            | ']'
            | '"'
            | '“'
            | '”'
            | '«'
            | '»'
            | '*'
            | '_'
            | '~'
            | '¡'
            | '「'
            | '」'
            | '『'
            | '』'
            | '【'
            | '】'
            | '（'
            | '）'
            | '#'
            | '/'
            | '\\'
    )
}

pub use crate::workflow::text::is_cjk;

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

pub fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '…' | '\n')
}

/// Word boundaries (for Latin phrases) and sentence anchors.
fn fits(text: &str, start: usize, end: usize, phrase: &Phrase) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let first = phrase.text.chars().next();
    let last = phrase.text.chars().next_back();
    if first.is_some_and(is_word_char) && before.is_some_and(is_word_char) {
        return false;
    }
    if !phrase.prefix && last.is_some_and(is_word_char) && after.is_some_and(is_word_char) {
        return false;
    }
    // A one-syllable Hangul word ("네", "안", "만") ends where its word ends: "네트워크" is
    // "network", not "yes".
    let mut chars = phrase.text.chars();
    if let (Some(c), None) = (chars.next(), chars.next())
        && is_hangul(c)
        && after.is_some_and(is_hangul)
    {
        return false;
    }
    // `^` and `$` anchor to a clause: a sentence end or a clause mark.
    if phrase.sentence_start {
        let prev = text[..start].chars().rev().find(|c| *c != ' ');
        if prev.is_some_and(|c| !is_sentence_end(c) && c != ',') {
            return false;
        }
    }
    if phrase.sentence_end {
        let next = text[end..].chars().find(|c| *c != ' ');
        if next.is_some_and(|c| !is_sentence_end(c) && c != ',') {
            return false;
        }
    }
    phrase
        .tail
        .as_deref()
        .is_none_or(|tail| particle_follows(&text[end..], tail))
}

/// Where the particle `tail` of a split verb stands in `rest` (byte offset): a whole word among
/// the next [`SPLIT_REACH`] words, before the sentence ends. Reads a bounded stretch, so
/// scanning stays linear.
fn particle_at(rest: &str, tail: &str) -> Option<usize> {
    // The verb's own word may go on ("schakel" + "t"): its end first.
    let skip = rest.len() - rest.trim_start_matches(is_word_char).len();
    let mut cut = rest.len().min(skip + 200);
    while !rest.is_char_boundary(cut) {
        cut -= 1;
    }
    let sentence = rest[skip..cut]
        .split(is_sentence_end)
        .next()
        .unwrap_or_default();
    let mut words = 0;
    let mut at = 0;
    for piece in sentence.split_inclusive(|c: char| !is_word_char(c)) {
        let word = piece.trim_end_matches(|c: char| !is_word_char(c));
        if !word.is_empty() {
            if word == tail {
                return Some(skip + at);
            }
            words += 1;
            if words > SPLIT_REACH {
                return None;
            }
        }
        at += piece.len();
    }
    None
}

fn particle_follows(rest: &str, tail: &str) -> bool {
    particle_at(rest, tail).is_some()
}

fn is_hangul(c: char) -> bool {
    matches!(c as u32, 0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn builtin_rules_parse() {
        assert!(Lexicon::builtin().phrases().len() > 300);
    }

    #[test]
    fn no_phrase_is_listed_under_two_kinds() {
        let mut seen: HashMap<(String, usize, bool), Kind> = HashMap::new();
        for p in Lexicon::builtin().phrases() {
            let key = (p.text.clone(), p.anchors(), p.sentence_start);
            if let Some(kind) = seen.insert(key, p.kind) {
                assert_eq!(
                    kind, p.kind,
                    "{:?} is both {kind:?} and {:?}",
                    p.text, p.kind
                );
            }
        }
    }

    #[test]
    fn folding_unifies_spelling() {
        assert_eq!(fold("Don’t,  GO-ahead!!"), "dont, go ahead!!");
        assert_eq!(fold("Yesss\n\nplease"), "yes\nplease");
        assert_eq!(fold("是的，请继续"), "是的, 请继续");
    }

    #[test]
    fn longest_phrase_wins_and_words_are_whole() {
        let lex = Lexicon::builtin();
        let kinds = |s: &str| -> Vec<Kind> {
            lex.scan(&fold(s))
                .iter()
                .map(|h| h.phrase.kind)
                .filter(|k| *k != Kind::Filler)
                .collect()
        };
        assert_eq!(kinds("No problem"), vec![Kind::Neutral]);
        assert_eq!(kinds("I'm not sure"), vec![Kind::Hedge]);
        assert_eq!(kinds("Nothing"), vec![Kind::Negation]);
        assert!(kinds("notebook").is_empty());
    }
}
