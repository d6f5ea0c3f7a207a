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

const SUBCOMMANDS: [&str; 9] = [
    "serve",
    "receive",
    "work",
    "classify",
    "consent",
    "audit",
    "migrate",
    "check-config",
    "dead-letters",
];

#[test]
fn help_teaches_the_tool() {
    let out = onbehalf(&["--help"], &[]);
    assert!(out.status.success());
    let help = text(&out);
    for sub in SUBCOMMANDS {
        assert!(help.contains(sub), "--help lists {sub}: {help}");
    }
    for sub in SUBCOMMANDS {
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

#[tokio::test]
async fn audit_verify_exits_1_naming_the_first_altered_record() {
    use onbehalf::store::{NoteStatus, Store, StoreOptions};
    use onbehalf::workflow::*;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let store = Store::open(&StoreOptions {
        url: url.clone(),
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_secs(5),
    })
    .await
    .unwrap();
    let at = time::OffsetDateTime::now_utc();
    for i in 1..=3 {
        let event = TicketEvent {
            event_id: format!("e{i}"),
            occurred_at: at,
            ticket: TicketSnapshot {
                id: format!("{i}"),
                requester_id: "1001".into(),
                ..TicketSnapshot::default()
            },
            kind: EventKind::TicketCreated,
        };
        let draft = ConfirmationDraft {
            ticket_id: format!("{i}"),
            requester_id: "1001".into(),
            category: Category::AccountAccess,
            action: "disable two-factor authentication".into(),
            verdict: ConsentVerdict::Granted,
            quote: "Yes, please go ahead.".into(),
            request_comment_id: format!("{i}1"),
            reply_comment_id: format!("{i}2"),
            decided_at: at,
            channel: None,
            body_sha256: String::new(),
            withdraws_reply_comment_id: None,
        };
        store
            .apply_event("zendesk", &event, NoteStatus::Shadow, |_| Decision {
                state: TicketState::default(),
                notes: vec![],
                confirmations: vec![draft.clone()],
            })
            .await
            .unwrap();
    }
    store.close().await;
    let verify = |dir: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_onbehalf"))
            .args(["audit", "verify"])
            .env("ONBEHALF_DATA_DIR", dir)
            .env(
                "ONBEHALF_DATABASE_URL",
                format!("sqlite://{}/t.db", dir.display()),
            )
            .output()
            .unwrap()
    };
    let intact = verify(dir.path());
    assert!(intact.status.success(), "{}", text(&intact));
    assert!(text(&intact).contains("intact: 3"));

    // Someone with database access rewrites what the customer said.
    let sqlite = |sql: &str| {
        let status = Command::new("python3")
            .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()"])
            .arg(dir.path().join("t.db"))
            .arg(sql)
            .status()
            .unwrap();
        assert!(status.success());
    };
    sqlite(
        "DROP TRIGGER confirmations_no_update; UPDATE confirmations SET quote = 'Yes' WHERE seq = 2;",
    );
    let broken = verify(dir.path());
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    assert!(
        text(&broken).contains("BROKEN at seq 2"),
        "{}",
        text(&broken)
    );
}

#[test]
fn a_broken_rules_file_stops_the_service_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "threshold = 2.0\n[concepts]\nbroken = [\"(unclosed\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_onbehalf"))
        .arg("serve")
        .env("ONBEHALF_LISTEN", "127.0.0.1:0")
        .env("ONBEHALF_DATA_DIR", dir.path())
        .env(
            "ONBEHALF_DATABASE_URL",
            format!("sqlite://{}/t.db", dir.path().display()),
        )
        .env("ONBEHALF_RULES_FILE", &rules)
        .env("ONBEHALF_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("ONBEHALF_RULES_FILE") && msg.contains("rules.toml"),
        "{msg}"
    );
}
