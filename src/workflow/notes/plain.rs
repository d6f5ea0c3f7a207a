//! A note's HTML as plain text, for terminals and for reading a shadow note beside its markup
//! (`GET /api/notes`, `onbehalf notes`).
//!
//! Only the markup the note templates write is given a shape (paragraphs, lists, quotes,
//! preformatted lines, line breaks); any other tag is dropped and its text kept. Entities are
//! decoded, comments (the trail anchor's placeholder) dropped.

/// `html` rendered as plain text: paragraphs separated by a blank line, `- ` list items,
/// `> ` quoted lines, `<pre>` kept verbatim.
pub fn plain_text(html: &str) -> String {
    let mut out = Renderer::default();
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
        } else if starts_tag(rest)
            && let Some(end) = rest.find('>')
        {
            out.tag(&rest[1..end]);
            rest = &rest[end + 1..];
        } else {
            // Up to the next '<'; one that opens no tag is text.
            let first = rest.chars().next().map_or(1, char::len_utf8);
            let end = rest[first..].find('<').map_or(rest.len(), |i| i + first);
            out.text(&decode_entities(&rest[..end]));
            rest = &rest[end..];
        }
    }
    out.finish()
}

/// A tag opens with `<` and a letter or `/` (as in HTML); any other `<` is text.
fn starts_tag(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next() == Some('<')
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
}

#[derive(Default)]
struct Renderer {
    lines: Vec<String>,
    line: String,
    /// Whether `line` holds only its prefix (nothing written yet).
    line_started: bool,
    quote_depth: usize,
    in_pre: bool,
    pending_space: bool,
}

impl Renderer {
    fn tag(&mut self, tag: &str) {
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match (name.as_str(), closing) {
            ("p" | "ul" | "ol", _) => self.block(),
            ("li", false) => {
                self.end_line();
                self.start_line();
                self.line.push_str("- ");
            }
            ("li", true) => self.end_line(),
            ("br", _) => {
                self.start_line();
                self.end_line();
            }
            ("blockquote", false) => {
                self.block();
                self.quote_depth += 1;
            }
            ("blockquote", true) => {
                self.block();
                self.quote_depth = self.quote_depth.saturating_sub(1);
            }
            ("pre", open_or_close) => {
                self.block();
                self.in_pre = !open_or_close;
            }
            // Inline markup (strong, em, code…) and anything unknown: the text is what counts.
            _ => {}
        }
    }

    fn text(&mut self, text: &str) {
        if self.in_pre {
            for (i, part) in text.split('\n').enumerate() {
                if i > 0 {
                    self.start_line();
                    self.end_line();
                }
                if !part.is_empty() {
                    self.start_line();
                    self.line.push_str(part);
                }
            }
            return;
        }
        for c in text.chars() {
            if c.is_whitespace() {
                self.pending_space = self.line_started;
            } else {
                self.start_line();
                if std::mem::take(&mut self.pending_space) {
                    self.line.push(' ');
                }
                self.line.push(c);
            }
        }
    }

    fn start_line(&mut self) {
        if !self.line_started {
            self.line = "> ".repeat(self.quote_depth);
            self.line_started = true;
            self.pending_space = false;
        }
    }

    fn end_line(&mut self) {
        if self.line_started {
            self.lines
                .push(std::mem::take(&mut self.line).trim_end().to_owned());
            self.line_started = false;
        }
        self.pending_space = false;
    }

    /// Ends the line and leaves one blank line before whatever comes next.
    fn block(&mut self) {
        self.end_line();
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    fn finish(mut self) -> String {
        self.end_line();
        while self.lines.last().is_some_and(String::is_empty) {
            self.lines.pop();
        }
        self.lines.join("\n")
    }
}

/// `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&nbsp;` and numeric references; anything
/// else is left as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let decoded = rest.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| name.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_lists_quotes_and_pre_take_their_shape() {
        let html = "<p><strong>onbehalf · Permission confirmed</strong></p>\n\
            <p>The requester gave permission to: <em>disable <code>2FA</code></em></p>\n\
            <blockquote>Yes, please<br>go ahead</blockquote>\n<!--onbehalf:trail-record-->\n\
            <ul>\n<li>☑ Account ownership verified (tag <code>account_ownership_verified</code>)</li>\n\
            <li>☐ Permission   confirmed</li>\n</ul>\n<pre>Admin Note: 2FA  removed\nline two</pre>";
        assert_eq!(
            plain_text(html),
            "onbehalf · Permission confirmed\n\n\
             The requester gave permission to: disable 2FA\n\n\
             > Yes, please\n> go ahead\n\n\
             - ☑ Account ownership verified (tag account_ownership_verified)\n\
             - ☐ Permission confirmed\n\n\
             Admin Note: 2FA  removed\nline two"
        );
    }

    #[test]
    fn entities_are_decoded_and_stray_ampersands_and_brackets_kept() {
        assert_eq!(
            plain_text(
                "<p>&lt;category&gt; &amp; &quot;it&quot; &#x27;s &#39;ok&#39; a & b &bogus; 1 < 2</p>"
            ),
            "<category> & \"it\" 's 'ok' a & b &bogus; 1 < 2"
        );
    }

    /// Every shipped note template, for every category, renders to text with no tag or
    /// entity left in it and the customer's words (escaped in the HTML) back as written.
    #[test]
    fn rendered_notes_leave_no_markup_behind() {
        use crate::workflow::notes::{NextStep, NoteTemplate, NoteView, Progress, render};
        use crate::workflow::{Category, TagNames};
        for template in NoteTemplate::ALL {
            for category in Category::ALL {
                let mut view = NoteView::new(
                    category,
                    &TagNames::default(),
                    NextStep::AskPermission,
                    Progress::default(),
                )
                .with_quote("Yes <b>please</b> & \"go\" ahead");
                view.action = Some("remove `2FA`".into());
                let text = plain_text(&render(template, &view));
                for markup in [
                    "<p>", "<li>", "<code>", "<strong>", "<br", "&amp;", "&lt;", "&quot;", "&#",
                ] {
                    assert!(
                        !text.contains(markup),
                        "{template:?} {category}: {markup} in\n{text}"
                    );
                }
                assert!(text.starts_with("onbehalf · "), "{template:?}: {text}");
                assert!(text.contains("Next step: "), "{template:?}: {text}");
                assert!(!text.contains("\n\n\n"), "{template:?}: {text}");
                if template == NoteTemplate::Granted {
                    assert!(
                        text.contains("> Yes <b>please</b> & \"go\" ahead"),
                        "{text}"
                    );
                }
            }
        }
    }
}
