//! The verdict on a requester's new text: signals found, then a deliberately cautious rule.
//!
//! `granted` needs at least one grant and nothing that could make it anything less (negation,
//! condition, scope, hedge, question, sarcasm, decline, another action or target). A decline
//! without a grant is `declined`. Everything else is `unclear`: a wrong grant lets staff act on
//! an account without permission, so doubt always falls that way.

use super::lexicon::{Hit, Kind, Lexicon, Phrase, fold, is_cjk, is_sentence_end};
use crate::workflow::ConsentVerdict;
use regex::Regex;
use std::sync::LazyLock;

/// How many words may sit between a negation and the grant or action it negates
/// ("I do **not** want you to **move** it").
const NEGATION_REACH: usize = 4;

/// A signal found in the reply, for the verdict and its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signal {
    kind: Kind,
    /// Position in the folded text, to order signals and to apply withdrawals.
    at: usize,
    reason: String,
}

impl Signal {
    fn from_hit(hit: &Hit<'_>, folded: &str) -> Signal {
        Signal {
            kind: hit.phrase.kind,
            at: hit.start,
            reason: format!(
                "{}: \"{}\"",
                hit.phrase.kind.label(),
                &folded[hit.start..hit.end]
            ),
        }
    }
}

/// Judges `text` (the requester's new text, quotes already removed) against `request`.
pub fn judge_text(request: &str, text: &str) -> (ConsentVerdict, Vec<String>) {
    let lexicon = Lexicon::builtin();
    let folded = fold(text);
    if folded.trim().is_empty() {
        return (ConsentVerdict::Unclear, vec!["empty reply".to_string()]);
    }
    let folded_request = fold(request);
    let asked = Asked {
        actions: lexicon.groups_named(&folded_request, Kind::Action),
        objects: lexicon.groups_named(&folded_request, Kind::Object),
    };
    // The request's own verb counts as an asked action even when the lexicon does not know it.
    let own_verb: Vec<Phrase> = super::recognise_question(request)
        .and_then(|q| q.action.split_whitespace().next().map(Phrase::asked_verb))
        .filter(|p| !p.text.is_empty())
        .into_iter()
        .collect();
    let hits = lexicon.scan_with(&folded, &own_verb);
    let mut signals = interpret(&hits, &folded, asked, lexicon);
    signals.extend(other_targets(request, text));
    signals.extend(clock_and_dates(text));

    // After "actually, no" / "on second thought" only what follows counts.
    let from = signals
        .iter()
        .filter(|s| s.kind == Kind::Withdraw)
        .map(|s| s.at)
        .max()
        .unwrap_or(0);
    let reasons: Vec<String> = signals.iter().map(|s| s.reason.clone()).collect();
    let current: Vec<&Signal> = signals.iter().filter(|s| s.at >= from).collect();
    let has = |k: Kind| current.iter().any(|s| s.kind == k);

    let verdict = if signals.iter().any(|s| s.kind == Kind::AutoReply) {
        ConsentVerdict::Unclear
    } else if has(Kind::Decline) || has(Kind::Withdraw) {
        // "Is there a way to keep it?" asks; "No, why would you?" and "Really? No." refuse.
        let refuses_first = current
            .first()
            .is_some_and(|s| matches!(s.kind, Kind::Decline | Kind::Withdraw));
        let first_decline = current
            .iter()
            .filter(|s| matches!(s.kind, Kind::Decline | Kind::Withdraw))
            .map(|s| s.at)
            .min()
            .unwrap_or(0);
        let asks_after = current
            .iter()
            .any(|s| s.kind == Kind::Question && s.at > first_decline);
        // "No, I'll do it myself": the "do it" is not addressed to us.
        let does_it_themselves = refuses_first && has(Kind::DeclineSoft);
        if (has(Kind::Grant) && !does_it_themselves) || (asks_after && !refuses_first) {
            ConsentVerdict::Unclear
        } else {
            ConsentVerdict::Declined
        }
    } else if has(Kind::DeclineSoft) {
        if has(Kind::Grant) || has(Kind::Question) {
            ConsentVerdict::Unclear
        } else {
            ConsentVerdict::Declined
        }
    } else if has(Kind::Grant) && current.iter().all(|s| !blocks_grant(s.kind)) {
        ConsentVerdict::Granted
    } else {
        ConsentVerdict::Unclear
    };
    let mut reasons = reasons;
    if reasons.is_empty() {
        reasons.push("no explicit answer".to_string());
    } else if verdict == ConsentVerdict::Unclear && !signals.iter().any(|s| s.kind == Kind::Grant) {
        reasons.push("no explicit grant".to_string());
    }
    (verdict, reasons)
}

