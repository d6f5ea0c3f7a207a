//! Runs the real `onbehalf classify` over the labelled corpora and holds it to the accuracy the
//! issue asks for; also checks the CLI's handling of malformed lines end to end.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

const CATEGORIES: [&str; 3] = ["project_group_change", "account_access", "other"];

struct Run {
    stdout: String,
    stderr: String,
    success: bool,
}

fn classify(input: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_onbehalf"))
        .arg("classify")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start onbehalf classify");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    // Feed from another thread so a full stdout pipe cannot deadlock us.
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    Run {
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
        success: out.status.success(),
    }
}

fn read(files: &[String]) -> Vec<Value> {
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn team() -> Vec<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/");
    read(&[
        format!("{dir}tickets.jsonl"),
        format!("{dir}dev_tickets.jsonl"),
    ])
}

/// The authored split (independent authors). The model is trained on it, so this holds the
/// shipped rules and model to what they reach on it; new writing is measured by
/// cross-validation (README) and the blind split.
fn authored() -> Vec<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/authored/tickets");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".jsonl"))
        .collect();
    files.sort();
    read(&files)
}

#[test]
fn corpus_accuracy_and_recall() {
    // Reached: 1.000 accuracy and recall on every class (the rules are tuned on it).
    holds_floors(&team(), 380, 0.99, 0.98);
}

#[test]
fn authored_accuracy_and_recall() {
    // Reached: accuracy 0.998, lowest recall 0.995 (`other`) on TA–TQ (1,710 tickets, all
    // trained on); what new writing gets is measured by cross-validation and the blind
    // splits (README).
    holds_floors(&authored(), 1300, 0.99, 0.98);
}

fn holds_floors(tickets: &[Value], at_least: usize, floor: f64, recall_floor: f64) {
    assert!(
        tickets.len() >= at_least,
        "corpus too small: {}",
        tickets.len()
    );
    // The CLI must ignore fields it does not know, such as the label.
    let input: String = tickets.iter().map(|t| format!("{t}\n")).collect();
    let run = classify(&input);
    assert!(run.success, "classify failed: {}", run.stderr);
    let verdicts: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(verdicts.len(), tickets.len(), "one verdict per ticket");

    let mut confusion: BTreeMap<(&str, String), usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (t, v) in tickets.iter().zip(&verdicts) {
        assert_eq!(t["id"], v["id"], "verdicts in input order");
        let expected = t["expected"].as_str().unwrap();
        let got = v["category"].as_str().unwrap().to_string();
        assert!(
            !v["reasons"].as_array().unwrap().is_empty(),
            "{} has no reasons",
            t["id"]
        );
        if got != expected {
            wrong.push(format!(
                "{} expected {expected} got {got}: {}",
                t["id"], v["reasons"]
            ));
        }
        *confusion.entry((expected, got)).or_default() += 1;
    }

    let total = tickets.len();
    let accuracy = (total - wrong.len()) as f64 / total as f64;
    let mut report = format!(
        "accuracy {accuracy:.3} ({}/{total})\nexpected \\ got:",
        total - wrong.len()
    );
    for c in CATEGORIES {
        report.push_str(&format!(" {c}"));
    }
    let mut recalls = Vec::new();
    for e in CATEGORIES {
        let row: Vec<usize> = CATEGORIES
            .iter()
            .map(|g| confusion.get(&(e, g.to_string())).copied().unwrap_or(0))
            .collect();
        let n: usize = row.iter().sum();
        let recall = row[CATEGORIES.iter().position(|c| *c == e).unwrap()] as f64 / n as f64;
        recalls.push((e, recall));
        report.push_str(&format!("\n{e:>22}: {row:?} recall {recall:.3}"));
    }
    report.push_str(&format!("\nmisclassified:\n{}", wrong.join("\n")));
    println!("{report}");
    assert!(accuracy >= floor, "{report}");
    for (c, r) in recalls {
        assert!(
            r >= recall_floor,
            "recall of {c} {r:.3} < {recall_floor}\n{report}"
        );
    }
}

#[test]
fn malformed_lines_are_reported_and_the_rest_answered() {
    let input = concat!(
        "{\"id\": \"good-1\", \"subject\": \"Lost phone\", \"description\": \"2FA device lost, can't log in\", \"tags\": []}\n",
        "this is not json\n",
        "\n",
        "{\"id\": 42, \"subject\": 7}\n",
        "{\"id\": \"good-2\", \"subject\": \"Invoice\", \"description\": \"Please send the invoice.\", \"tags\": [\"billing\"]}\n",
    );
    let run = classify(input);
    assert!(!run.success, "malformed lines must give a non-zero exit");
    let ids: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].clone())
        .collect();
    assert_eq!(ids, vec![Value::from("good-1"), Value::from("good-2")]);
    let errors: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(errors.len(), 2, "{}", run.stderr);
    assert!(errors[0].starts_with("line 2"), "{}", run.stderr);
    assert!(errors[1].starts_with("line 4 (id 42)"), "{}", run.stderr);
}
