//! `onbehalf classify`: ticket JSON Lines in, one verdict line per ticket out, in input order.
//!
//! Lines are read one at a time (a huge input is never held whole) and each verdict is flushed
//! as soon as it is written, so the tool works at the end of a pipe that stays open.
use crate::workflow::Category;
use crate::workflow::classify::Classifier;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{BufRead, Write};

/// `onbehalf classify --help`'s reference: the fields in and out and what each category means.
pub fn long_help() -> String {
    let mut text = String::from(
        "Input, one JSON object per line (examples/classify.jsonl):
  id           string or number, echoed back
  subject      ticket subject (optional)
  description  ticket description, the first message (optional)
  tags         list of ticket tags (optional); `<tag_category_prefix><category>` overrides

Output, one JSON object per input line, in input order:
  id           the input's id
  category     one of the categories below
  reasons      the words or tags that decided it

Categories:
",
    );
    for category in Category::ALL {
        text.push_str(&format!(
            "  {}\n      {}\n",
            category.as_str(),
            meaning(category)
        ));
    }
    text.push_str(
        "\nA malformed line is reported on stderr with its line number and skipped; the exit code is
1 when any line was malformed.
",
    );
    text
}

fn meaning(category: Category) -> &'static str {
    match category {
        Category::ProjectGroupChange => {
            "staff are asked to change a project or group (transfer, owner, registry, settings)"
        }
        Category::AccountAccess => {
            "the requester asks for access to their own account (2FA removal, e-mail change)"
        }
        Category::Other => "no action on the customer's behalf: onbehalf stays silent",
    }
}

/// Longest accepted line; longer lines are skipped (and reported) without being buffered whole.
pub const MAX_LINE_BYTES: usize = 8 << 20;

#[derive(Deserialize)]
struct Ticket {
    id: Value,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Verdict<'a> {
    id: &'a Value,
    category: &'static str,
    reasons: &'a [String],
}

/// Reads ticket lines from `input`, writes verdict lines to `output` and error lines to `errors`.
/// Returns the number of malformed lines (the caller exits non-zero when it is not 0).
pub fn run(
    classifier: &Classifier,
    mut input: impl BufRead,
    mut output: impl Write,
    mut errors: impl Write,
) -> std::io::Result<u64> {
    let mut malformed = 0u64;
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let (read, complete) = read_line_capped(&mut input, &mut buf, MAX_LINE_BYTES)?;
        if read == 0 {
            break;
        }
        line_no += 1;
        if !complete {
            malformed += 1;
            writeln!(
                errors,
                "line {line_no}: longer than {MAX_LINE_BYTES} bytes, skipped"
            )?;
            continue;
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim(),
            Err(e) => {
                malformed += 1;
                writeln!(errors, "line {line_no}: not UTF-8 ({e})")?;
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        match parse(text) {
            Ok(ticket) => {
                let tags = ticket.tags.unwrap_or_default();
                let c = classifier.classify(
                    ticket.subject.as_deref().unwrap_or(""),
                    ticket.description.as_deref().unwrap_or(""),
                    &tags,
                );
                let verdict = Verdict {
                    id: &ticket.id,
                    category: c.category.as_str(),
                    reasons: &c.reasons,
                };
                serde_json::to_writer(&mut output, &verdict)?;
                output.write_all(b"\n")?;
                output.flush()?;
            }
            Err(reason) => {
                malformed += 1;
                writeln!(errors, "{}: {reason}", locate(text, line_no))?;
            }
        }
    }
    output.flush()?;
    errors.flush()?;
    Ok(malformed)
}

fn parse(text: &str) -> Result<Ticket, String> {
    let ticket: Ticket = serde_json::from_str(text).map_err(|e| format!("not a ticket: {e}"))?;
    match &ticket.id {
        Value::String(_) | Value::Number(_) => Ok(ticket),
        other => Err(format!("\"id\" must be a string or a number, got {other}")),
    }
}

/// "line 7 (id \"t-9\")" when the id can still be read from a bad line, else "line 7".
fn locate(text: &str, line_no: u64) -> String {
    let id = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .filter(|id| id.is_string() || id.is_number());
    match id {
        Some(id) => format!("line {line_no} (id {id})"),
        None => format!("line {line_no}"),
    }
}

/// Appends one line (without its '\n') to `buf`, keeping at most `cap` bytes; the rest of an
/// over-long line is consumed and dropped. Returns (bytes read, line fit within `cap`).
fn read_line_capped(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<(usize, bool)> {
    let mut read = 0;
    let mut fits = true;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((read, fits));
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if fits && buf.len() + chunk.len() <= cap {
            buf.extend_from_slice(chunk);
        } else {
            fits = false;
            buf.clear();
        }
        let used = done.unwrap_or(chunk.len());
        input.consume(used);
        read += used;
        if done.is_some() {
            return Ok((read, fits));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(input: &str) -> (String, String, u64) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let bad = run(&Classifier::builtin(), input.as_bytes(), &mut out, &mut err).unwrap();
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
            bad,
        )
    }

    #[test]
    fn answers_each_line_in_order_and_echoes_ids_as_given() {
        let input = concat!(
            r#"{"id": 17, "subject": "Lost my phone", "description": "2FA codes gone, I can't log in.", "tags": [], "extra": true}"#,
            "\n\n",
            r#"{"id": "t-2", "subject": "Invoice", "description": "Please resend invoice 42."}"#,
            "\n"
        );
        let (out, err, bad) = run_on(input);
        assert_eq!((bad, err.as_str()), (0, ""));
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["id"], 17);
        assert_eq!(lines[0]["category"], "account_access");
        assert!(!lines[0]["reasons"].as_array().unwrap().is_empty());
        assert_eq!(lines[1]["id"], "t-2");
        assert_eq!(lines[1]["category"], "other");
    }

    #[test]
    fn malformed_lines_are_reported_and_counted_and_others_still_answered() {
        let input = concat!(
            "{not json\n",
            r#"{"id": "a", "subject": "s", "description": "d", "tags": "not-a-list"}"#,
            "\n",
            r#"{"subject": "no id"}"#,
            "\n",
            r#"{"id": "ok", "subject": "Delete project", "description": "Please delete gitlab.com/a/b, the settings page errors."}"#,
            "\n",
            r#"{"id": null, "subject": "x"}"#,
        );
        let (out, err, bad) = run_on(input);
        assert_eq!(bad, 4, "{err}");
        assert_eq!(out.lines().count(), 1);
        assert!(out.contains(r#""id":"ok""#));
        assert!(out.contains("project_group_change"));
        let err_lines: Vec<&str> = err.lines().collect();
        assert!(err_lines[0].starts_with("line 1:"), "{err}");
        assert!(err_lines[1].starts_with("line 2 (id \"a\")"), "{err}");
        assert!(err_lines[2].starts_with("line 3:"), "{err}");
        assert!(
            err_lines[3].contains("must be a string or a number"),
            "{err}"
        );
    }

    #[test]
    fn an_overlong_line_is_skipped_without_losing_the_next_one() {
        let mut input = Vec::new();
        let big = "x".repeat(100);
        let mut cursor = std::io::Cursor::new(format!("{big}\nshort\n").into_bytes());
        let (n, fits) = read_line_capped(&mut cursor, &mut input, 10).unwrap();
        assert_eq!((n, fits), (101, false));
        input.clear();
        let (n, fits) = read_line_capped(&mut cursor, &mut input, 10).unwrap();
        assert_eq!((n, fits, input.as_slice()), (6, true, &b"short"[..]));
    }
}
