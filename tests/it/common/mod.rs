//! Shared test helpers: a real app on a random port, a fake Zendesk, signed events.

pub mod alone;
pub mod cluster;
pub mod events;
pub mod fake_gitlab;
pub mod fake_zammad;
pub mod fake_zendesk;
pub mod process;

use std::net::SocketAddr;
use std::time::Duration;

use onbehalf::app::{Application, Role};
use onbehalf::config::{Config, Secret};
use onbehalf::helpdesk::zendesk::signature::ZendeskSignature;
use tempfile::TempDir;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;

pub use fake_zendesk::FakeZendesk;

pub const SECRET: &str = "test-signing-secret";
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// The Zendesk API token the fake Zendesk accepts.
pub const API_TOKEN: &str = fake_zendesk::API_TOKEN;

/// Logs stay silent unless TEST_LOG is set.
pub fn init_test_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        onbehalf::telemetry::init_logging(onbehalf::config::LogFormat::Text);
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub zendesk: FakeZendesk,
    pub data: TempDir,
    pub config: Config,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// The configuration every in-process test starts from: random port, temp data folder, the
/// embedded queue, fast retries, and the fake Zendesk.
pub fn test_config(data: &TempDir, zendesk: &FakeZendesk) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}/onbehalf.db", data.path().display()),
        data_dir: data.path().to_path_buf(),
        zendesk_signing_secrets: vec![Secret::new(SECRET)],
        zendesk_url: Some(zendesk.url()),
        zendesk_email: Some("bot@example.com".into()),
        zendesk_api_token: Some(Secret::new(API_TOKEN)),
        // The fake Zendesk speaks plain http on 127.0.0.1.
        allow_http: true,
        admin_token: Some(Secret::new(ADMIN_TOKEN)),
        zendesk_requests_per_minute: 1_000_000,
        retry_base_ms: 100,
        retry_max_ms: 2_000,
        ..Config::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    init_test_logging();
    let zendesk = FakeZendesk::start().await;
    let data = TempDir::new().unwrap();
    let mut config = test_config(&data, &zendesk);
    adjust(&mut config);
    spawn_with_config(config, data, zendesk).await
}

pub async fn spawn_with_config(config: Config, data: TempDir, zendesk: FakeZendesk) -> TestApp {
    let app = Application::build(config.clone(), Role::Serve)
        .await
        .expect("app builds");
    let addr = app.local_addr();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        app.run_until_stopped(stop).await.expect("app runs");
    });
    TestApp {
        addr,
        http: reqwest::Client::new(),
        zendesk,
        data,
        config,
        shutdown,
        task,
    }
}

pub fn sign_now(body: &str) -> (String, String) {
    let ts = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        .format(&Rfc3339)
        .unwrap();
    let sig = ZendeskSignature::sign(SECRET, &ts, body.as_bytes());
    (ts, sig)
}

/// POSTs `body` to `url` signed as Zendesk would, now.
pub async fn post_signed(
    http: &reqwest::Client,
    url: &str,
    body: &str,
) -> reqwest::Result<reqwest::Response> {
    let (ts, sig) = sign_now(body);
    http.post(url)
        .header("content-type", "application/json")
        .header("x-zendesk-webhook-signature-timestamp", ts)
        .header("x-zendesk-webhook-signature", sig)
        .body(body.to_string())
        .send()
        .await
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a correctly signed webhook.
    pub async fn post_event(&self, body: &str) -> reqwest::Response {
        post_signed(&self.http, &self.url("/webhooks/zendesk"), body)
            .await
            .expect("request sent")
    }

    pub async fn api(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
    }

    pub async fn ticket(&self, id: &str) -> serde_json::Value {
        let r = self.api(&format!("/api/tickets/zendesk/{id}")).await;
        assert_eq!(r.status(), 200, "ticket {id} should be known");
        r.json().await.unwrap()
    }

    /// The trail's records, without the export's trailer line (checked to count them).
    pub async fn confirmations(&self) -> Vec<serde_json::Value> {
        let text = self.api("/api/confirmations").await.text().await.unwrap();
        let mut lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let trailer = lines.pop().expect("an export ends with its trailer");
        assert_eq!(trailer["count"], lines.len(), "trailer: {trailer}");
        lines
    }

    /// Waits until the fake Zendesk holds `n` notes (or fails after `timeout`).
    pub async fn wait_for_notes(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Vec<fake_zendesk::PostedNote> {
        self.zendesk.wait_for_notes(n, timeout).await
    }

    pub async fn stop(self) -> (TempDir, FakeZendesk) {
        self.shutdown.cancel();
        let _ = self.task.await;
        (self.data, self.zendesk)
    }
}

/// Polls `check` every 50 ms until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
