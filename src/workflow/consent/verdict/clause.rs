//! Clauses and sentences: the folded text cut at clause marks, each clause knowing whether it
//! opens a sentence.
//!
//! The reading goes clause by clause and the rules ask which sentence a signal is in; both use
//! these spans so that a signal's clause and sentence are the same everywhere.

use crate::workflow::consent::lexicon::is_sentence_end;

/// A clause: a stretch of one sentence between clause marks (byte range in the folded text).
#[derive(Debug, Clone, Copy)]
pub(super) struct Clause {
    pub(super) start: usize,
    pub(super) end: usize,
    /// End with its terminator ("?" belongs to the sentence it ends).
    pub(super) stop: usize,
    /// First clause of its sentence.
    pub(super) opens_sentence: bool,
}

pub(super) fn clauses(folded: &str) -> Vec<Clause> {
    let mut out: Vec<Clause> = Vec::new();
    let mut start = 0;
    let mut opens_sentence = true;
    for (i, c) in folded.char_indices() {
        let sentence_end = is_sentence_end(c) || matches!(c, '。' | '！' | '？');
        if c == ',' || sentence_end {
            if folded[start..i].trim().is_empty() {
                // "Delete it.?": a terminator after an empty stretch belongs to the clause
                // before it, so that no hit is left outside every clause.
                if let Some(last) = out.last_mut() {
                    last.stop = i + c.len_utf8();
                }
                start = i + c.len_utf8();
                opens_sentence |= sentence_end;
                continue;
            }
            out.push(Clause {
                start,
                end: i,
                stop: i + c.len_utf8(),
                opens_sentence,
            });
            opens_sentence = sentence_end;
            start = i + c.len_utf8();
        }
    }
    if !folded[start..].trim().is_empty() {
        out.push(Clause {
            start,
            end: folded.len(),
            stop: folded.len(),
            opens_sentence,
        });
    }
    out
}

/// The byte range of the sentence the clause around byte `at` belongs to.
pub(super) fn sentence_span(clauses: &[Clause], at: usize) -> (usize, usize) {
    // Clauses are in text order: the last one starting at or before `at`.
    let Some(here) = clauses.partition_point(|c| c.start <= at).checked_sub(1) else {
        return (0, 0);
    };
    let first = clauses[..=here]
        .iter()
        .rposition(|c| c.opens_sentence)
        .unwrap_or(0);
    let last = clauses[here + 1..]
        .iter()
        .position(|c| c.opens_sentence)
        .map_or(clauses.len() - 1, |n| here + n);
    (clauses[first].start, clauses[last].stop)
}

/// `at` opens a clause of `folded`: only spaces since its start or the last clause mark.
pub(super) fn opens_clause(folded: &str, at: usize) -> bool {
    folded
        .get(..at)
        .and_then(|before| before.chars().rev().find(|c| *c != ' '))
        .is_none_or(|c| is_sentence_end(c) || matches!(c, ',' | '。' | '！' | '？'))
}
