//! `onbehalf consent`: judges reply cases given as JSON Lines, one verdict line per case.
//!
//! Input is read one line at a time so that input of any size runs in constant memory.
use crate::ingest::zendesk::comment_flag;
use crate::workflow::consent::{Asked, judge_reply};
use crate::workflow::{Comment, CommentFlag};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{BufRead, Write};

/// Why a line could not be judged.
#[derive(Debug, thiserror::Error)]
enum LineError {
    #[error("not UTF-8")]
    Encoding,
    #[error("invalid case: {0}")]
    Json(#[from] serde_json::Error),
    #[error("`{0}` must be a string or a number")]
    BadId(&'static str),
}

#[derive(Deserialize)]
struct Case {
    id: Value,
    requester_id: Value,
    request: String,
    /// The agent's whole comment that asked the question.
    #[serde(default)]
    request_full: Option<String>,
    /// The requester the question was asked of (defaults to `requester_id`).
    #[serde(default)]
    asked_of: Option<Value>,
    reply: Reply,
}

#[derive(Deserialize)]
struct Reply {
    author_id: Value,
    public: bool,
    body: String,
    /// Zendesk's `via` object (`{"channel": "email"}`) or the channel name alone.
    #[serde(default)]
    via: Option<Value>,
    /// Zendesk's `metadata.flags` numbers, or the flag names.
    #[serde(default)]
    flags: Vec<Value>,
}

#[derive(Serialize)]
struct Output<'a> {
    id: &'a Value,
    verdict: &'a str,
    reasons: &'a [String],
}

/// Reads reply cases from `input`, writes verdict lines to `output` and error lines to `errors`.
/// Returns the number of malformed lines (the caller exits non-zero when it is not 0).
pub fn run(
    mut input: impl BufRead,
    mut output: impl Write,
    mut errors: impl Write,
) -> std::io::Result<u64> {
    let mut malformed = 0;
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match answer(&buf) {
            // A write failure is the caller's (broken pipe, full disk), not the line's.
            Ok(encoded) => output.write_all(&encoded)?,
            Err(err) => {
                malformed += 1;
                let id = id_of(&buf)
                    .map(|id| format!(" (id {id})"))
                    .unwrap_or_default();
                writeln!(errors, "line {line_no}{id}: {err}")?;
            }
        }
    }
    output.flush()?;
    Ok(malformed)
}

/// Judges one line; returns its verdict line.
fn answer(line: &[u8]) -> Result<Vec<u8>, LineError> {
    let text = std::str::from_utf8(line).map_err(|_| LineError::Encoding)?;
    let case: Case = serde_json::from_str(text)?;
    let requester = id_string(&case.requester_id).ok_or(LineError::BadId("requester_id"))?;
    let author = id_string(&case.reply.author_id).ok_or(LineError::BadId("reply.author_id"))?;
    let asked_of = match &case.asked_of {
        None | Some(Value::Null) => requester.clone(),
        Some(v) => id_string(v).ok_or(LineError::BadId("asked_of"))?,
    };
    let channel = match &case.reply.via {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(via)) => via.get("channel").and_then(id_string),
        _ => None,
    };
    let flags = case.reply.flags.iter().filter_map(flag).collect();
    let comment = Comment {
        id: String::new(),
        author_id: author,
        author_is_staff: false,
        public: case.reply.public,
        body: case.reply.body,
        channel,
        flags,
    };
    // The question was asked of one requester; a reply counts only when that person is still
    // the requester and wrote it.
    let bound = if asked_of == requester {
        asked_of
    } else {
        String::new()
    };
    let asked = Asked {
        full_comment: case.request_full.as_deref(),
        ..Asked::question(&case.request, &bound)
    };
    let judgment = judge_reply(&asked, &comment);
    let out = Output {
        id: &case.id,
        verdict: judgment.verdict.as_str(),
        reasons: &judgment.reasons,
    };
    let mut encoded = serde_json::to_vec(&out)?;
    encoded.push(b'\n');
    Ok(encoded)
}

/// Ids arrive as numbers or strings; both name the same person.
fn id_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn flag(value: &Value) -> Option<CommentFlag> {
    match value {
        Value::Number(n) => n.as_u64().and_then(comment_flag),
        Value::String(s) => CommentFlag::parse(s),
        _ => None,
    }
}

/// The id of a malformed line, when it can still be read, for the error message.
fn id_of(line: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: Value,
    }
    let parsed: IdOnly = serde_json::from_slice(line).ok()?;
    Some(parsed.id.to_string())
}