fn blocks_grant(kind: Kind) -> bool {
    !matches!(
        kind,
        Kind::Grant | Kind::Neutral | Kind::Action | Kind::Object
    )
}

/// The kinds of action and of object the request names (bit sets).
#[derive(Debug, Clone, Copy)]
struct Asked {
    actions: u64,
    objects: u64,
}

/// Turns phrase hits into signals: a negation reaching a grant or an action becomes a decline,
/// "please <asked action>" becomes a grant, an action of another kind is "something else".
fn interpret(hits: &[Hit<'_>], folded: &str, asked: Asked, lexicon: &Lexicon) -> Vec<Signal> {
    let mut signals = Vec::new();
    let mut consumed = vec![false; hits.len()];
    for (i, hit) in hits.iter().enumerate() {
        if consumed[i] {
            continue;
        }
        let kind = hit.phrase.kind;
        if kind == Kind::Negation {
            let target = hits[i + 1..].iter().enumerate().find(|(_, next)| {
                matches!(next.phrase.kind, Kind::Grant | Kind::Action)
                    && within_reach(&folded[hit.end..next.start])
            });
            if let Some((offset, next)) = target {
                consumed[i + 1 + offset] = true;
                signals.push(Signal {
                    kind: Kind::Decline,
                    at: hit.start,
                    reason: format!("decline: \"{}\"", folded[hit.start..next.end].trim_end()),
                });
                continue;
            }
        }
        if kind == Kind::Object {
            if asked.objects != 0 && hit.phrase.groups & asked.objects == 0 {
                signals.push(Signal {
                    kind: Kind::Redirect,
                    at: hit.start,
                    reason: format!(
                        "other target: \"{}\" ({})",
                        &folded[hit.start..hit.end],
                        lexicon.group_names(hit.phrase.groups, Kind::Object)
                    ),
                });
            }
            continue;
        }
        if kind == Kind::Action {
            let request_groups = asked.actions;
            // Group 0 is the request's own verb.
            let asked = hit.phrase.groups == 0 || hit.phrase.groups & request_groups != 0;
            let after_please = i > 0
                && hits[i - 1].phrase.kind == Kind::Neutral
                && matches!(
                    &folded[hits[i - 1].start..hits[i - 1].end],
                    "please" | "pls" | "plz"
                )
                && folded[hits[i - 1].end..hit.start].trim().is_empty();
            if asked && after_please {
                signals.push(Signal {
                    kind: Kind::Grant,
                    at: hits[i - 1].start,
                    reason: format!("grant: \"{}\"", &folded[hits[i - 1].start..hit.end]),
                });
            } else if !asked && request_groups != 0 {
                signals.push(Signal {
                    kind: Kind::Redirect,
                    at: hit.start,
                    reason: format!(
                        "other action: \"{}\" ({})",
                        &folded[hit.start..hit.end],
                        lexicon.group_names(hit.phrase.groups, Kind::Action)
                    ),
                });
            }
            continue;
        }
        if kind == Kind::Timing {
            let after_past = i > 0
                && hits[i - 1].phrase.kind == Kind::Past
                && within_reach_of(&folded[hits[i - 1].end..hit.start], 2);
            let before_ago = hits.get(i + 1).is_some_and(|next| {
                next.phrase.kind == Kind::Past && within_reach_of(&folded[hit.end..next.start], 0)
            });
            if after_past || before_ago {
                continue;
            }
        }
        if matches!(kind, Kind::Neutral | Kind::Past) {
            continue;
        }
        signals.push(Signal::from_hit(hit, folded));
    }
    signals
}

fn within_reach(gap: &str) -> bool {
    within_reach_of(gap, NEGATION_REACH)
}

/// `gap` is in one sentence and has at most `words` words (a CJK character counts as one).
fn within_reach_of(gap: &str, words: usize) -> bool {
    if gap.chars().any(is_sentence_end) {
        return false;
    }
    gap.split_whitespace().count() + gap.chars().filter(|c| is_cjk(*c)).count() <= words
}

/// Dates and clock times ("on the 31st", "at 5pm", "20.01."): a moment other than now.
fn clock_and_dates(text: &str) -> Vec<Signal> {
    static MOMENT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(?:\d{1,2}(?:st|nd|rd|th)|\d{1,2}(?::\d{2})?\s?[ap]\.?m\b\.?|\d{1,2}:\d{2}|\d{1,4}[./-]\d{1,2}(?:[./-]\d{2,4})?|eod|eow|cob)\b|\d+\s?[日時点号]",
        )
        .expect("literal pattern")
    });
    MOMENT
        .find_iter(text)
        .map(|m| Signal {
            kind: Kind::Timing,
            at: usize::MAX,
            reason: format!("timing: \"{}\"", m.as_str()),
        })
        .collect()
}

