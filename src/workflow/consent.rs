//! Permission questions and replies.
//!
//! `question` finds an agent's permission question and keeps the asked action verbatim;
//! `verdict` judges the requester's new text against it with the phrase lists of
//! `rules/consent.toml` (`lexicon`).

mod lexicon;
mod question;
mod verdict;

pub use question::recognise_question;
pub use verdict::judge_text;

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
    let quote = text::new_text_span(&reply.body);
    // An interleaved reply keeps the agent's quoted lines inside the quote; they are not judged.
    let (verdict, reasons) = judge_text(asked.question, &text::without_quoted_lines(quote));
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
        return Judgment {
            verdict: ConsentVerdict::Unclear,
            quote: quote.to_string(),
            reasons: vec![format!(
                "{} permission questions are open: the reply does not say which it answers",
                asked.other_open_questions + 1
            )],
        };
    }
    Judgment {
        verdict,
        quote: quote.to_string(),
        reasons,
    }
}

/// sha256 (hex) of a comment's whole body, as the trail records it beside the quote.
pub fn body_sha256(body: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(body.as_bytes()))
}

#[cfg(test)]
mod tests;
