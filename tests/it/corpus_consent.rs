//! Runs `onbehalf consent` over the labelled reply corpora (tests/corpus/README.md): not a
//! single wrong `granted` on any split, accuracy floors on the tuned ones, totals only for the
//! blind one.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run_consent(input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_onbehalf"))
        .arg("consent")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let owned = input.to_vec();
    // Write from another thread so a full stdout pipe cannot deadlock the test.
    let writer = std::thread::spawn(move || stdin.write_all(&owned));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    output
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The cases of some corpus files (glob-free: every `.jsonl` in a folder, or one file).
fn corpus(paths: &[&str]) -> Vec<u8> {
    let mut input = Vec::new();
    for path in paths {
        let path = std::path::Path::new(path);
        let mut files: Vec<std::path::PathBuf> = if path.is_dir() {
            std::fs::read_dir(path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        } else {
            vec![path.to_path_buf()]
        };
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            input.extend(&bytes);
            if !bytes.ends_with(b"\n") {
                input.push(b'\n');
            }
        }
    }
    input
}

/// Figures of one split: accuracy, recall by expected verdict, false grants (ids), misses.
struct Figures {
    cases: usize,
    accuracy: f64,
    recall: BTreeMap<String, (usize, usize)>,
    false_grants: Vec<String>,
    misses: Vec<String>,
}

fn judge_split(input: &[u8]) -> Figures {
    let cases = lines(input);
    let output = run_consent(input);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers = lines(&output.stdout);
    assert_eq!(answers.len(), cases.len());
    let mut right = 0;
    let mut recall: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut false_grants = Vec::new();
    let mut misses = Vec::new();
    for (case, answer) in cases.iter().zip(&answers) {
        assert_eq!(case["id"], answer["id"], "answers come back in input order");
        let expected = case["expected"].as_str().unwrap();
        let got = answer["verdict"].as_str().unwrap();
        let entry = recall.entry(expected.into()).or_default();
        entry.1 += 1;
        if expected == got {
            right += 1;
            entry.0 += 1;
            continue;
        }
        if got == "granted" {
            false_grants.push(case["id"].to_string());
        }
        misses.push(format!(
            "{} expected {expected}, got {got} {}",
            case["id"], answer["reasons"]
        ));
    }
    Figures {
        cases: cases.len(),
        accuracy: right as f64 / cases.len().max(1) as f64,
        recall,
        false_grants,
        misses,
    }
}

fn totals(split: &str, f: &Figures) -> String {
    let recall: Vec<String> = f
        .recall
        .iter()
        .map(|(label, (right, all))| format!("{label} {:.3}", *right as f64 / *all as f64))
        .collect();
    format!(
        "{split}: {} cases, accuracy {:.3}, recall {}, false grants {}",
        f.cases,
        f.accuracy,
        recall.join(", "),
        f.false_grants.len()
    )
}

/// The splits the rules are tuned on: not one wrong `granted`, and accuracy floors a little
/// under today's figures (team 0.974, authored 0.899 over CA–CM and DA–DQ: CH, CI, CJ, CL, DA,
/// DE and DN–DQ, 650 replies written on purpose with many true grants in long e-mails, were
/// added at 0.57–0.80, before tuning), so that a change that loses ground fails. Invisible,
/// look-alike or combining-mark characters never grant: such replies are labelled `unclear` by
/// policy (tests/corpus/README.md).
#[test]
fn tuned_splits_accuracy_and_no_false_grant() {
    for (split, paths, floor) in [
        (
            "team",
            &[
                "tests/corpus/replies.jsonl",
                "tests/corpus/dev_consents.jsonl",
            ][..],
            0.965,
        ),
        ("authored", &["tests/corpus/authored/consent"][..], 0.89),
    ] {
        let figures = judge_split(&corpus(paths));
        println!("{}", totals(split, &figures));
        for miss in &figures.misses {
            println!("  {miss}");
        }
        assert!(
            figures.false_grants.is_empty(),
            "{split}: false grants {:?}",
            figures.false_grants
        );
        assert!(
            figures.accuracy >= floor,
            "{split}: accuracy {:.3} below {floor}",
            figures.accuracy
        );
    }
}

