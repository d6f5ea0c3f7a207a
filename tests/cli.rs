//! The command line as an operator meets it: help, configuration errors, masked config.

use std::process::{Command, Output};

fn onbehalf(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onbehalf"));
    cmd.args(args).env("ONBEHALF_DATA_DIR", dir.path()).env(
        "ONBEHALF_DATABASE_URL",
        format!("sqlite://{}/t.db", dir.path().display()),
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn help_teaches_the_tool() {
    let out = onbehalf(&["--help"], &[]);
    assert!(out.status.success());
    let help = text(&out);
    for sub in [
        "serve",
        "receive",
        "work",
        "classify",
        "consent",
        "audit",
        "migrate",
        "check-config",
        "dead-letters",
    ] {
        assert!(help.contains(sub), "--help lists {sub}: {help}");
    }
    for sub in [
        "serve",
        "receive",
        "work",
        "classify",
        "consent",
        "audit",
        "migrate",
        "check-config",
        "dead-letters",
    ] {
        assert!(
            onbehalf(&[sub, "--help"], &[]).status.success(),
            "{sub} --help"
        );
    }
}

#[test]
fn an_unknown_key_stops_start_up_naming_it() {
    let out = onbehalf(&["check-config"], &[("ONBEHALF_WORKRES", "4")]);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(msg.contains("workres") || msg.contains("WORKRES"), "{msg}");
}

#[test]
fn a_bad_value_stops_start_up_naming_the_key_and_the_expected_form() {
    let out = onbehalf(&["check-config"], &[("ONBEHALF_WORKERS", "many")]);
    assert!(!out.status.success());
    assert!(text(&out).contains("ONBEHALF_WORKERS"), "{}", text(&out));

    let out = onbehalf(
        &["check-config"],
        &[("ONBEHALF_QUEUE_URL", "redis://localhost")],
    );
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("ONBEHALF_QUEUE_URL") && msg.contains("amqp://"),
        "{msg}"
    );

    let out = onbehalf(&["check-config"], &[("ONBEHALF_LISTEN", "localhost")]);
    assert!(!out.status.success());
    assert!(text(&out).contains("ONBEHALF_LISTEN"), "{}", text(&out));
}

#[test]
fn a_config_file_is_read_and_the_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("onbehalf.toml");
    std::fs::write(&file, "workers = 7\nqueue_prefix = \"from-file\"\n").unwrap();
    let out = onbehalf(
        &["--config", file.to_str().unwrap(), "check-config"],
        &[("ONBEHALF_QUEUE_PREFIX", "from-env")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("workers = 7"), "{shown}");
    assert!(shown.contains("queue_prefix = \"from-env\""), "{shown}");

    std::fs::write(&file, "wrokers = 7\n").unwrap();
    let out = onbehalf(&["--config", file.to_str().unwrap(), "check-config"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("wrokers"), "{}", text(&out));
}

#[test]
fn check_config_masks_secrets() {
    let out = onbehalf(
        &["check-config"],
        &[
            ("ONBEHALF_ZENDESK_SIGNING_SECRETS", "sekrit-one,sekrit-two"),
            ("ONBEHALF_ADMIN_TOKEN", "admintokenvalue"),
            (
                "ONBEHALF_QUEUE_URL",
                "amqp://user:brokerpassword@rabbit:5672/%2f",
            ),
            ("ONBEHALF_ZENDESK_URL", "https://acme.zendesk.com"),
            ("ONBEHALF_ZENDESK_EMAIL", "bot@acme.com"),
            ("ONBEHALF_ZENDESK_API_TOKEN", "123456789"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    for secret in [
        "sekrit-one",
        "sekrit-two",
        "admintokenvalue",
        "brokerpassword",
        "123456789",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(shown.contains("https://acme.zendesk.com"));
}

#[test]
fn audit_verify_on_an_empty_trail_is_intact() {
    let out = onbehalf(&["audit", "verify"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("intact"));
}

#[test]
fn receive_and_work_refuse_the_embedded_queue() {
    let out = onbehalf(&["receive"], &[("ONBEHALF_LISTEN", "127.0.0.1:0")]);
    assert!(!out.status.success());
    assert!(text(&out).contains("ONBEHALF_QUEUE_URL"), "{}", text(&out));
}
