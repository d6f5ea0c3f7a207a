//! The reasons a note quotes, as an agent should read them: each piece of evidence once.
//!
//! The classifier and the consent judge explain themselves in lines such as
//! `"add me as owner" + "group" → project_group_change` or `question: "?"`. Several rules can
//! fire on the same words, and a question mark is evidence to the judge but says nothing to a
//! reader, so the notes drop quotes without a letter or digit and every reason whose quotes
//! another reason to the same conclusion already shows.

/// A reason split into its quoted words and the rest (labels, `+`, `→ category`).
struct Reason {
    quotes: Vec<String>,
    /// The reason without its quotes and joiners: what it concludes, e.g. `→ other` or
    /// `question:`.
    frame: String,
    text: String,
}

/// The reasons worth showing, in their original order.
pub fn distinct_evidence(reasons: &[String]) -> Vec<String> {
    let parsed: Vec<Reason> = reasons
        .iter()
        .filter_map(|r| without_bare_punctuation(r))
        .collect();
    let mut shown: Vec<String> = Vec::new();
    for (i, reason) in parsed.iter().enumerate() {
        let covered = parsed.iter().enumerate().any(|(j, other)| {
            j != i
                && !reason.quotes.is_empty()
                && other.frame == reason.frame
                && reason.quotes.iter().all(|q| other.quotes.contains(q))
                // Of two reasons with the same quotes, the first stays.
                && (other.quotes.len() > reason.quotes.len() || j < i)
        });
        if !covered && !shown.contains(&reason.text) {
            shown.push(reason.text.clone());
        }
    }
    shown
}

/// Drops the quotes that hold no letter or digit (`"?"`, `"!"`); `None` when nothing but
/// joiners and a conclusion would be left.
fn without_bare_punctuation(reason: &str) -> Option<Reason> {
    let pieces = split_quotes(reason);
    let mut quotes = Vec::new();
    let mut kept: Vec<Piece> = Vec::new();
    let mut dropped_any = false;
    for piece in pieces {
        match piece {
            Piece::Quote(_, inner) if !inner.chars().any(char::is_alphanumeric) => {
                dropped_any = true;
            }
            Piece::Quote(raw, inner) => {
                quotes.push(inner.clone());
                kept.push(Piece::Quote(raw, inner));
            }
            other => kept.push(other),
        }
    }
    let frame = kept
        .iter()
        .filter_map(|p| match p {
            Piece::Plain(text) => Some(text.as_str()),
            Piece::Quote(..) => None,
        })
        .flat_map(str::split_whitespace)
        .filter(|word| *word != "+")
        .collect::<Vec<_>>()
        .join(" ");
    if !dropped_any {
        return Some(Reason {
            quotes,
            frame,
            text: reason.to_string(),
        });
    }
    let text = rejoin(&kept);
    let text = text.trim().trim_end_matches(':').trim().to_string();
    let only_joiners = text
        .split('→')
        .next()
        .is_some_and(|head| head.chars().all(|c| c == '+' || c.is_whitespace()));
    if text.is_empty() || (quotes.is_empty() && only_joiners) {
        return None;
    }
    Some(Reason {
        quotes,
        frame,
        text,
    })
}

enum Piece {
    Plain(String),
    /// The quote as written (with its quotation marks and escapes) and its text.
    Quote(String, String),
}

/// Splits at Rust-style quoted strings (`"…"`, `\"` and `\\` escaped), as the reasons are
/// written.
fn split_quotes(reason: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut plain = String::new();
    let mut chars = reason.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            plain.push(c);
            continue;
        }
        let (mut raw, mut inner, mut closed) = (String::from('"'), String::new(), false);
        while let Some(q) = chars.next() {
            raw.push(q);
            match q {
                '\\' => {
                    if let Some(escaped) = chars.next() {
                        raw.push(escaped);
                        inner.push(escaped);
                    }
                }
                '"' => {
                    closed = true;
                    break;
                }
                other => inner.push(other),
            }
        }
        if closed {
            pieces.push(Piece::Plain(std::mem::take(&mut plain)));
            pieces.push(Piece::Quote(raw, inner));
        } else {
            plain.push_str(&raw);
        }
    }
    pieces.push(Piece::Plain(plain));
    pieces
}

/// Puts the kept pieces back together, with one ` + ` between neighbouring quotes whose
/// joiner went with a dropped quote.
fn rejoin(pieces: &[Piece]) -> String {
    let mut text = String::new();
    let mut last_was_quote = false;
    for piece in pieces {
        match piece {
            Piece::Plain(plain) => {
                let trimmed = plain.trim();
                if trimmed == "+" || trimmed.is_empty() {
                    continue;
                }
                let plain = plain.trim_start_matches([' ', '+']);
                if last_was_quote && !plain.starts_with(' ') {
                    text.push(' ');
                }
                text.push_str(plain);
                last_was_quote = false;
            }
            Piece::Quote(raw, _) => {
                if last_was_quote {
                    text.push_str(" + ");
                }
                text.push_str(raw);
                last_was_quote = true;
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(reasons: &[&str]) -> Vec<String> {
        distinct_evidence(&reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_same_words_for_the_same_conclusion_are_shown_once() {
        assert_eq!(
            shown(&[
                r#""owner left" + "group" → project_group_change"#,
                r#""add me as owner" + "group" → project_group_change"#,
                r#""add me as owner" + "group" → project_group_change"#,
                r#""add me as owner" + "group" + "please" → project_group_change"#,
            ]),
            [
                r#""owner left" + "group" → project_group_change"#,
                r#""add me as owner" + "group" + "please" → project_group_change"#,
            ]
        );
    }

    #[test]
    fn the_same_words_for_another_conclusion_stay() {
        let both = [
            r#""owner" → project_group_change"#,
            r#""owner" → account_access"#,
        ];
        assert_eq!(shown(&both), both);
    }

    #[test]
    fn punctuation_alone_is_not_evidence() {
        assert_eq!(
            shown(&[r#"question: "?""#, "no explicit grant"]),
            ["question", "no explicit grant"]
        );
        assert_eq!(
            shown(&[r#""?" + "really" → unclear"#]),
            [r#""really" → unclear"#]
        );
        assert!(shown(&[r#""!" → granted"#]).is_empty());
        assert_eq!(
            shown(&[r#""yes" + "!" + "go ahead" → granted"#]),
            [r#""yes" + "go ahead" → granted"#]
        );
    }

    #[test]
    fn quotes_with_escaped_quotation_marks_are_read_whole() {
        assert_eq!(
            shown(&[r#""say \"yes\"" → granted"#, r#""yes" → granted"#]),
            [r#""say \"yes\"" → granted"#, r#""yes" → granted"#]
        );
    }
}
