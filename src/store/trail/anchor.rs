//! Anchors: each verdict note on the helpdesk carries its record's seq and hash, so the tickets
//! themselves hold a copy of the trail's hashes that the database's administrator cannot
//! rewrite.
//!
//! The note is rendered by the pure core before the store has given the record a seq, so the
//! core writes [`ANCHOR_PLACEHOLDER`] where the anchor belongs, and the store, in the
//! transaction that appends the record, replaces it ([`fill_anchors`]). The placeholder is an
//! HTML comment: every text the core puts in a note is HTML-escaped, so nothing a customer or
//! an agent writes can produce it, and a note that somehow keeps it shows nothing.
//!
//! In the note the anchor is a short line for the agent (`#7 · 3f2a9c1e0b7d`) and a marker with
//! the full hash, `onbehalf:trail:7:<64 hex digits>`, that `audit verify --against-helpdesk`
//! reads back.

use std::sync::OnceLock;

use regex::Regex;

use super::Head;

/// Where a note wants the anchor of the record its decision appends.
pub const ANCHOR_PLACEHOLDER: &str = "<!--onbehalf:trail-record-->";

/// A record's anchor as a note carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor(pub Head);

impl Anchor {
    /// The marker with the full hash: `onbehalf:trail:SEQ:HASH`.
    pub fn marker(&self) -> String {
        format!("onbehalf:trail:{}:{}", self.0.seq, self.0.hash)
    }

    /// What the note shows where the placeholder was.
    pub fn html(&self) -> String {
        let short = self.0.hash.get(..12).unwrap_or(&self.0.hash);
        format!(
            "<p>Recorded in the permission trail as record <strong>#{}</strong> (<code>{short}</code>).</p>\n<p><small>{}</small></p>",
            self.0.seq,
            self.marker()
        )
    }

    /// Every anchor marker in a text (a comment's HTML or plain body).
    pub fn find_all(text: &str) -> Vec<Anchor> {
        static MARKER: OnceLock<Regex> = OnceLock::new();
        let marker = MARKER.get_or_init(|| {
            Regex::new(r"onbehalf:trail:([0-9]{1,18}):([0-9a-f]{64})")
                .unwrap_or_else(|e| unreachable!("constant regex: {e}"))
        });
        marker
            .captures_iter(text)
            .filter_map(|c| {
                Some(Anchor(Head {
                    seq: c.get(1)?.as_str().parse().ok()?,
                    hash: c.get(2)?.as_str().to_string(),
                }))
            })
            .collect()
    }
}

/// Replaces the placeholders of one decision's notes with the anchors of the records the
/// decision appended, in order: the core renders each verdict note right after the draft it
/// notes. A placeholder left without a record (none appended) is removed.
pub fn fill_anchors<'a>(
    bodies: impl IntoIterator<Item = &'a mut String>,
    anchors: &[Option<Anchor>],
) {
    let mut next = anchors.iter();
    for body in bodies {
        while body.contains(ANCHOR_PLACEHOLDER) {
            let replacement = next.next().and_then(Option::as_ref).map(Anchor::html);
            *body = body.replacen(ANCHOR_PLACEHOLDER, &replacement.unwrap_or_default(), 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(seq: i64, c: char) -> Anchor {
        Anchor(Head {
            seq,
            hash: c.to_string().repeat(64),
        })
    }

    #[test]
    fn placeholders_take_the_decisions_anchors_in_order() {
        let mut bodies = vec![
            "<p>triage</p>".to_string(),
            format!("<p>granted</p>\n{ANCHOR_PLACEHOLDER}"),
            format!("<p>declined</p>\n{ANCHOR_PLACEHOLDER}"),
            format!("<p>nothing left</p>{ANCHOR_PLACEHOLDER}"),
        ];
        fill_anchors(&mut bodies, &[Some(anchor(7, 'a')), Some(anchor(8, 'b'))]);
        assert_eq!(bodies[0], "<p>triage</p>");
        assert!(bodies[1].contains("record <strong>#7</strong> (<code>aaaaaaaaaaaa</code>)"));
        assert!(bodies[1].contains(&format!("onbehalf:trail:7:{}", "a".repeat(64))));
        assert!(bodies[2].contains(&format!("onbehalf:trail:8:{}", "b".repeat(64))));
        assert_eq!(bodies[3], "<p>nothing left</p>");
        assert!(bodies.iter().all(|b| !b.contains(ANCHOR_PLACEHOLDER)));
    }

    /// The contract with the core: the notes that report a recorded verdict say where their
    /// record's anchor goes, once.
    #[test]
    fn verdict_notes_carry_the_placeholder_once() {
        use crate::workflow::notes::{NextStep, NoteTemplate, NoteView, Progress, render};
        use crate::workflow::{Category, TagNames};
        let view = NoteView::new(
            Category::AccountAccess,
            &TagNames::default(),
            NextStep::ProceedAccount,
            Progress::default(),
        )
        .with_quote("Yes <!--onbehalf:trail-record--> go ahead");
        for template in [NoteTemplate::Granted, NoteTemplate::Declined] {
            let html = render(template, &view);
            assert_eq!(html.matches(ANCHOR_PLACEHOLDER).count(), 1, "{html}");
        }
        let unclear = render(NoteTemplate::Unclear, &view);
        assert!(
            !unclear.contains(ANCHOR_PLACEHOLDER),
            "customer text is escaped: {unclear}"
        );
    }

    #[test]
    fn markers_are_found_in_html_and_plain_text() {
        let html = anchor(7, 'a').html();
        assert_eq!(Anchor::find_all(&html), vec![anchor(7, 'a')]);
        let plain = format!(
            "Recorded as #7\n{}\nonbehalf:zendesk:1:verdict-2 {}",
            anchor(7, 'a').marker(),
            anchor(12, 'f').marker()
        );
        assert_eq!(
            Anchor::find_all(&plain),
            vec![anchor(7, 'a'), anchor(12, 'f')]
        );
        assert!(Anchor::find_all("onbehalf:trail:7:abc").is_empty());
    }
}
