//! Word-level reading of folded text: word spans (a CJK character is a word of its own), whole
//! words and phrases, reach between words, and the condition and contrast words more than one
//! rule reads.
//!
//! Every part of the judge reads words the same way; a helper here changes how all of them
//! count words, which is why it is one place.

use aho_corasick::AhoCorasick;

use crate::workflow::consent::lexicon::{is_cjk, is_sentence_end};

/// How many words may sit between a negation and the grant or action it negates
/// ("I do **not** want you to **move** it").
const NEGATION_REACH: usize = 4;

/// Words of `text` with their byte offsets; a CJK character is a word of its own.
pub(super) fn word_spans(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let cjk = is_cjk(c) && !is_hangul(c);
        if c.is_alphanumeric() && !cjk {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            out.push((s, &text[s..i]));
        }
        if cjk {
            out.push((i, &text[i..i + c.len_utf8()]));
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out.into_iter()
}

pub(super) fn is_hangul(c: char) -> bool {
    matches!(c as u32, 0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F)
}

pub(super) fn within_reach(gap: &str) -> bool {
    within_reach_of(gap, NEGATION_REACH)
}

/// `gap` is in one sentence and has at most `words` words (a CJK character counts as one).
/// Stops reading as soon as the answer is known, so callers may pass long gaps.
pub(super) fn within_reach_of(gap: &str, words: usize) -> bool {
    let mut count = 0;
    let mut in_word = false;
    for c in gap.chars() {
        if is_sentence_end(c) {
            return false;
        }
        if is_cjk(c) {
            count += 1;
            in_word = false;
        } else if c.is_whitespace() {
            in_word = false;
        } else if !in_word {
            in_word = true;
            count += 1;
        }
        if count > words {
            return false;
        }
    }
    true
}

/// The largest char boundary of `text` at or before `at`.
pub(super) fn floor_char_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

/// The first `n` words of `text`.
pub(super) fn next_words(text: &str, n: usize) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(n)
}

/// `text` (after leading spaces) opens with one of `openings` as whole words.
pub(super) fn opens_with(text: &str, openings: &[&str]) -> bool {
    let text = text.trim_start();
    openings.iter().any(|w| {
        text.strip_prefix(w)
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric()) || !w.is_ascii())
    })
}

/// `text` has `phrase` as whole words (anywhere for CJK and Hangul phrases).
pub(super) fn contains_phrase(text: &str, phrase: &str) -> bool {
    if phrase.is_ascii() {
        contains_word(text, phrase)
    } else {
        text.contains(phrase)
    }
}

/// `word` occurs in `text` between non-alphanumeric characters.
pub(super) fn contains_word(text: &str, word: &str) -> bool {
    // Building a substring searcher dominated judging many short sentences: skip it when the
    // word cannot fit in the text or its first byte is not there.
    if let Some(first) = word.as_bytes().first()
        && (word.len() > text.len() || !text.as_bytes().contains(first))
    {
        return false;
    }
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// `before` ends with one of `words` (the word just before a phrase).
pub(super) fn comes_after(before: &str, words: &[&str]) -> bool {
    before
        .split_whitespace()
        .next_back()
        .is_some_and(|w| words.contains(&w))
}

/// Contrast words a complaint may end on before the answer ("…, but: yes, …").
pub(super) const CONTRAST: &[&str] = &[
    "but",
    "however",
    "aber",
    "pero",
    "mais",
    "mas",
    "ma",
    "però",
    "但",
    "但是",
    "でも",
    "하지만",
];

/// Conditions that make what they govern hypothetical ("if", "wenn", "si", "如果").
pub(super) const IF: &[&str] = &[
    "if", "only if", "unless", "wenn", "falls", "sofern", "si", "solo si", "se", "solo se", "als",
    "indien", "mits", "如果", "要是", "なら", "たら", "れば", "면", "으면", "다면",
];

/// Words of obligation or prohibition; beside a negation they state a requirement ("must not",
/// "darf nicht", "ne doit pas", "不得").
const OBLIGATION: &[&str] = &[
    "must",
    "mustnt",
    "should",
    "shouldnt",
    "may not",
    "has to",
    "have to",
    "needs to",
    "need to",
    "darf",
    "dürfen",
    "muss",
    "müssen",
    "soll",
    "sollte",
    "sollen",
    "doit",
    "doivent",
    "faut",
    "devrait",
    "debe",
    "deben",
    "debería",
    "tiene que",
    "hay que",
    "deve",
    "devem",
    "deveria",
    "tem que",
    "devono",
    "dovrebbe",
    "bisogna",
    "moet",
    "moeten",
    "mag",
    "mogen",
    "ないように",
    "てはいけない",
    "てはならない",
    "不得",
    "必须",
    "必須",
    "不可以",
    "不允许",
    "不允許",
    "면 안",
    "안 됩니다",
    "안 돼",
    "해야",
];

/// `sentence` (folded) says something must or must not be; a sentence too long to read word
/// list by word list is taken to (the cautious answer).
pub(super) fn obliges(sentence: &str) -> bool {
    sentence.len() > SCANNED_SENTENCE || OBLIGATION.iter().any(|w| contains_phrase(sentence, w))
}

/// The longest sentence (bytes) that the checks reading a sentence against a word list read
/// for every signal in it: past it they give the cautious answer, so that a long one-sentence
/// reply with many signals is not read once per signal and list.
pub(super) const SCANNED_SENTENCE: usize = 600;

/// One of the phrases of `set` is written around byte `at` of `folded`, covering it.
pub(super) fn phrase_covers(folded: &str, at: usize, set: &AhoCorasick) -> bool {
    // No phrase is longer than this (bytes): only the text around `at` is read.
    const REACH: usize = 96;
    let start = floor_char_boundary(folded, at.saturating_sub(REACH));
    let end = floor_char_boundary(folded, at.saturating_add(REACH));
    set.find_overlapping_iter(&folded[start..end])
        .any(|m| (start + m.start()..start + m.end()).contains(&at))
}

/// A matcher for `phrases`, built once where it is declared.
pub(super) fn phrase_set(phrases: &[&[&str]]) -> AhoCorasick {
    AhoCorasick::new(phrases.iter().flat_map(|list| list.iter())).expect("literal phrases")
}
