//! A mutation fuzzer on the stable toolchain, for what reads outside input: the Zendesk event
//! parser, the webhook signature headers, the consent judge and the reply text clean-up.
//!
//! `cargo run --example fuzz -- [--seconds N] [--seed S] [TARGET…]` runs each target for N
//! seconds (default 10): inputs start from seeds (the shipped example payloads, the reply
//! corpus) and are mutated byte- and token-wise; an input whose outcome is new (an error code,
//! a verdict and its reasons, the shape of a cut) joins the corpus, a crude stand-in for
//! coverage feedback. A panic or a broken invariant is a crash: its input is written to
//! `target/fuzz-crashes/` and the run exits 1. `scripts/fuzz` is the usual entry point.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue};
use onbehalf::config::Secret;
use onbehalf::helpdesk::zendesk::payload::{parse_event, parse_header};
use onbehalf::helpdesk::zendesk::signature::{
    SignatureScheme, ZENDESK_SIGNATURE, ZENDESK_TIMESTAMP, ZendeskSignature,
};
use onbehalf::workflow::consent::{Asked, judge_reply};
use onbehalf::workflow::{Comment, text};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::OffsetDateTime;

/// What one execution found: `Ok(outcome)` (a short summary used as feedback), or a broken
/// invariant.
type Outcome = Result<u64, String>;

struct Target {
    name: &'static str,
    seeds: fn() -> Vec<Vec<u8>>,
    dictionary: &'static [&'static str],
    run: fn(&[u8]) -> Outcome,
}

const TARGETS: [Target; 5] = [
    Target {
        name: "event",
        seeds: event_seeds,
        dictionary: JSON_TOKENS,
        run: run_event,
    },
    Target {
        name: "signature",
        seeds: signature_seeds,
        dictionary: SIGNATURE_TOKENS,
        run: run_signature,
    },
    Target {
        name: "consent",
        seeds: reply_seeds,
        dictionary: TEXT_TOKENS,
        run: run_consent,
    },
    Target {
        name: "text",
        seeds: reply_seeds,
        dictionary: TEXT_TOKENS,
        run: run_text,
    },
    Target {
        name: "zammad",
        seeds: zammad_seeds,
        dictionary: ZAMMAD_TOKENS,
        run: run_zammad,
    },
];

/// Zammad's payload keys and the HTML an article body holds.
const ZAMMAD_TOKENS: &[&str] = &[
    "\"ticket\":",
    "\"article\":",
    "\"customer_id\":",
    "\"created_by_id\":",
    "\"sender\":\"Customer\"",
    "\"internal\":false",
    "\"content_type\":\"text/html\"",
    "\"article_ids\":[",
    "<blockquote>",
    "</blockquote>",
    "<br>",
    "<!--",
    "-->",
    "<script>",
    "&amp;",
    "&#x1F44D;",
    "&#99999999;",
    "&",
    "<",
    ">",
];

fn zammad_seeds() -> Vec<Vec<u8>> {
    vec![
        br#"{"ticket":{"id":31,"title":"Locked out","customer_id":7,"state":"open","tags":["2fa"],"article_ids":[101,102]},"article":{"id":102,"sender":"Customer","internal":false,"created_by_id":7,"type":"email","content_type":"text/html","body":"<div>Yes, please go ahead &amp; thanks</div><blockquote type="cite"><p>Could you please confirm?</p></blockquote>","created_at":"2026-03-02T10:00:00.000Z"}}"#.to_vec(),
        br#"{"ticket":{"id":"31","state":"closed","article_count":1},"article":null}"#.to_vec(),
        b"{}".to_vec(),
    ]
}

/// Zammad's parser: never panics; the receiver's check (`ticket_id`) accepts exactly what the
/// worker's parse accepts; HTML as text keeps no tag.
fn run_zammad(input: &[u8]) -> Outcome {
    use onbehalf::helpdesk::zammad::{html, payload};
    let received = payload::ticket_id(input);
    let parsed = payload::parse_event(input, "zammad:fuzz", OffsetDateTime::UNIX_EPOCH);
    if received.is_ok() != parsed.is_ok() {
        return Err(format!(
            "ticket_id ok={} but parse_event ok={}",
            received.is_ok(),
            parsed.is_ok()
        ));
    }
    // Every `<` opens a tag, so without entities (`&lt;` is a written `<`) none is left.
    let html_input = String::from_utf8_lossy(input);
    let text = html::to_text(&html_input);
    if !html_input.contains('&') && text.contains('<') {
        return Err(format!("a tag survived as text: {text:?}"));
    }
    Ok(match parsed {
        Ok(event) => hash_of((
            std::mem::discriminant(&event.kind),
            event.ticket.requester_id.is_empty(),
            event.ticket.status.len().min(8),
        )),
        Err(e) => hash_of(e.code()),
    })
}

