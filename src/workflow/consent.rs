//! Permission questions and replies. STUB: the consent helper replaces this file.
use super::{Comment, ConsentVerdict};

/// An agent's request for explicit permission, with the asked action kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionQuestion {
    /// The action asked about, verbatim (e.g. "re-run one or more pipelines in project `xyz`").
    pub action: String,
    /// The whole question sentence, verbatim.
    pub question: String,
}

/// Finds a permission question in an agent's comment body.
pub fn recognise_question(body: &str) -> Option<PermissionQuestion> {
    // Minimal stand-in: the two handbook phrases only.
    for lead in [
        "Could you please provide permission for staff to ",
        "Could you please confirm that you would like us to ",
    ] {
        if let Some(start) = body.find(lead) {
            let rest = &body[start + lead.len()..];
            let end = rest.find('?')?;
            return Some(PermissionQuestion {
                action: rest[..end].trim().to_string(),
                question: body[start..start + lead.len() + end + 1].to_string(),
            });
        }
    }
    None
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
pub fn judge_reply(_request: &str, requester_id: &str, reply: &Comment) -> Judgment {
    if reply.author_id != requester_id || !reply.public {
        return Judgment {
            verdict: ConsentVerdict::Ignored,
            quote: String::new(),
            reasons: vec![],
        };
    }
    // Minimal stand-in: first line only, plain yes/no.
    let quote = super::text::new_text(&reply.body);
    let lower = quote.to_lowercase();
    let verdict = if lower.starts_with("no") {
        ConsentVerdict::Declined
    } else if lower.starts_with("yes") && !lower.contains("but") && !lower.contains('?') {
        ConsentVerdict::Granted
    } else {
        ConsentVerdict::Unclear
    };
    Judgment {
        verdict,
        quote,
        reasons: vec![],
    }
}
