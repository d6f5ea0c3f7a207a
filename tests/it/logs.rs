//! Logs: JSON lines that carry ticket and event ids, and never ticket text, e-mail addresses or
//! secrets.

use crate::common;

use common::{FakeZendesk, SECRET, events, sign_now};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_carry_ids_and_never_customer_text_or_secrets() {
    let zendesk = FakeZendesk::start().await;
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("stderr.log");
    let (child, base) = serve(&zendesk, data.path(), "info,onbehalf=debug", &[]).await;
    let http = reqwest::Client::new();

    let secret_text = "PURPLE-ELEPHANT my e-mail is riley.banks@example.org";
    let mut created = events::created_with(
        "4242",
        "Locked out, 2FA lost",
        &format!("{secret_text}. I lost my 2FA device and cannot log in to my account."),
        &[],
    );
    let event_id = created["id"].as_str().unwrap().to_string();
    created["detail"]["subject"] = "Locked out (riley.banks@example.org)".into();
    let body = created.to_string();
    let (ts, sig) = sign_now(&body);
    let r = http
        .post(format!("{base}/webhooks/zendesk"))
        .header("x-zendesk-webhook-signature-timestamp", &ts)
        .header("x-zendesk-webhook-signature", &sig)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // A rejected one and a malformed one log too.
    http.post(format!("{base}/webhooks/zendesk"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let bad = format!(
        "{{\"id\": \"x\", \"type\": \"zen:event-type:ticket.created\", \"time\": \"2025-01-08T10:00:00Z\", \"detail\": {{\"id\": 5, \"description\": \"{secret_text}\", \"requester_id\": [\"riley.banks@example.org\"]}}}}"
    );
    let (ts, sig) = sign_now(&bad);
    http.post(format!("{base}/webhooks/zendesk"))
        .header("x-zendesk-webhook-signature-timestamp", &ts)
        .header("x-zendesk-webhook-signature", &sig)
        .body(bad)
        .send()
        .await
        .unwrap();
    // The malformed one is read leniently and its ticket (5) may get a triage note too (the
    // classifier takes "e-mail" for an account matter): wait for 4242's own note.
    assert!(
        common::eventually(Duration::from_secs(15), || async {
            zendesk.notes_for("4242").len() == 1
        })
        .await,
        "the triage note"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop(child);

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.lines().count() >= 3, "something was logged: {log}");
    for line in log.lines() {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("JSON line: {line}"));
        assert!(
            parsed["level"].is_string() && parsed["fields"].is_object(),
            "{line}"
        );
    }
    for forbidden in [
        "PURPLE-ELEPHANT",
        "riley.banks@example.org",
        "@example.org",
        SECRET,
        "admin-token-value",
        common::API_TOKEN,
        "Locked out",
        "lost my 2FA",
    ] {
        assert!(
            !log.contains(forbidden),
            "{forbidden:?} reached the log:\n{log}"
        );
    }
    let about_event: Vec<&str> = log.lines().filter(|l| l.contains(&event_id)).collect();
    assert!(
        about_event.len() >= 2,
        "receiver and worker lines name the event:\n{log}"
    );
    assert!(
        about_event
            .iter()
            .all(|l| l.contains("\"ticket_id\":\"4242\"")),
        "{about_event:?}"
    );
}

/// With GitLab on, the lookups log their failures without the e-mail searched for (it is in
/// the request's query) or the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_lookups_never_log_the_e_mail_or_the_token() {
    use common::fake_gitlab::{FakeGitLab, TOKEN};
    let zendesk = FakeZendesk::start().await;
    let gitlab = FakeGitLab::start().await;
    let email = "riley.banks@example.org";
    zendesk.set_user_email(events::REQUESTER, email);
    gitlab.add_user(FakeGitLab::user(7, "rbanks", email));
    gitlab.start_outage(500);
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("stderr.log");
    let gitlab_env = [
        ("ONBEHALF_GITLAB_URL", gitlab.url()),
        ("ONBEHALF_GITLAB_TOKEN", TOKEN.to_string()),
    ];
    let (child, base) = serve(&zendesk, data.path(), "debug", &gitlab_env).await;
    let http = reqwest::Client::new();
    for (n, ticket) in ["4243", "4244"].into_iter().enumerate() {
        if n == 1 {
            gitlab.end_outage();
        }
        let body = events::created(ticket, &[]).to_string();
        let (ts, sig) = sign_now(&body);
        let r = http
            .post(format!("{base}/webhooks/zendesk"))
            .header("x-zendesk-webhook-signature-timestamp", &ts)
            .header("x-zendesk-webhook-signature", &sig)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        assert_eq!(
            zendesk
                .wait_for_notes(n + 1, Duration::from_secs(15))
                .await
                .len(),
            n + 1
        );
    }
    let notes = zendesk.notes();
    assert!(
        notes[0].html_body.contains("could not check"),
        "{}",
        notes[0].html_body
    );
    assert!(
        notes[1].html_body.contains("<code>@rbanks</code>"),
        "{}",
        notes[1].html_body
    );
    stop(child);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("GitLab check failed"), "{log}");
    for forbidden in [email, "riley.banks%40example.org", "example.org", TOKEN] {
        assert!(
            !log.contains(forbidden),
            "{forbidden:?} reached the log:\n{log}"
        );
    }
}

/// `serve` with the fake Zendesk, JSON logs at `level` into `<data>/stderr.log` and the
/// `extra` variables; returns once it is ready, with its base URL.
async fn serve(
    zendesk: &FakeZendesk,
    data: &std::path::Path,
    level: &str,
    extra: &[(&str, String)],
) -> (std::process::Child, String) {
    let port = common::process::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_onbehalf"))
        .arg("serve")
        .env("ONBEHALF_LISTEN", format!("127.0.0.1:{port}"))
        .env("ONBEHALF_DATA_DIR", data)
        .env(
            "ONBEHALF_DATABASE_URL",
            format!("sqlite://{}/db.sqlite", data.display()),
        )
        .env("ONBEHALF_ZENDESK_SIGNING_SECRETS", SECRET)
        .env("ONBEHALF_ZENDESK_URL", zendesk.url())
        .env("ONBEHALF_ZENDESK_EMAIL", "bot@example.com")
        .env("ONBEHALF_ZENDESK_API_TOKEN", common::API_TOKEN)
        .env("ONBEHALF_ALLOW_HTTP", "true")
        .env("ONBEHALF_ADMIN_TOKEN", "admin-token-value")
        .env("ONBEHALF_ZENDESK_REQUESTS_PER_MINUTE", "100000")
        .env("ONBEHALF_LOG_FORMAT", "json")
        .env("ONBEHALF_LOG", level)
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(data.join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        common::eventually(Duration::from_secs(20), || async {
            http.get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await
    );
    (child, base)
}

/// SIGTERM, and a clean exit (the logs are complete).
fn stop(mut child: std::process::Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
}