const JSON_TOKENS: &[&str] = &[
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e999",
    "18446744073709551616",
    "\"\"",
    "{}",
    "[]",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"id\":",
    "\"type\":",
    "\"detail\":",
    "\"event\":",
    "\"comment\":",
    "\"ticket_id\":",
    "\"zen:event-type:ticket.created\"",
    "\"zen:event-type:ticket.comment_added\"",
    "\"zen:event-type:ticket.merged\"",
    "\"2022-11-06\"",
    "\"2025-01-08T10:00:00Z\"",
    "[[[[[[[[[[[[[[[[",
    "}}}}}}}}",
    ",",
    ":",
];

const SIGNATURE_TOKENS: &[&str] = &[
    "2021-03-25T05:09:27Z",
    "2021-03-25T05:09:27+14:00",
    "9999-12-31T23:59:59Z",
    "=",
    "==",
    "+",
    "/",
    " ",
    "\t",
    "\u{00e9}",
    "-",
    "T",
    "Z",
    ".999999999",
];

const TEXT_TOKENS: &[&str] = &[
    "yes",
    "Yes, please go ahead.",
    "no",
    "don't",
    "not",
    "?",
    "!",
    ".",
    "\n",
    "\r\n",
    "> ",
    ">> ",
    "On Mon, 6 Jan 2025 at 10:00, Agent <a@b.c> wrote:",
    "-- \n",
    "Sent from my iPhone",
    "##- Please type your reply above this line -##",
    "Thanks,\n",
    "\u{0301}",
    "\u{200d}",
    "\u{202e}",
    "\u{fe0f}",
    "\u{1f44d}",
    "네",
    "はい",
    "是的",
    "oui",
    "sì",
    "ja",
    "\u{0435}",
    "<p>",
    "</p>",
    "<br>",
    "&nbsp;",
    "\u{feff}",
    "\u{0000}",
];

fn main() {
    let mut seconds = 10u64;
    let mut seed: u64 = rand::random();
    let mut chosen = vec![];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = number(args.next(), "--seconds"),
            "--seed" => seed = number(args.next(), "--seed"),
            name if TARGETS.iter().any(|t| t.name == name) => chosen.push(name.to_string()),
            other => {
                eprintln!(
                    "fuzz: unknown argument {other:?}; targets: {}",
                    TARGETS.map(|t| t.name).join(", ")
                );
                std::process::exit(2);
            }
        }
    }
    // Panics are counted and reported here, not printed by the default hook each time.
    std::panic::set_hook(Box::new(|_| {}));
    let crash_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-crashes");
    let mut crashed = false;
    println!("seed {seed}, {seconds}s per target");
    for target in TARGETS
        .iter()
        .filter(|t| chosen.is_empty() || chosen.iter().any(|c| c == t.name))
    {
        let report = fuzz(target, Duration::from_secs(seconds), seed, &crash_dir);
        println!(
            "{:<10} {:>10} executions ({:>8.0}/s), corpus {:>5}, crashes {}",
            target.name,
            report.executions,
            report.executions as f64 / report.elapsed.as_secs_f64(),
            report.corpus,
            report.crashes.len()
        );
        for (path, why) in &report.crashes {
            println!("  crash: {why} (input: {})", path.display());
        }
        crashed |= !report.crashes.is_empty();
    }
    std::process::exit(i32::from(crashed));
}

fn number(value: Option<String>, flag: &str) -> u64 {
    value.and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        eprintln!("fuzz: {flag} needs a number");
        std::process::exit(2)
    })
}

struct Report {
    executions: u64,
    elapsed: Duration,
    corpus: usize,
    crashes: Vec<(PathBuf, String)>,
}

/// The most inputs kept, and the most distinct crashes written, per target.
const MAX_CORPUS: usize = 20_000;
const MAX_CRASHES: usize = 20;
/// Inputs grow no larger than this (the receiver's body limit is 256 KiB).
const MAX_INPUT: usize = 64 * 1024;

