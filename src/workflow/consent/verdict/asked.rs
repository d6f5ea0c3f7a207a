//! What the question asks (`AskedAction`): the action and object kinds it names, its own
//! words, its targets and the stem of its verb.
//!
//! A reply is anchored to the question through these: a request naming the asked verb is a
//! grant, a qualifier made of the question's own words is harmless, another action or target
//! is not. Read once per judgment, apart from the reply.

use super::targets::targets;
use super::words::{contains_phrase, contains_word};
use crate::workflow::consent::lexicon::{Hit, Kind, Lexicon, fold};
use crate::workflow::consent::{normal, recognise_question};

/// What the question asks, for anchoring the reply to it.
pub(super) struct AskedAction {
    /// Action kinds the question names (bit set).
    pub(super) actions: u64,
    /// Object kinds the question names (bit set).
    pub(super) objects: u64,
    /// The question's own words (folded), of four letters or more: restating them is harmless.
    words: Vec<String>,
    /// The parts of the targets the question names ("app-b" → "app", "b"), folded.
    target_words: Vec<String>,
    /// The question's targets whole (and a path's last part), folded: a sentence that names one
    /// speaks of this action.
    whole_targets: Vec<String>,
    /// Stem of the asked verb ("downgrad" for "downgrade"), matched as a word prefix.
    pub(super) verb_stem: Option<String>,
    /// The question, folded.
    folded: String,
}

impl AskedAction {
    pub(super) fn of(request: &str, lexicon: &Lexicon) -> AskedAction {
        let folded = fold(&normal::normalise(request).text);
        let action = recognise_question(request).map(|q| q.action);
        let verb_stem = action
            .as_deref()
            .and_then(|a| a.split_whitespace().next())
            .map(|v| fold(v).trim().to_string())
            .filter(|v| v.chars().count() >= 3 && v.chars().all(char::is_alphabetic))
            .map(|v| {
                let n = v.chars().count();
                if n >= 6 {
                    v.chars().take(n - 2).collect()
                } else {
                    v
                }
            });
        let mut words: Vec<String> = folded
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 4 || w.chars().any(|c| c.is_ascii_digit()))
            .map(str::to_string)
            .collect();
        // "studio-pol/oude-website": every part of a target the question names is its own word.
        let target_words: Vec<String> = targets(request)
            .iter()
            .flat_map(|(_, target)| {
                fold(target)
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        // Each target whole, and a path's last part ("ledger-api" for "finance/ledger-api"),
        // as the folded text writes them.
        let whole_targets: Vec<String> = targets(request)
            .iter()
            .flat_map(|(_, target)| {
                let last = target.rsplit('/').next().unwrap_or(target);
                [target.as_str(), last].map(|t| {
                    fold(t)
                        .split(|c: char| !c.is_alphanumeric())
                        .filter(|w| !w.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
            })
            .filter(|t| t.chars().count() >= 4)
            .collect();
        words.extend(target_words.iter().cloned());
        words.sort();
        words.dedup();
        AskedAction {
            actions: lexicon.groups_named(&folded, Kind::Action),
            objects: lexicon.groups_named(&folded, Kind::Object),
            words,
            target_words,
            whole_targets,
            verb_stem,
            folded,
        }
    }

    /// The question says `phrase` itself (as whole words): the action's own words.
    /// `text` (folded) names one of the question's targets whole.
    pub(super) fn names_target(&self, text: &str) -> bool {
        self.whole_targets.iter().any(|t| contains_phrase(text, t))
    }

    pub(super) fn has_phrase(&self, phrase: &str) -> bool {
        let phrase = phrase.trim();
        !phrase.is_empty()
            && self.folded.match_indices(phrase).any(|(i, _)| {
                let before = self.folded[..i].chars().next_back();
                let after = self.folded[i + phrase.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric)
                    && !after.is_some_and(char::is_alphanumeric)
            })
    }

    pub(super) fn names_word(&self, word: &str) -> bool {
        self.words
            .binary_search_by(|w| w.as_str().cmp(word))
            .is_ok()
    }

    pub(super) fn is_own_verb(&self, word: &str) -> bool {
        self.verb_stem
            .as_deref()
            .is_some_and(|s| word.starts_with(s))
    }
}

/// The sentence at `span` names one of the question's targets or a thing of the kind the
/// question asks about.
pub(super) fn names_asked_thing(
    folded: &str,
    (start, end): (usize, usize),
    asked: &AskedAction,
    hits: &[Hit<'_>],
) -> bool {
    let sentence = &folded[start..end];
    asked
        .target_words
        .iter()
        .any(|w| contains_word(sentence, w))
        || hits.iter().any(|h| {
            h.phrase.kind == Kind::Object
                && h.phrase.groups & asked.objects != 0
                && (start..end).contains(&h.start)
        })
}