/// The blind splits (tests/corpus/README.md): nobody tunes on them, so only their totals are
/// printed, never a case. They must hold the one figure that is not negotiable, and accuracy
/// floors a little under today's totals (blind 0.912, blind 2 0.908, blind 3 0.946, blind 4
/// 0.854, blind 5 0.831, blind 6 0.862, blind 7 0.815, blind 8 0.800, blind 9 0.831, blind 10
/// 0.769, blind 11 0.800, blind 12 0.731), so that a change that loses ground on unseen replies fails without
/// saying which.
#[test]
fn blind_splits_have_no_false_grant() {
    for (split, path, floor) in [
        ("blind", "tests/corpus/blind/consent", 0.90),
        ("blind2", "tests/corpus/blind2/consent", 0.90),
        ("blind3", "tests/corpus/blind3/consent", 0.93),
        ("blind4", "tests/corpus/blind4/consent", 0.84),
        ("blind5", "tests/corpus/blind5/consent", 0.82),
        ("blind6", "tests/corpus/blind6/consent", 0.85),
        ("blind7", "tests/corpus/blind7/consent", 0.81),
        ("blind8", "tests/corpus/blind8/consent", 0.79),
        ("blind9", "tests/corpus/blind9/consent", 0.82),
        ("blind10", "tests/corpus/blind10/consent", 0.76),
        ("blind11", "tests/corpus/blind11/consent", 0.78),
        ("blind12", "tests/corpus/blind12/consent", 0.72),
    ] {
        let figures = judge_split(&corpus(&[path]));
        println!("{}", totals(split, &figures));
        assert!(
            figures.false_grants.is_empty(),
            "{split}: {} false grants (ids withheld: the split is blind)",
            figures.false_grants.len()
        );
        assert!(
            figures.accuracy >= floor,
            "{split}: accuracy {:.3} below {floor}",
            figures.accuracy
        );
    }
}

/// The CLI reads the agent's whole comment, the requester it was asked of and the helpdesk's
/// flags on the reply.
#[test]
fn whole_comment_binding_and_flags_are_read() {
    let q =
        "Could you please provide permission for staff to clear the stuck import for that project?";
    let full = format!("Hi,\n\nIs the affected project `prism/data-import`? {q}\n\nThanks");
    let cases = [
        serde_json::json!({"id": 1, "requester_id": 7, "request": q, "reply": {"author_id": 7, "public": true, "body": "Yes"}}),
        serde_json::json!({"id": 2, "requester_id": 7, "request": q, "request_full": full, "reply": {"author_id": 7, "public": true, "body": "Yes"}}),
        serde_json::json!({"id": 3, "requester_id": 7, "asked_of": 6, "request": q, "reply": {"author_id": 7, "public": true, "body": "Yes"}}),
        serde_json::json!({"id": 4, "requester_id": 7, "request": q, "reply": {"author_id": 7, "public": true, "body": "Yes", "via": {"channel": "email"}, "flags": [11]}}),
        serde_json::json!({"id": 5, "requester_id": 7, "request": q, "reply": {"author_id": 7, "public": true, "body": "Yes, go ahead.\n\nThanks\nP.S. only the staging project"}}),
    ];
    let input: String = cases.iter().map(|c| format!("{c}\n")).collect();
    let output = run_consent(input.as_bytes());
    assert!(output.status.success());
    let answers = lines(&output.stdout);
    let verdicts: Vec<&str> = answers
        .iter()
        .map(|a| a["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        ["granted", "unclear", "ignored", "unclear", "unclear"],
        "{answers:?}"
    );
    assert!(
        answers[1]["reasons"]
            .to_string()
            .contains("more than one thing"),
        "{}",
        answers[1]["reasons"]
    );
}

#[test]
fn malformed_lines_are_reported_and_the_rest_answered() {
    let input = concat!(
        r#"{"id": 1, "requester_id": 7, "request": "Could you please confirm that you would like us to delete `a/b`?", "reply": {"author_id": 7, "public": true, "body": "Yes, go ahead."}}"#,
        "\n{not json\n",
        r#"{"id": "x-3", "requester_id": 7, "request": "q", "reply": {"author_id": 7}}"#,
        "\n",
        r#"{"id": "x-4", "requester_id": "7", "request": "Could you please confirm that you would like us to delete `a/b`?", "reply": {"author_id": 8, "public": true, "body": "Yes"}}"#,
        "\n"
    );
    let output = run_consent(input.as_bytes());
    assert!(!output.status.success());
    let answers = lines(&output.stdout);
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(answers[0]["verdict"], "granted");
    assert_eq!(answers[1]["id"], "x-4");
    assert_eq!(answers[1]["verdict"], "ignored");
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(errors.contains("line 2"), "{errors}");
    assert!(errors.contains("\"x-3\""), "{errors}");
}