fn fuzz(target: &Target, budget: Duration, seed: u64, crash_dir: &Path) -> Report {
    let mut rng = StdRng::seed_from_u64(seed ^ hash(target.name.as_bytes()));
    let mut corpus = (target.seeds)();
    let mut seen_outcomes = HashSet::new();
    let mut seen_crashes = HashSet::new();
    let mut crashes = vec![];
    let mut executions = 0u64;
    let started = Instant::now();
    // Seeds first, as they are; then mutants of the corpus until the budget is spent.
    let mut pending: Vec<Vec<u8>> = corpus.clone();
    while started.elapsed() < budget {
        let input = pending.pop().unwrap_or_else(|| {
            let parent = &corpus[rng.random_range(0..corpus.len())];
            let other = &corpus[rng.random_range(0..corpus.len())];
            mutate(parent, other, target.dictionary, &mut rng)
        });
        executions += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(&input)))
            .unwrap_or_else(|panic| Err(format!("panic: {}", panic_text(&panic))));
        match outcome {
            Ok(summary) => {
                if seen_outcomes.insert(summary) && corpus.len() < MAX_CORPUS {
                    corpus.push(input);
                }
            }
            Err(why) => {
                let key = hash(why.as_bytes());
                if seen_crashes.insert(key) && crashes.len() < MAX_CRASHES {
                    let _ = std::fs::create_dir_all(crash_dir);
                    let path = crash_dir.join(format!("{}-{key:016x}", target.name));
                    let _ = std::fs::write(&path, &input);
                    crashes.push((path, why));
                }
            }
        }
    }
    Report {
        executions,
        elapsed: started.elapsed(),
        corpus: corpus.len(),
        crashes,
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "non-text panic".into())
}

fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

fn hash_of(value: impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// One to four edits: bit flips, byte and token insertions, deletions, duplications, splices
/// with another corpus entry, truncation.
fn mutate(parent: &[u8], other: &[u8], dictionary: &[&str], rng: &mut StdRng) -> Vec<u8> {
    let mut data = parent.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..=data.len());
        match rng.random_range(0..8) {
            0 if !data.is_empty() => {
                let i = rng.random_range(0..data.len());
                data[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !data.is_empty() => {
                let i = rng.random_range(0..data.len());
                data[i] = rng.random();
            }
            2 => {
                let token = dictionary[rng.random_range(0..dictionary.len())];
                data.splice(at..at, token.bytes());
            }
            3 if at < data.len() => {
                let end = (at + rng.random_range(1..=16)).min(data.len());
                data.drain(at..end);
            }
            4 if at < data.len() => {
                let end = (at + rng.random_range(1..=64)).min(data.len());
                let copy = data[at..end].to_vec();
                data.splice(at..at, copy);
            }
            5 if !other.is_empty() => {
                let from = rng.random_range(0..other.len());
                let to = (from + rng.random_range(1..=256)).min(other.len());
                data.splice(at..at, other[from..to].iter().copied());
            }
            6 => data.truncate(at),
            _ => {
                let bytes: Vec<u8> = (0..rng.random_range(1..=8)).map(|_| rng.random()).collect();
                data.splice(at..at, bytes);
            }
        }
    }
    data.truncate(MAX_INPUT);
    data
}

fn repo_file(path: &str) -> Option<String> {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).ok()
}

fn event_seeds() -> Vec<Vec<u8>> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/zendesk");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.ok()?.path()).ok())
        .collect();
    seeds.push(b"{}".to_vec());
    seeds
}

/// Replies and questions of the consent corpus, as raw text.
fn reply_seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![];
    for line in repo_file("tests/corpus/replies.jsonl")
        .unwrap_or_default()
        .lines()
    {
        if let Ok(case) = serde_json::from_str::<serde_json::Value>(line) {
            let request = case["request"].as_str().unwrap_or_default();
            let body = case["reply"]["body"].as_str().unwrap_or_default();
            seeds.push(format!("{request}\u{0}{body}").into_bytes());
        }
    }
    if seeds.is_empty() {
        seeds.push(b"Do you want us to disable 2FA?\0Yes please".to_vec());
    }
    seeds
}

fn signature_seeds() -> Vec<Vec<u8>> {
    let ts = "2021-03-25T05:09:27Z";
    let body = r#"{"ticket_id":"123"}"#;
    let sig = ZendeskSignature::sign(SIGNATURE_SECRET, ts, body.as_bytes());
    vec![
        format!("{sig}\n{ts}\n{body}").into_bytes(),
        format!("\n{ts}\n").into_bytes(),
        b"not base64!\nyesterday\n".to_vec(),
    ]
}

const SIGNATURE_SECRET: &str = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";

/// The parser: never panics; whatever the receiver's header check accepts, the worker's full
/// parse accepts too (and the other way round).
fn run_event(input: &[u8]) -> Outcome {
    let event = parse_event(input, OffsetDateTime::UNIX_EPOCH);
    let header = parse_header(input);
    if event.is_ok() != header.is_ok() {
        return Err(format!(
            "parse_event ok={} but parse_header ok={}",
            event.is_ok(),
            header.is_ok()
        ));
    }
    Ok(match (&event, &header) {
        // Unhandled types are one outcome: their names are whatever the mutation made.
        (Ok(event), Ok(header)) => hash_of((
            onbehalf::helpdesk::zendesk::payload::is_handled(&header.event_type)
                .then_some(header.event_type.as_str()),
            event.ticket.id.as_str().is_empty(),
            event.ticket.tags.len().min(4),
        )),
        (Err(e), _) => hash_of(e.code()),
        _ => 0,
    })
}

