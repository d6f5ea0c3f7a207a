//! The dry-run tools as the README shows them: each example file in `examples/` gives the
//! outputs its lines' `expected` fields say, covers every category and verdict, and the tools'
//! `--help` names the fields and the vocabulary.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `onbehalf <tool>` on the example file; returns its input lines and output lines.
fn run_example(tool: &str, file: &str) -> (Vec<Value>, Vec<Value>) {
    let path = format!("{}/examples/{file}", env!("CARGO_MANIFEST_DIR"));
    let input = std::fs::read_to_string(&path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_onbehalf"))
        .arg(tool)
        .env_remove("ONBEHALF_CONFIG")
        .env_remove("ONBEHALF_RULES_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{tool} < {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parse = |text: &str| -> Vec<Value> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    (parse(&input), parse(&String::from_utf8_lossy(&out.stdout)))
}

/// Every output line answers its input line with the `expected` value; returns the values seen.
fn check_expected(inputs: &[Value], outputs: &[Value], field: &str) -> Vec<String> {
    assert_eq!(
        inputs.len(),
        outputs.len(),
        "one output line per input line"
    );
    inputs
        .iter()
        .zip(outputs)
        .map(|(input, output)| {
            assert_eq!(output["id"], input["id"], "output in input order");
            assert_eq!(output[field], input["expected"], "{input} gave {output}");
            assert!(
                output["reasons"].as_array().is_some_and(|r| !r.is_empty()),
                "{output} says why"
            );
            output[field].as_str().unwrap().to_string()
        })
        .collect()
}

fn help(tool: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_onbehalf"))
        .args([tool, "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_classify_example_gives_its_expected_categories_and_covers_each() {
    let (inputs, outputs) = run_example("classify", "classify.jsonl");
    let seen = check_expected(&inputs, &outputs, "category");
    let help = help("classify");
    for category in onbehalf::workflow::Category::ALL {
        assert!(
            seen.iter().any(|c| c == category.as_str()),
            "{category} has an example"
        );
        assert!(
            help.contains(&format!("  {category}\n")),
            "--help explains {category}: {help}"
        );
    }
    for field in ["subject", "description", "tags", "category", "reasons"] {
        assert!(
            help.contains(&format!("  {field} ")),
            "--help names {field}: {help}"
        );
    }
}

#[test]
fn the_consent_example_gives_its_expected_verdicts_and_covers_each_and_every_field() {
    let (inputs, outputs) = run_example("consent", "consent.jsonl");
    let seen = check_expected(&inputs, &outputs, "verdict");
    let help = help("consent");
    for verdict in ["granted", "declined", "unclear", "ignored"] {
        assert!(
            seen.iter().any(|v| v == verdict),
            "{verdict} has an example"
        );
        assert!(
            help.contains(&format!("  {verdict}\n")),
            "--help explains {verdict}: {help}"
        );
    }
    let has = |pointer: &str| inputs.iter().any(|i| i.pointer(pointer).is_some());
    for optional in ["/request_full", "/asked_of", "/reply/via", "/reply/flags"] {
        assert!(has(optional), "an example uses {optional}");
    }
    for field in [
        "requester_id",
        "request",
        "request_full",
        "asked_of",
        "reply.author_id",
        "reply.public",
        "reply.body",
        "reply.via",
        "reply.flags",
        "verdict",
        "reasons",
    ] {
        assert!(
            help.contains(&format!("  {field} ")),
            "--help names {field}: {help}"
        );
    }
}
