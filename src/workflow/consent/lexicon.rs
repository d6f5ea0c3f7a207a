//! The phrase lists of `rules/consent.toml`, text folding, and phrase matching.

use crate::workflow::text::nfkc;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

const RULES: &str = include_str!("../../../rules/consent.toml");

/// What a matched phrase signals about the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
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
    grant: Vec<String>,
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
    actions: BTreeMap<String, Vec<String>>,
    objects: BTreeMap<String, Vec<String>>,
    permission_question: QuestionRules,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionRules {
    leads: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Phrase {
    /// Folded text, without the `^`, `$`, `*` markers.
    pub text: String,
    pub kind: Kind,
    sentence_start: bool,
    sentence_end: bool,
    prefix: bool,
    /// Bit set of action kinds (only for `Kind::Action`).
    pub groups: u64,
}

impl Phrase {
    fn parse(raw: &str, kind: Kind, groups: u64) -> Phrase {
        let sentence_start = raw.starts_with('^');
        let sentence_end = raw.ends_with('$');
        let prefix = raw.ends_with('*');
        let inner = raw.trim_start_matches('^').trim_end_matches(['$', '*']);
        Phrase {
            text: fold(inner).trim().to_string(),
            kind,
            sentence_start,
            sentence_end,
            prefix,
            groups,
        }
    }

    /// The request's own verb ("downgrade"), matched with its inflections ("downgraded").
    pub fn asked_verb(verb: &str) -> Phrase {
        let folded = fold(verb).trim().to_string();
        let long = folded.chars().count() >= 5;
        let stem = if long {
            folded.strip_suffix('e').unwrap_or(&folded).to_string()
        } else {
            folded
        };
        Phrase {
            text: stem,
            kind: Kind::Action,
            sentence_start: false,
            sentence_end: false,
            prefix: long,
            groups: 0,
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
    /// Action kind names by bit position, for reasons.
    pub action_names: Vec<String>,
    /// Object kind names by bit position, for reasons.
    pub object_names: Vec<String>,
    /// Openings of a permission question (regular expressions, see the rules file).
    pub question_leads: Vec<String>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    // The rules are compiled in and covered by tests, so failing here is a build defect.
    Lexicon::parse(RULES).expect("rules/consent.toml is valid")
});

impl Lexicon {
    pub fn builtin() -> &'static Lexicon {
        &LEXICON
    }

    pub fn parse(source: &str) -> Result<Lexicon, toml::de::Error> {
        let rules: RulesFile = toml::from_str(source)?;
        let mut phrases = Vec::new();
        let lists = [
            (Kind::Grant, &rules.grant),
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
        Ok(Lexicon {
            phrases,
            action_names,
            object_names,
            question_leads: rules.permission_question.leads,
        })
    }

    #[cfg(test)]
    pub fn phrases(&self) -> &[Phrase] {
        &self.phrases
    }

    /// Every phrase occurrence in `folded`, overlaps resolved longest first (then the phrase
    /// with more anchors, then the earlier one), returned in text order.
    pub fn scan<'l>(&'l self, folded: &str) -> Vec<Hit<'l>> {
        self.scan_with(folded, &[])
    }

    /// Like [`Lexicon::scan`], with `extra` phrases besides the built-in ones.
    pub fn scan_with<'l>(&'l self, folded: &str, extra: &'l [Phrase]) -> Vec<Hit<'l>> {
        let mut hits: Vec<Hit<'l>> = Vec::new();
        for phrase in self.phrases.iter().chain(extra) {
            for (start, _) in folded.match_indices(phrase.text.as_str()) {
                let end = start + phrase.text.len();
                if fits(folded, start, end, phrase) {
                    hits.push(Hit { start, end, phrase });
                }
            }
        }
        hits.sort_by(|a, b| {
            (b.end - b.start)
                .cmp(&(a.end - a.start))
                .then(b.phrase.anchors().cmp(&a.phrase.anchors()))
                .then(a.start.cmp(&b.start))
        });
        let mut taken: Vec<Hit<'l>> = Vec::new();
        for hit in hits {
            if taken
                .iter()
                .all(|t| hit.end <= t.start || hit.start >= t.end)
            {
                taken.push(hit);
            }
        }
        taken.sort_by_key(|h| h.start);
        taken
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

/// Folds text for matching (see the header of `rules/consent.toml`).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last: Option<char> = None;
    let mut run = 0;
    let mut gap: Option<char> = None;
    for c in nfkc(text).chars().flat_map(char::to_lowercase) {
        if matches!(c, '\'' | '’' | '‘' | 'ʼ' | '´') {
            continue;
        }
        if c == '\n' {
            gap = Some('\n');
            continue;
        }
        if c.is_whitespace() || is_separator(c) {
            gap = gap.or(Some(' '));
            continue;
        }
        if let Some(g) = gap.take() {
            if !out.is_empty() {
                out.push(g);
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

fn is_separator(c: char) -> bool {
    matches!(
        c,
        ',' | ';'
            | ':'
            | '-'
            | '–'
            | '—'
            | '('
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
            | '`'
            | '~'
            | '、'
            | '¡'
            | '「'
            | '」'
    )
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

pub fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '。' | '\n')
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
    if phrase.sentence_start {
        let prev = text[..start].chars().rev().find(|c| *c != ' ');
        if prev.is_some_and(|c| !is_sentence_end(c)) {
            return false;
        }
    }
    if phrase.sentence_end {
        let next = text[end..].chars().find(|c| *c != ' ');
        if next.is_some_and(|c| !is_sentence_end(c)) {
            return false;
        }
    }
    true
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
        assert_eq!(fold("Don’t,  GO-ahead!!"), "dont go ahead!!");
        assert_eq!(fold("Yesss\n\nplease"), "yes\nplease");
        assert_eq!(fold("是的，请继续"), "是的 请继续");
    }

    #[test]
    fn longest_phrase_wins_and_words_are_whole() {
        let lex = Lexicon::builtin();
        let kinds =
            |s: &str| -> Vec<Kind> { lex.scan(&fold(s)).iter().map(|h| h.phrase.kind).collect() };
        assert_eq!(kinds("No problem"), vec![Kind::Neutral]);
        assert_eq!(kinds("I'm not sure"), vec![Kind::Hedge]);
        assert_eq!(kinds("Nothing"), vec![Kind::Negation]);
        assert!(kinds("notebook yesterday").is_empty());
    }
}
