//! The command line as an operator meets it: help, configuration errors, masked config, and
//! the audit commands on both databases.

use crate::store_support::{self, both};

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

const SUBCOMMANDS: [&str; 12] = [
    "serve",
    "receive",
    "work",
    "classify",
    "consent",
    "audit",
    "migrate",
    "check-config",
    "dead-letters",
    "notes",
    "reconcile",
    "zendesk",
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
fn reconcile_says_what_it_needs() {
    let out = onbehalf(&["reconcile", "--since", "yesterday"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("RFC 3339"), "{}", text(&out));
    let out = onbehalf(&["reconcile", "--since", "2025-01-08T00:00:00Z"], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("ONBEHALF_ZENDESK_URL"),
        "{}",
        text(&out)
    );
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
            (
                "ONBEHALF_ZENDESK_SIGNING_SECRETS",
                "sekrit-one-of-two,sekrit-two-of-two",
            ),
            ("ONBEHALF_ADMIN_TOKEN", "admintokenvalue-long"),
            (
                "ONBEHALF_QUEUE_URL",
                "amqp://user:brokerpassword@rabbit:5672/%2f",
            ),
            ("ONBEHALF_ZENDESK_URL", "https://acme.zendesk.com"),
            ("ONBEHALF_ZENDESK_EMAIL", "bot@acme.com"),
            ("ONBEHALF_ZENDESK_API_TOKEN", "1234567890123456789"),
            ("ONBEHALF_TRAIL_KEY", "trail-key-value-of-thirty-two-bytes"),
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
        "trail-key-value",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(shown.contains("https://acme.zendesk.com"));
}

#[test]
fn audit_commands_fail_without_a_database_and_create_none() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("elsewhere/onbehalf.db");
    let url = format!("sqlite://{}", db.display());
    for args in [
        &["audit", "verify"][..],
        &["audit", "head"],
        &["audit", "export"],
    ] {
        let out = onbehalf(args, &[("ONBEHALF_DATABASE_URL", &url)]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains(&db.display().to_string()),
            "{args:?} names the database it looked for: {}",
            text(&out)
        );
        assert!(!text(&out).contains("intact"), "{}", text(&out));
    }
    assert!(
        !db.exists() && !db.parent().unwrap().exists(),
        "nothing created"
    );
}

#[tokio::test]
async fn audit_verify_names_the_database_and_accepts_an_empty_trail() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let store = onbehalf::store::Store::open(&store_support::options(url.clone()))
        .await
        .unwrap();
    store.close().await;
    let out = onbehalf(&["audit", "verify"], &[("ONBEHALF_DATABASE_URL", &url)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("trail intact: 0 record(s)"),
        "{}",
        text(&out)
    );
    let path = std::fs::canonicalize(dir.path().join("t.db")).unwrap();
    assert!(
        text(&out).contains(&format!("database: SQLite database {}", path.display())),
        "{}",
        text(&out)
    );
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
                id: format!("{i}").into(),
                requester_id: "1001".into(),
                ..TicketSnapshot::default()
            },
            kind: EventKind::TicketCreated,
        };
        let draft = ConfirmationDraft {
            ticket_id: format!("{i}").into(),
            requester_id: "1001".into(),
            category: Category::AccountAccess,
            action: "disable two-factor authentication".into(),
            verdict: ConsentVerdict::Granted,
            quote: "Yes, please go ahead.".into(),
            request_comment_id: format!("{i}1").into(),
            reply_comment_id: format!("{i}2").into(),
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

const TRAIL_KEY: &str = "an auditor's trail key, thirty-two bytes or more";

/// Runs the binary against the database at `url`.
fn audit(url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec![("ONBEHALF_DATABASE_URL", url)];
    all.extend_from_slice(env);
    onbehalf(args, &all)
}

/// Three keyed records on tickets 1..3.
async fn three_keyed_records(store: &onbehalf::store::Store) {
    use onbehalf::store::{NoteStatus, TrailKey};
    use onbehalf::workflow::*;
    let keyed = store
        .clone()
        .with_trail_key(Some(TrailKey::new(TRAIL_KEY).unwrap()));
    for i in 1..=3 {
        let ticket = format!("{i}");
        let draft = store_support::confirmation(
            &ticket,
            &format!("{i}2"),
            ConsentVerdict::Granted,
            time::OffsetDateTime::now_utc(),
        );
        keyed
            .apply_event(
                "zendesk",
                &store_support::event(&ticket, &format!("e{i}")),
                NoteStatus::Shadow,
                |_| Decision {
                    state: TicketState::default(),
                    notes: vec![],
                    confirmations: vec![draft.clone()],
                },
            )
            .await
            .unwrap();
    }
}

both!(
    head_export_and_verify_file_agree,
    an_emptied_or_cut_back_trail_fails_the_expected_head,
);

async fn head_export_and_verify_file_agree(db: store_support::Db) {
    three_keyed_records(&db.store).await;
    let url = db.options.url.clone();
    let head = db.store.trail_head().await.unwrap().to_string();

    let out = audit(&url, &["audit", "head"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), head);
    assert!(String::from_utf8_lossy(&out.stderr).contains("database: "));

    let out = audit(&url, &["audit", "export"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let export = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[3]["count"], 3);
    assert_eq!(
        format!(
            "{}:{}",
            lines[3]["trail_head"]["seq"],
            lines[3]["trail_head"]["hash"].as_str().unwrap()
        ),
        head
    );
    assert_eq!(lines[0]["format"], 2);
    assert!(lines[0]["hmac"].as_str().is_some_and(|h| h.len() == 64));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.jsonl");
    let key_file = dir.path().join("trail.key");
    std::fs::write(&file, &export).unwrap();
    std::fs::write(&key_file, format!("{TRAIL_KEY}\n")).unwrap();
    let f = file.to_str().unwrap();
    let k = key_file.to_str().unwrap();
    // No database is opened for --file: point the URL nowhere.
    let nowhere = "sqlite:///nonexistent/dir/none.db";
    let out = audit(
        nowhere,
        &[
            "audit",
            "verify",
            "--file",
            f,
            "--expect",
            &head,
            "--key-file",
            k,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report = text(&out);
    assert!(report.contains("trail intact: 3 record(s)"), "{report}");
    assert!(report.contains("HMAC: 3 record(s) signed"), "{report}");
    assert!(
        report.contains(&format!("expected {head}: present")),
        "{report}"
    );
    // The key from the environment, as the workers have it.
    let out = audit(
        nowhere,
        &["audit", "verify", "--file", f],
        &[("ONBEHALF_TRAIL_KEY", TRAIL_KEY)],
    );
    assert!(
        text(&out).contains("HMAC: 3 record(s) signed"),
        "{}",
        text(&out)
    );
    // Another key: every record fails its HMAC.
    let out = audit(
        nowhere,
        &["audit", "verify", "--file", f],
        &[(
            "ONBEHALF_TRAIL_KEY",
            "some other key that is long enough too",
        )],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("BROKEN at seq 1: HMAC"),
        "{}",
        text(&out)
    );
    // A short key is refused before anything is checked.
    let out = audit(
        nowhere,
        &["audit", "verify", "--file", f],
        &[("ONBEHALF_TRAIL_KEY", "short")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("ONBEHALF_TRAIL_KEY"), "{}", text(&out));

    // Altered in the file.
    std::fs::write(
        &file,
        export.replacen("Yes, go ahead (22)", "Yes, go ahead (22) and more", 1),
    )
    .unwrap();
    let out = audit(nowhere, &["audit", "verify", "--file", f], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("BROKEN at seq 2"), "{}", text(&out));
    // Cut short: no trailer.
    let cut: String = export.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, &cut).unwrap();
    let out = audit(nowhere, &["audit", "verify", "--file", f], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("no trailer"), "{}", text(&out));
    // A record dropped from the middle, trailer kept.
    let dropped: String = export
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(&file, &dropped).unwrap();
    let out = audit(nowhere, &["audit", "verify", "--file", f], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // A later page, by seq: one record and its trailer, which verifies on its own.
    let out = audit(&url, &["audit", "export", "--after-seq", "2"], &[]);
    let page = String::from_utf8(out.stdout).unwrap();
    assert_eq!(page.lines().count(), 2, "{page}");
    std::fs::write(&file, &page).unwrap();
    let out = audit(
        nowhere,
        &["audit", "verify", "--file", f, "--expect", &head],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("starts at seq 3"), "{}", text(&out));
}

async fn an_emptied_or_cut_back_trail_fails_the_expected_head(db: store_support::Db) {
    three_keyed_records(&db.store).await;
    let url = db.options.url.clone();
    let head = audit(&url, &["audit", "head"], &[]);
    let head = String::from_utf8(head.stdout).unwrap().trim().to_string();
    let first = db.store.confirmations_page(None, 0, 1).await.unwrap()[0]
        .head()
        .to_string();
    let out = audit(
        &url,
        &["audit", "verify", "--expect", &head, "--expect", &first],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));

    // The tail deleted (triggers dropped first).
    let drop_triggers = match db.backend {
        onbehalf::store::Backend::Sqlite => vec![
            "DROP TRIGGER confirmations_no_update",
            "DROP TRIGGER confirmations_no_delete",
        ],
        onbehalf::store::Backend::Postgres => vec![
            "DROP TRIGGER confirmations_append_only ON confirmations",
            "DROP TRIGGER confirmations_no_truncate ON confirmations",
        ],
    };
    for sql in drop_triggers {
        db.exec(sql).await.unwrap();
    }
    db.exec("DELETE FROM confirmations WHERE seq = 3")
        .await
        .unwrap();
    let out = audit(&url, &["audit", "verify"], &[]);
    assert!(
        out.status.success(),
        "the chain alone cannot tell: {}",
        text(&out)
    );
    let out = audit(&url, &["audit", "verify", "--expect", &head], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("is not in the chain: the trail ends at seq 2"),
        "{}",
        text(&out)
    );
    // The key notices nothing here (the remaining records are genuine): the head does.
    let out = audit(
        &url,
        &["audit", "verify", "--expect", &head],
        &[("ONBEHALF_TRAIL_KEY", TRAIL_KEY)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Emptied.
    let empty = match db.backend {
        onbehalf::store::Backend::Sqlite => "DELETE FROM confirmations",
        onbehalf::store::Backend::Postgres => "TRUNCATE confirmations",
    };
    db.exec(empty).await.unwrap();
    let out = audit(&url, &["audit", "verify", "--expect", &first], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the trail ends at seq 0"),
        "{}",
        text(&out)
    );
    let out = audit(&url, &["audit", "head"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("0:{}", "0".repeat(64))
    );
}

#[test]
fn start_up_is_refused_with_an_empty_whitespace_or_short_token() {
    for (variable, value) in [
        ("ONBEHALF_ADMIN_TOKEN", ""),
        ("ONBEHALF_ADMIN_TOKEN", "   "),
        ("ONBEHALF_ADMIN_TOKEN", "let-me-in"),
        ("ONBEHALF_ZENDESK_API_TOKEN", ""),
        ("ONBEHALF_ZENDESK_API_TOKEN", "short"),
    ] {
        for command in ["serve", "check-config"] {
            let out = onbehalf(&[command], &[(variable, value)]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{command} with {variable}={value:?}: {}",
                text(&out)
            );
            assert!(text(&out).contains(variable), "{}", text(&out));
        }
    }
    let out = onbehalf(
        &["check-config"],
        &[(
            "ONBEHALF_ZENDESK_SIGNING_SECRETS",
            "long-enough-secret,tiny",
        )],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("ONBEHALF_ZENDESK_SIGNING_SECRETS"));
}

#[test]
fn check_config_prints_no_password_from_tricky_urls() {
    for (url, password) in [
        ("postgres://u:abc#1@db/x", "abc#1"),
        ("postgres://db/x?user=u&password=hunter22", "hunter22"),
        ("postgres://u:p@ss@db/x?sslpassword=key42", "p@ss"),
    ] {
        let out = onbehalf(&["check-config"], &[("ONBEHALF_DATABASE_URL", url)]);
        let shown = text(&out);
        assert!(out.status.success(), "{url}: {shown}");
        assert!(!shown.contains(password), "{url}: {shown}");
        assert!(!shown.contains("key42"), "{url}: {shown}");
    }
    let out = onbehalf(
        &["check-config"],
        &[("ONBEHALF_QUEUE_URL", "amqp://guest:br0ker#pw@rabbit/%2f")],
    );
    assert!(!text(&out).contains("br0ker#pw"), "{}", text(&out));
}

#[test]
fn plain_http_helpdesk_urls_need_allow_http() {
    let env = [
        ("ONBEHALF_ZENDESK_URL", "http://acme.zendesk.com"),
        ("ONBEHALF_ZENDESK_EMAIL", "bot@acme.com"),
        ("ONBEHALF_ZENDESK_API_TOKEN", "a-zendesk-api-token-value"),
    ];
    let out = onbehalf(&["check-config"], &env);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("ONBEHALF_ALLOW_HTTP"), "{}", text(&out));
    let mut allowed = env.to_vec();
    allowed.push(("ONBEHALF_ALLOW_HTTP", "true"));
    assert!(onbehalf(&["check-config"], &allowed).status.success());
}
