//! Zammad article bodies in `text/html` (e-mails, the agent editor) as the plain text the
//! consent judge reads. Zendesk hands the judge a comment's plain `body`; this gives the judge
//! the same thing from HTML: tags dropped, block boundaries as line breaks, entities decoded,
//! and a `<blockquote>` (quoted history) as `> ` lines, which the judge leaves out like any
//! quoted reply.

/// Elements whose boundaries end a line (`br` breaks one).
const BLOCKS: &[&str] = &[
    "p", "div", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr",
    "section", "article", "header", "footer",
];
/// Elements whose content is never text.
const HIDDEN: &[&str] = &["script", "style", "head", "title"];

struct Writer {
    out: String,
    quote_depth: usize,
    at_line_start: bool,
    pending_space: bool,
}

impl Writer {
    /// A block boundary: ends the line, if one is open.
    fn end_line(&mut self) {
        if !self.at_line_start {
            self.line_break();
        }
    }

    /// A `<br>`: a line break even on an empty line, at most one empty line in a row.
    fn line_break(&mut self) {
        while self.out.ends_with(' ') {
            self.out.pop();
        }
        if !self.out.ends_with("\n\n") && !self.out.is_empty() {
            self.out.push('\n');
        }
        self.at_line_start = true;
        self.pending_space = false;
    }

    fn text(&mut self, c: char) {
        if c.is_whitespace() {
            self.pending_space = !self.at_line_start;
            return;
        }
        if self.at_line_start {
            for _ in 0..self.quote_depth {
                self.out.push_str("> ");
            }
            self.at_line_start = false;
        } else if self.pending_space {
            self.out.push(' ');
        }
        self.pending_space = false;
        self.out.push(c);
    }
}

/// `&amp;`, `&#39;`, `&#x27;`…; `None` for what is not an entity (the `&` stays).
fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// The text of an HTML body.
pub fn to_text(html: &str) -> String {
    let mut w = Writer {
        out: String::with_capacity(html.len()),
        quote_depth: 0,
        at_line_start: true,
        pending_space: false,
    };
    let mut hidden: Option<String> = None;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').unwrap_or(rest.len());
                let tag = &rest[1..end];
                rest = rest.get(end + 1..).unwrap_or("");
                if tag.starts_with("!--") {
                    // A comment may hold '>': skip to its end.
                    if let Some(close) = rest.find("-->").filter(|_| !tag.ends_with("--")) {
                        rest = &rest[close + 3..];
                    }
                    continue;
                }
                let closing = tag.starts_with('/');
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if let Some(open) = &hidden {
                    if closing && *open == name {
                        hidden = None;
                    }
                    continue;
                }
                if HIDDEN.contains(&name.as_str()) && !closing && !tag.ends_with('/') {
                    hidden = Some(name);
                    continue;
                }
                if name == "br" {
                    w.line_break();
                } else if name == "blockquote" {
                    w.end_line();
                    w.quote_depth = if closing {
                        w.quote_depth.saturating_sub(1)
                    } else {
                        w.quote_depth + 1
                    };
                } else if BLOCKS.contains(&name.as_str()) {
                    w.end_line();
                }
            }
            '&' => {
                let candidate = rest[1..].split(';').next().unwrap_or("");
                match entity(candidate).filter(|_| candidate.len() <= 10 && rest[1..].contains(';'))
                {
                    Some(decoded) => {
                        if hidden.is_none() {
                            w.text(decoded);
                        }
                        rest = &rest[candidate.len() + 2..];
                    }
                    None => {
                        if hidden.is_none() {
                            w.text('&');
                        }
                        rest = &rest[1..];
                    }
                }
            }
            c => {
                if hidden.is_none() {
                    w.text(c);
                }
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    w.out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn blocks_become_lines_and_entities_characters() {
        assert_eq!(
            to_text(
                "<div>Yes, go ahead &amp; remove it.</div><div><br></div><div>Thanks,&nbsp;Ann</div>"
            ),
            "Yes, go ahead & remove it.\n\nThanks, Ann"
        );
        assert_eq!(
            to_text("Fish &#38; chips &#x2014; &bogus; &"),
            "Fish & chips \u{2014} &bogus; &"
        );
    }

    #[test]
    fn quoted_history_is_marked_as_quoted() {
        let body = "<p>Yes please</p><blockquote type=\"cite\"><p>Could you please confirm that you would like us to remove 2FA?</p></blockquote>";
        assert_eq!(
            to_text(body),
            "Yes please\n> Could you please confirm that you would like us to remove 2FA?"
        );
    }

    #[test]
    fn scripts_styles_and_comments_are_not_text() {
        assert_eq!(
            to_text(
                "<style>p { color: red }</style><!-- a > b --><p>ok</p><script>alert(1)</script>"
            ),
            "ok"
        );
        assert_eq!(to_text("plain text stays"), "plain text stays");
        assert_eq!(to_text("<unclosed"), "");
    }
}
