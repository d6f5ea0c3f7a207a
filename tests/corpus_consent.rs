//! Runs `onbehalf consent` over the labelled reply corpora: accuracy at least 0.90 and not a
//! single wrong `granted`.

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

#[test]
fn corpus_accuracy_and_no_false_grant() {
    let mut input = Vec::new();
    for file in [
        "tests/corpus/replies.jsonl",
        "tests/corpus/dev_consents.jsonl",
    ] {
        input.extend(std::fs::read(file).unwrap());
    }
    let cases = lines(&input);
    let output = run_consent(&input);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers = lines(&output.stdout);
    assert_eq!(answers.len(), cases.len());

    let mut right = 0;
    let mut false_grants = Vec::new();
    let mut wrong = Vec::new();
    // expected -> got -> count
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (case, answer) in cases.iter().zip(&answers) {
        assert_eq!(case["id"], answer["id"], "answers come back in input order");
        let expected = case["expected"].as_str().unwrap();
        let got = answer["verdict"].as_str().unwrap();
        *confusion
            .entry(expected.into())
            .or_default()
            .entry(got.into())
            .or_default() += 1;
        if expected == got {
            right += 1;
            continue;
        }
        if got == "granted" {
            false_grants.push(case["id"].to_string());
        }
        wrong.push(format!(
            "{} expected {expected}, got {got} {}: {:?}",
            case["id"], answer["reasons"], case["reply"]["body"]
        ));
    }
    let accuracy = right as f64 / cases.len() as f64;
    println!(
        "consent corpus: {right}/{} = {accuracy:.3}, false grants {}",
        cases.len(),
        false_grants.len()
    );
    println!("expected -> got: {confusion:?}");
    for w in &wrong {
        println!("  {w}");
    }
    assert!(false_grants.is_empty(), "false grants: {false_grants:?}");
    assert!(accuracy >= 0.90, "accuracy {accuracy:.3} below 0.90");
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