/// Input: signature, timestamp and body separated by newlines. Never panics; a request
/// signed with the secret at its own timestamp passes, and one changed byte of the body
/// makes it fail.
fn run_signature(input: &[u8]) -> Outcome {
    let mut parts = input.splitn(3, |b| *b == b'\n');
    let signature = parts.next().unwrap_or_default();
    let timestamp = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let scheme = ZendeskSignature::new(
        vec![Secret::new(SIGNATURE_SECRET)],
        Duration::from_secs(300),
    );
    let now = OffsetDateTime::parse(
        "2021-03-25T05:09:27Z",
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|e| e.to_string())?;
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (ZENDESK_SIGNATURE, signature),
        (ZENDESK_TIMESTAMP, timestamp),
    ] {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(name, value);
        }
    }
    let as_given = scheme.verify(&headers, body, now);
    let Ok(ts) = std::str::from_utf8(timestamp) else {
        return Ok(hash_of(format!("{as_given:?}").len()));
    };
    let ts = ts.trim();
    let Ok(ts_value) = HeaderValue::from_str(ts) else {
        return Ok(hash_of(format!("{as_given:?}").len()));
    };
    let signed = ZendeskSignature::sign(SIGNATURE_SECRET, ts, body);
    let mut good = HeaderMap::new();
    good.insert(ZENDESK_TIMESTAMP, ts_value);
    good.insert(
        ZENDESK_SIGNATURE,
        HeaderValue::from_str(&signed).map_err(|e| e.to_string())?,
    );
    let honest = scheme.verify(&good, body, now);
    let in_window = OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339)
        .is_ok_and(|t| (now - t).unsigned_abs() <= Duration::from_secs(300));
    if !ts.is_empty() && in_window && honest.is_err() {
        return Err(format!(
            "a correct signature at {ts:?} was refused: {honest:?}"
        ));
    }
    if !body.is_empty() {
        let mut tampered = body.to_vec();
        tampered[0] ^= 1;
        if scheme.verify(&good, &tampered, now).is_ok() {
            return Err("a tampered body passed".into());
        }
    }
    Ok(hash_of((
        as_given.as_ref().err().map(|e| format!("{e:?}").len()),
        honest.is_ok(),
    )))
}

/// Input: the question and the reply separated by a NUL. Never panics, is deterministic, and
/// a reply from anyone but the requester or an internal note is ignored.
fn run_consent(input: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(input);
    let (question, body) = text.split_once('\0').unwrap_or(("", &text));
    let reply = |author: &str, public: bool| Comment {
        id: "1".into(),
        author_id: author.into(),
        author_is_staff: false,
        public,
        body: body.to_string(),
        channel: None,
        flags: vec![],
    };
    let asked = Asked::question(question, "4001");
    let judged = judge_reply(&asked, &reply("4001", true));
    let again = judge_reply(&asked, &reply("4001", true));
    if judged != again {
        return Err("the same reply was judged twice differently".into());
    }
    for (author, public) in [("4002", true), ("4001", false)] {
        let other = judge_reply(&asked, &reply(author, public));
        if other.verdict != onbehalf::workflow::ConsentVerdict::Ignored {
            return Err(format!(
                "a reply by {author} (public: {public}) was {:?}",
                other.verdict
            ));
        }
    }
    if !body.contains(judged.quote.as_str()) {
        return Err("the quote is not the reply's own text".into());
    }
    Ok(hash_of((judged.verdict.as_str(), &judged.reasons)))
}

/// The clean-up: never panics; the quote is a piece of the body; a body without quoted lines
/// is unchanged by removing them.
fn run_text(input: &[u8]) -> Outcome {
    let body = String::from_utf8_lossy(input);
    let extracted = text::extract(&body);
    let range = body.as_ptr() as usize..=body.as_ptr() as usize + body.len();
    let quote = extracted.quote;
    // An empty quote may be any empty string; a non-empty one is borrowed from the body.
    if !quote.is_empty() && !range.contains(&(quote.as_ptr() as usize))
        || !quote.is_empty() && !range.contains(&(quote.as_ptr() as usize + quote.len()))
    {
        return Err("the quote does not lie within the body".into());
    }
    let unquoted = text::without_quoted_lines(&body);
    if unquoted.len() > body.len() {
        return Err("removing quoted lines made the text longer".into());
    }
    let normalised = text::nfkc(&body);
    Ok(hash_of((
        extracted.skipped_lines.min(8),
        quote.len() == body.len(),
        quote.is_empty(),
        extracted.judged.len().min(64) / 8,
        normalised.len() == body.len(),
    )))
}
