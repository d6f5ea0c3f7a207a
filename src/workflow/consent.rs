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

/// Judges `reply` to the permission question `request` on a ticket whose requester is
/// `requester_id`. Anyone else's comment, or an internal note, is `Ignored`.
pub fn judge_reply(request: &str, requester_id: &str, reply: &Comment) -> Judgment {
    let requester = requester_id.trim();
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
    let (verdict, reasons) = judge_text(request, &text::without_quoted_lines(quote));
    Judgment {
        verdict,
        quote: quote.to_string(),
        reasons,
    }
}

#[cfg(test)]
mod tests;
