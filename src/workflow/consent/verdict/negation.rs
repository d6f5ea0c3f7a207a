//! What a negation governs when it is not simply the permission's: a negation that follows
//! the verb it negates (Japanese, Korean), and "I don't want" followed by a clause of its own
//! ("… that we get billed twice"), which tells a worry rather than refusing the action.
//!
//! Both turn a refusal the hit reading found into something weaker; they are kept together
//! because each needs its own careful reach into the words around the negation.

use super::asked::AskedAction;
use super::words::floor_char_boundary;
use crate::workflow::consent::lexicon::{Kind, Lexicon, is_sentence_end};

/// "I don't want", in every language: a refusal, or with a clause after it a worry.
pub(super) const NOT_WANTED: &[&str] = &[
    "i do not want",
    "i dont want",
    "we do not want",
    "we dont want",
    "no quiero",
    "no queremos",
    "ich möchte nicht",
    "wir möchten nicht",
    "ich will nicht",
    "je ne veux pas",
    "nous ne voulons pas",
    "não quero",
    "nao quero",
    "non voglio",
    "ik wil niet",
    "wij willen niet",
];

/// The Romance "I don't want", after which a bare infinitive opens what is not wanted.
const ROMANCE_NOT_WANTED: &[&str] = &[
    "no quiero",
    "no queremos",
    "não quero",
    "nao quero",
    "je ne veux pas",
    "nous ne voulons pas",
    "non voglio",
];

/// Words that open a clause saying what is not wanted ("that", "dass", "que", "che", "dat").
const COMPLEMENTISERS: &[&str] = &[
    "that", "anything", "any", "to", "dass", "que", "che", "dat", "om",
];

/// How far after "I don't want" (bytes) the clause saying what is not wanted is read.
const WORRY_REACH: usize = 160;

/// After "I don't want": a clause of its own ("that we get billed") that does not name the
/// asked action.
pub(super) fn worry_follows(not_wanted: &str, rest: &str, asked: &AskedAction) -> bool {
    // A clause of a few words is enough to tell; reading no further keeps judging linear
    // however many times "I don't want that" is repeated on one line.
    let sentence = rest[..floor_char_boundary(rest, WORRY_REACH)]
        .split(|c: char| is_sentence_end(c))
        .next()
        .unwrap_or_default();
    let mut words = sentence
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    let first = words.next().unwrap_or_default();
    let mut rest: Vec<&str> = words.collect();
    // Spanish, Portuguese, Italian and French say what is not wanted with a bare infinitive
    // ("no quiero perder los logs", "não quero perder o código"): a clause of its own too,
    // whose verb must then not be the asked one.
    let infinitive = ROMANCE_NOT_WANTED.contains(&not_wanted) && is_romance_infinitive(first);
    if infinitive {
        rest.insert(0, first);
    }
    (COMPLEMENTISERS.contains(&first) || infinitive)
        && rest.len() >= 2
        && !rest
            .iter()
            .any(|w| asked.is_own_verb(w) || asked.has_phrase(w) && w.chars().count() >= 5)
        && !Lexicon::builtin()
            .scan(sentence)
            .iter()
            .any(|h| h.phrase.kind == Kind::Action && h.phrase.groups & asked.actions != 0)
}

/// A Spanish, Portuguese, Italian or French infinitive ("perder", "perdere", "perdre"), by its
/// ending: a verb of four letters or more ending in -ar, -er, -ir or -re.
fn is_romance_infinitive(word: &str) -> bool {
    word.chars().count() >= 4
        && word.chars().all(char::is_alphabetic)
        && ["ar", "er", "ir", "re", "ár", "ér", "ír"]
            .iter()
            .any(|e| word.ends_with(e))
}

/// Negations that follow the verb they negate (Japanese, Korean).
pub(super) fn negates_backwards(phrase: &str) -> bool {
    matches!(
        phrase,
        "ない"
            | "ません"
            | "ず"
            | "ぬ"
            | "なし"
            | "않습"
            | "않아"
            | "않고"
            | "않겠"
            | "않았"
            | "않기로"
            | "않으"
            | "없어"
            | "없습"
            | "없이"
    )
}