/// Projects, paths, e-mail addresses and `code` the reply names that the request does not
/// (permission for something else), or only some of several the request names (partial scope).
fn other_targets(request: &str, text: &str) -> Vec<Signal> {
    let asked = targets(request);
    let named = targets(text);
    let mut out = Vec::new();
    for (raw, target) in &named {
        if !asked
            .iter()
            .any(|(_, a)| a == target || contains_bounded(a, target))
        {
            out.push(Signal {
                kind: Kind::Redirect,
                // Positions here are in the raw text, not the folded one: never before a
                // withdrawal.
                at: usize::MAX,
                reason: format!("other target: \"{raw}\""),
            });
        }
    }
    if asked.len() > 1 && !named.is_empty() && out.is_empty() {
        let missing: Vec<&str> = asked
            .iter()
            .filter(|(_, a)| !named.iter().any(|(_, n)| n == a || contains_bounded(n, a)))
            .map(|(raw, _)| raw.as_str())
            .collect();
        if !missing.is_empty() {
            out.push(Signal {
                kind: Kind::Scope,
                at: usize::MAX,
                reason: format!("scope: does not name \"{}\"", missing.join("\", \"")),
            });
        }
    }
    out
}

/// Targets in `text`: (as written, lower case).
fn targets(text: &str) -> Vec<(String, String)> {
    static TARGET: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"`([^`\n]+)`|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|[\w.-]+(?:/[\w.-]+)+")
            .expect("literal pattern")
    });
    const COMMON: &[&str] = &[
        "and/or", "or/and", "n/a", "w/o", "he/she", "s/he", "his/her",
    ];
    let mut out: Vec<(String, String)> = Vec::new();
    for m in TARGET.captures_iter(text) {
        let raw = m.get(1).or_else(|| m.get(0)).map_or("", |g| g.as_str());
        let target = raw.trim_matches(['.', '-']).to_lowercase();
        if !target.chars().any(char::is_alphabetic) || COMMON.contains(&target.as_str()) {
            continue;
        }
        if !out.iter().any(|(_, t)| *t == target) {
            out.push((raw.to_string(), target));
        }
    }
    out
}

/// `needle` occurs in `haystack` as a whole name ("acme/legacy" is not in "acme/legacy-v2").
fn contains_bounded(haystack: &str, needle: &str) -> bool {
    // A trailing part of a path names the same thing ("old-wiki" in "nordic/old-wiki").
    let joins_before = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@');
    let joins_after = |c: char| joins_before(c) || c == '/';
    haystack.match_indices(needle).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + needle.len()..].chars().next();
        !before.is_some_and(joins_before) && !after.is_some_and(joins_after)
    })
}
