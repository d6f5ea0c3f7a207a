//! Time in a reply: dates and clock times ("on the 31st", "at 5pm") are a moment other than
//! now and block a grant; a chat transcript's own timestamps, version numbers and spans of
//! time ("for two years", "three weeks ago") are not.
//!
//! Dates and clock times are read from the raw text (the folded one loses their punctuation),
//! so they are found apart from the clause reading.

use super::signal::Signal;
use crate::workflow::consent::lexicon::Kind;
use regex::Regex;
use std::sync::LazyLock;

/// Spans of time (not moments: "for tomorrow" is a moment).
pub(super) const UNITS: &[&str] = &[
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "hour",
    "hours",
    "minutes",
    "semana",
    "woche",
    "semaine",
    "settimana",
];

/// Words that make a following span of time a duration ("for two years", "durante meses").
const DURATION: &[&str] = &[
    "for", "durante", "während", "pendant", "per", "al", "took", "takes", "taken", "spent",
    "tardó", "dauerte", "duurde", "levou",
];

/// `before` (the clause up to a time word) ends in a duration opening: "for", "for two",
/// "for the last": how long something has been, not when to act.
pub(super) fn is_duration(before: &str) -> bool {
    let words: Vec<&str> = before.split_whitespace().rev().take(3).collect();
    words.iter().take(3).any(|w| DURATION.contains(w))
        && words
            .iter()
            .take_while(|w| !DURATION.contains(*w))
            .all(|w| {
                w.chars().all(|c| c.is_ascii_digit())
                    || matches!(
                        *w,
                        "a" | "an"
                            | "one"
                            | "two"
                            | "three"
                            | "few"
                            | "several"
                            | "many"
                            | "the"
                            | "last"
                            | "past"
                            | "dos"
                            | "tres"
                            | "varios"
                            | "zwei"
                            | "drei"
                            | "deux"
                            | "trois"
                            | "plusieurs"
                            | "dois"
                            | "due"
                            | "tre"
                            | "twee"
                            | "drie"
                            | "paar"
                            | "meses"
                            | "anni"
                            | "jaar"
                    )
            })
}

/// A chat transcript's timestamp: a clock time or date that opens its line ("[10:02] customer:
/// …"), one in brackets right before the speaker's colon ("이민수 (15:02): …"), or any on the
/// transcript's own header line ("Chat démarré le 12/04/2024 09:15").
fn is_timestamp(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let before = &text[line_start..at];
    if before
        .chars()
        .all(|c| c.is_whitespace() || matches!(c, '[' | '(' | '<'))
    {
        return true;
    }
    let after = &text[at..line_end];
    let bracketed_tag = before.ends_with(['(', '[']) && {
        let close = after.find([')', ']']);
        close.is_some_and(|i| after[i + 1..].trim_start().starts_with(':'))
    };
    bracketed_tag || is_chat_header(&text[line_start..line_end])
}

/// "Chat started at 16:04", "Chat iniziata alle 16:04", "채팅 시작 15:01": a transcript's header
/// line, short and naming the chat and its start.
fn is_chat_header(line: &str) -> bool {
    const CHAT: &[&str] = &[
        "chat",
        "conversation",
        "transcript",
        "conversa",
        "conversación",
        "チャット",
        "채팅",
        "聊天",
        "对话",
        "對話",
    ];
    const STARTED: &[&str] = &[
        "started",
        "start",
        "began",
        "démarré",
        "démarrée",
        "commencé",
        "commencée",
        "iniciado",
        "iniciada",
        "iniziata",
        "iniziato",
        "gestartet",
        "begonnen",
        "gestart",
        "開始",
        "开始",
        "開始",
        "시작",
    ];
    // "Trascrizione chat – 21/05/2024": a line that names the transcript itself.
    const TRANSCRIPT: &[&str] = &[
        "transcript",
        "transcription",
        "trascrizione",
        "transcripción",
        "transcrição",
        "chatprotokoll",
        "chatverlauf",
        "gespreksverslag",
        "チャット履歴",
        "チャットログ",
        "聊天记录",
        "聊天記錄",
        "채팅 기록",
        "대화 기록",
    ];
    let lower = line.trim().to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | '-' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .collect();
    words.len() <= 8
        && ((CHAT.iter().any(|c| lower.starts_with(c))
            && STARTED
                .iter()
                .any(|s| words.contains(s) || (!s.is_ascii() && lower.contains(s))))
            || TRANSCRIPT.iter().any(|t| lower.starts_with(t)))
}

/// The number at `start..end` of `text` is one part of a longer dotted number: a dot and a digit
/// on either side ("16.8" in "16.8.0"), or a "v" before it.
fn continues_dotted_number(text: &str, start: usize, end: usize) -> bool {
    let after = &text.as_bytes()[end..];
    let before = &text.as_bytes()[..start];
    (after.len() >= 2 && after[0] == b'.' && after[1].is_ascii_digit())
        || (before.len() >= 2
            && before[before.len() - 1] == b'.'
            && before[before.len() - 2].is_ascii_digit())
        || before.last().is_some_and(|b| matches!(b, b'v' | b'V'))
}

/// Products whose releases are numbered like dates ("Ubuntu 22.04").
const RELEASED: &[&str] = &[
    "ubuntu",
    "debian",
    "version",
    "versión",
    "versione",
    "versão",
    "versie",
    "release",
    "node",
    "python",
    "ruby",
    "gitlab",
    "runner",
    "rhel",
    "centos",
    "fedora",
    "windows",
    "macos",
    "ios",
    "android",
    "php",
    "java",
    "postgres",
    "postgresql",
    "redis",
    "helm",
    "kubernetes",
    "docker",
    "alpine",
    "go",
    "v",
];

/// `before` (the text up to a number) ends with the name of a numbered release.
fn names_a_release(before: &str) -> bool {
    let word: String = before
        .trim_end()
        .chars()
        .rev()
        .take_while(|c| c.is_alphabetic())
        .collect::<Vec<char>>()
        .into_iter()
        .rev()
        .flat_map(char::to_lowercase)
        .collect();
    RELEASED.contains(&word.as_str())
}

/// Dates and clock times ("on the 31st", "at 5pm", "20.01."): a moment other than now.
pub(super) fn clock_and_dates(text: &str) -> Vec<Signal> {
    static MOMENT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(?:\d{1,2}(?:st|nd|rd|th)|\d{1,2}(?::\d{2})?\s?[ap]\.?m\b\.?|\d{1,2}:\d{2}|\d{1,4}[./-]\d{1,2}(?:[./-]\d{2,4})?|eod|eow|cob)\b|\d+\s?[日時点号시]",
        )
        .expect("literal pattern")
    });
    MOMENT
        .find_iter(text)
        .filter(|m| !is_timestamp(text, m.start()))
        // "16.8.0", "v2.1.3": part of a version number of three or more parts, no date.
        .filter(|m| !continues_dotted_number(text, m.start(), m.end()))
        // "Ubuntu 22.04", "version 16.9": a release named by its number, no date.
        .filter(|m| !names_a_release(&text[..m.start()]))
        // "1시간", "3時間": a number of hours, not a clock time.
        .filter(|m| !text[m.end()..].starts_with(['간', '間']))
        .map(|m| Signal {
            kind: Kind::Timing,
            at: usize::MAX,
            reason: format!("timing: \"{}\"", m.as_str()),
            sentence: usize::MAX,
            asked_words: false,
            derived: false,
            gives_reason: false,
        })
        .collect()
}
