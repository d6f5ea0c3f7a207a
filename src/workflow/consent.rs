//! Permission questions and replies.
//!
//! `question` finds an agent's permission question and keeps the asked action verbatim;
//! `text` (the workflow's) finds the requester's new text in a reply; `normal` normalises it so
//! that invisible and look-alike characters cannot steer the match; `verdict` judges it against
//! the question with the phrase lists of `rules/consent.toml` (`lexicon`).
//!
//! Judging is linear in the length of the reply. New text longer than [`NEW_TEXT_CAP`] is not
//! judged at all: it is `unclear` by itself (nobody answers a permission question in 16 KiB, and
//! nobody should have to read that much to audit the answer).

mod lexicon;
mod normal;
mod question;
mod verdict;

pub use question::{numbered_answer, other_things_asked, recognise_question};
pub use verdict::judge_text;

/// The most new text (bytes, after quoted history is cut) a reply may have to be judged.
pub const NEW_TEXT_CAP: usize = 16 * 1024;

use super::{Comment, ConsentVerdict, text};

/// The question a reply is judged against, as it was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked<'a> {
    /// The permission question sentence, verbatim.
    pub question: &'a str,
    /// The agent's whole comment that asked it, when known: other questions in it make a bare
    /// "yes" ambiguous.
    pub full_comment: Option<&'a str>,
    /// The requester the question was asked of: only their reply counts.
    pub asked_of: &'a str,
    /// How many other permission questions are open on the ticket besides this one.
    pub other_open_questions: usize,
}

impl<'a> Asked<'a> {
    /// A lone question asked of `asked_of`, its comment unknown.
    pub fn question(question: &'a str, asked_of: &'a str) -> Asked<'a> {
        Asked {
            question,
            full_comment: None,
            asked_of,
            other_open_questions: 0,
        }
    }
}

/// An agent's request for explicit permission, with the asked action kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionQuestion {
    /// The action asked about, verbatim (e.g. "re-run one or more pipelines in project `xyz`").
    pub action: String,
    /// The whole question sentence, verbatim.
    pub question: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgment {
    pub verdict: ConsentVerdict,
    /// The requester's new text, verbatim (empty when ignored).
    pub quote: String,
    pub reasons: Vec<String>,
}

/// Judges `reply` to the permission question `asked`. Anyone's comment but the requester the
/// question was asked of, or an internal note, is `Ignored`.
pub fn judge_reply(asked: &Asked<'_>, reply: &Comment) -> Judgment {
    let requester = asked.asked_of.trim();
    let ignored = |reason: &str| Judgment {
        verdict: ConsentVerdict::Ignored,
        quote: String::new(),
        reasons: vec![reason.to_string()],
    };
    if requester.is_empty() || reply.author_id.trim() != requester {
        return ignored("not the requester");
    }
    if !reply.public {
        return ignored("not public");
    }
    let new_text = text::extract_with(&reply.body, lexicon::carries_signal);
    let quote = new_text.quote;
    let (verdict, reasons) = if new_text.judged.len() > NEW_TEXT_CAP {
        (
            ConsentVerdict::Unclear,
            vec![format!(
                "the new text is {} KiB, more than the {} KiB a reply may have to be judged",
                new_text.judged.len().div_ceil(1024),
                NEW_TEXT_CAP / 1024
            )],
        )
    } else {
        let judged = without_the_question(asked.question, &new_text.judged);
        // An answer given by the question's own number says which question it answers.
        match numbered_answer(asked.question, asked.full_comment, &judged) {
            Some(answer) => {
                verdict::judge_framed(asked.question, &answer, &verdict::Framing::default())
            }
            None => {
                let framing = verdict::Framing {
                    other_things: other_things_asked(asked.question, asked.full_comment),
                    permission_may_answer_other: question::permission_may_answer_another(
                        asked.question,
                        asked.full_comment,
                    ),
                };
                verdict::judge_framed(asked.question, &judged, &framing)
            }
        }
    };
    if let Some(flag) = reply.flags.first() {
        // Words that may not be the author's own never carry a permission.
        let mut reasons = reasons;
        reasons.insert(
            0,
            format!("the helpdesk flagged the comment: {}", flag.as_str()),
        );
        let verdict = match verdict {
            ConsentVerdict::Granted => ConsentVerdict::Unclear,
            other => other,
        };
        return Judgment {
            verdict,
            quote: quote.to_string(),
            reasons,
        };
    }
    if asked.other_open_questions > 0 && verdict == ConsentVerdict::Granted {
        let mut reasons = reasons;
        reasons.insert(
            0,
            format!(
                "{} permission questions are open: the reply does not say which it answers",
                asked.other_open_questions + 1
            ),
        );
        return Judgment {
            verdict: ConsentVerdict::Unclear,
            quote: quote.to_string(),
            reasons,
        };
    }
    Judgment {
        verdict,
        quote: quote.to_string(),
        reasons,
    }
}

/// `text` without the lines that repeat the permission question itself ("Agent: Could you
/// please provide permission …?" pasted from a chat): the agent's words, not the requester's.
/// The quote keeps them: it is the new text verbatim.
fn without_the_question<'t>(question: &str, text: &'t str) -> std::borrow::Cow<'t, str> {
    let letters = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let asked = letters(question);
    // A short question could be repeated by chance inside an answer.
    if asked.chars().count() < 24 || !letters(text).contains(&asked) {
        return std::borrow::Cow::Borrowed(text);
    }
    // In a chat transcript the speaker who asked the question is the agent: every line of
    // theirs ("[10:40] GitLab Support (Marc) : Hi Camille, … Could you please confirm …?") is
    // the agent's words, whatever else it says.
    let agent = text
        .lines()
        .filter(|line| letters(line).contains(&asked))
        .find_map(speaker);
    std::borrow::Cow::Owned(
        text.split_inclusive('\n')
            // Otherwise only a line that is the question after at most a speaker's name or a
            // time ("Agent:", "[10:02] Support:"): an answer on the same line is kept.
            .filter(|line| {
                let own = letters(line);
                let the_question =
                    own.ends_with(&asked) && own.chars().count() <= asked.chars().count() + 24;
                let the_agents = agent.is_some() && speaker(line) == agent;
                !the_question && !the_agents
            })
            .collect(),
    )
}

/// The speaker a chat line names before its colon ("[10:40] Camille Roux : …" → "Camille
/// Roux"): a short name, after at most a bracketed tag and a clock time, with no sentence
/// punctuation in it.
fn speaker(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    if let Some(tag) = rest.strip_prefix('[') {
        let close = tag.find(']').filter(|n| *n <= 24)?;
        rest = tag[close + 1..].trim_start();
    }
    let clock = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(rest.len());
    if clock >= 4 && rest[..clock].contains(':') {
        rest = rest[clock..].trim_start();
    }
    let colon = rest.find([':', '：'])?;
    let name = rest[..colon].trim();
    let after = &rest[colon..];
    let spaced = after.chars().nth(1).is_none_or(char::is_whitespace);
    (!name.is_empty()
        && name.chars().count() <= 40
        && name.split_whitespace().count() <= 5
        && !name.contains(['.', '?', '!', ',', '。', '？', '！'])
        && spaced)
        .then_some(name)
}

/// sha256 (hex) of a comment's whole body, as the trail records it beside the quote.
pub fn body_sha256(body: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(body.as_bytes()))
}

#[cfg(test)]
mod tests;
