//! Targets a reply names (projects, paths, e-mail addresses, @handles, `code`): one the
//! question does not name is permission for something else, and naming only some of several
//! the question lists is partial scope.
//!
//! Targets are read from the raw text, where their punctuation is intact; the question's own
//! targets also anchor `AskedAction`.

use super::roles::other_role;
use super::signal::Signal;
use super::words::contains_word;
use crate::workflow::consent::lexicon::Kind;
use regex::Regex;
use std::sync::LazyLock;

/// Projects, paths, e-mail addresses, @handles and `code` the reply names that the request does
/// not (permission for something else), or only some of several the request names (partial
/// scope).
pub(super) fn other_targets(request: &str, text: &str) -> Vec<Signal> {
    let asked = targets(request);
    let named = targets(text);
    let asks_about_an_address = asked.iter().any(|(_, a)| a.contains('@'));
    let mut out = Vec::new();
    for (raw, target) in &named {
        // "Keiko Yamada / k.yamada@sakura-logi.co.jp": an address on a line of its own (a
        // signature's contact line) is no target, unless the question is about an address.
        if !asks_about_an_address && raw.contains('@') && is_contact_line(text, raw) {
            continue;
        }
        if !asked
            .iter()
            .any(|(_, a)| a == target || contains_bounded(a, target) || contains_bounded(target, a))
        {
            out.push(Signal {
                kind: Kind::Redirect,
                // Positions here are in the raw text, not the folded one: never before a
                // withdrawal.
                at: usize::MAX,
                reason: format!("other target: \"{raw}\""),
                sentence: usize::MAX,
                asked_words: false,
                derived: false,
                gives_reason: false,
            });
        }
    }
    // Partial scope: of several like things the question lists ("`a` and `b`"), the reply
    // names some but not all. A target the question names as a place ("into `org`") is not
    // one of them.
    let words = text.to_lowercase();
    if out.is_empty() {
        for set in listed_sets(request) {
            // Named as a target, or by the last part of its path as a word ("the staging one"
            // for `web/staging`).
            let is_named = |a: &String| {
                named
                    .iter()
                    .any(|(_, n)| n == a || contains_bounded(n, a) || contains_bounded(a, n))
                    || a.rsplit('/')
                        .next()
                        .filter(|tail| tail.chars().count() >= 3)
                        .is_some_and(|tail| contains_word(&words, tail))
            };
            let missing: Vec<&str> = set
                .iter()
                .filter(|(_, a)| !is_named(a))
                .map(|(raw, _)| raw.as_str())
                .collect();
            if !missing.is_empty() && missing.len() < set.len() {
                out.push(Signal {
                    kind: Kind::Scope,
                    at: usize::MAX,
                    reason: format!("scope: does not name \"{}\"", missing.join("\", \"")),
                    sentence: usize::MAX,
                    asked_words: false,
                    derived: false,
                    gives_reason: false,
                });
            }
        }
    }
    out.extend(other_role(request, &words));
    out
}

/// Runs of targets the question lists together ("`a`, `b` and `c`").
fn listed_sets(request: &str) -> Vec<Vec<(String, String)>> {
    static JOINER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^\s*(?:,|;|&|and|or|y|e|et|und|oder|ou|o|和|及|与|與|및|과|와|、|，)?\s*(?:,\s*)?(?:and|y|e|et|und)?\s*$")
            .expect("literal pattern")
    });
    let found = target_spans(request);
    let mut sets: Vec<Vec<(String, String)>> = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    let mut last_end = None;
    for (start, end, raw, target) in found {
        let joined = last_end.is_some_and(|e: usize| JOINER.is_match(&request[e..start]));
        if !joined && current.len() > 1 {
            sets.push(std::mem::take(&mut current));
        } else if !joined {
            current.clear();
        }
        current.push((raw, target));
        last_end = Some(end);
    }
    if current.len() > 1 {
        sets.push(current);
    }
    sets
}

/// Whether every line of `text` that holds `address` holds little else (a name, a label such
/// as "E-mail:", a phone number): a contact line, not a sentence naming a target.
fn is_contact_line(text: &str, address: &str) -> bool {
    text.lines()
        .filter(|line| line.contains(address))
        .all(|line| {
            line.replace(address, " ")
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphabetic))
                .count()
                <= 4
        })
}

/// Targets in `text`: (as written, lower case, without a leading `@`).
pub(super) fn targets(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (_, _, raw, target) in target_spans(text) {
        if !out.iter().any(|(_, t)| *t == target) {
            out.push((raw, target));
        }
    }
    out
}

/// Targets in `text` with their byte ranges, in order. Names are written in Latin letters (a
/// look-alike Greek or Cyrillic letter stays inside the name, which then names something
/// else): a Japanese or Korean word written straight after a path ("acme/webのパイプライン",
/// "hanbit-dev/erp-core를") is not part of it.
fn target_spans(text: &str) -> Vec<(usize, usize, String, String)> {
    static TARGET: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"`([^`\n]{1,200})`|[\p{Latin}\p{Greek}\p{Cyrillic}0-9_.+-]+@[\p{Latin}\p{Greek}\p{Cyrillic}0-9_-]+(?:\.[\p{Latin}\p{Greek}\p{Cyrillic}0-9_-]+)+|@[A-Za-z0-9_.-]+|[\p{Latin}\p{Greek}\p{Cyrillic}0-9_.-]+(?:/[\p{Latin}\p{Greek}\p{Cyrillic}0-9_.-]+)+",
        )
        .expect("literal pattern")
    });
    const COMMON: &[&str] = &[
        "and/or",
        "or/and",
        "n/a",
        "w/o",
        "he/she",
        "s/he",
        "his/her",
        "heer/mevrouw",
        "ci/cd",
        "a/s",
        "i/o",
        "24/7",
    ];
    let mut out = Vec::new();
    for m in TARGET.captures_iter(text) {
        let Some(whole) = m.get(0) else { continue };
        let raw = m.get(1).map_or(whole.as_str(), |g| g.as_str());
        let target = raw
            .trim_matches(['.', '-'])
            .trim_start_matches('@')
            .to_lowercase();
        if !target.chars().any(char::is_alphabetic) || COMMON.contains(&target.as_str()) {
            continue;
        }
        out.push((whole.start(), whole.end(), raw.to_string(), target));
    }
    out
}

/// `needle` occurs in `haystack` as a whole name ("acme/legacy" is not in "acme/legacy-v2").
fn contains_bounded(haystack: &str, needle: &str) -> bool {
    // A trailing part of a path names the same thing ("old-wiki" in "nordic/old-wiki").
    let joins_before = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    let joins_after = |c: char| joins_before(c) || c == '/';
    haystack.match_indices(needle).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + needle.len()..].chars().next();
        !before.is_some_and(joins_before) && !after.is_some_and(joins_after)
    })
}
