//! The GitLab REST API (v4), read-only, within a budget.
//!
//! Authentication is the `PRIVATE-TOKEN` header (`doc/api/rest/authentication.md`), marked
//! sensitive so it never shows in `Debug` output. Every request takes a token from the budget
//! first; GitLab's own rate-limit headers are honoured (`RateLimit-Remaining: 0` holds every
//! request until `RateLimit-Reset`, a Unix time; a `429`'s `Retry-After` in seconds holds them
//! for that long: docs.gitlab.com/user/gitlab_com/rate_limits, `doc/security/rate_limits.md`).
//! A lookup never waits long for the budget: GitLab is a help, not a dependency, so a spent
//! budget is reported as a rate limit and the note says the check was not made.

use reqwest::header::HeaderValue;
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::GitLabError;
use crate::config::Secret;
use crate::health::{Dependency, Health};
use crate::helpdesk::budget::{ApiBudget, LocalBudget};

/// The longest a lookup waits for the budget before it reports the rate limit.
const MAX_BUDGET_WAIT: Duration = Duration::from_secs(3);
/// A 429 without `Retry-After` holds requests this long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);
/// A longer hold would be a misreading rather than GitLab's wish.
const MAX_HOLD: Duration = Duration::from_secs(3600);
/// The largest answer read: one page of 100 users or memberships is far below.
const MAX_ANSWER: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct GitLabOptions {
    /// e.g. `https://gitlab.com`.
    pub base_url: String,
    pub token: Secret,
    pub timeout: Duration,
    pub requests_per_minute: u32,
}

pub struct GitLabClient {
    http: reqwest::Client,
    /// `<base>/api/v4/`.
    api: Url,
    host: String,
    token: HeaderValue,
    budget: Arc<dyn ApiBudget>,
    /// Until when GitLab asked not to be called (kept here too, for the message).
    held_until: Mutex<Option<Instant>>,
    /// Hears whether GitLab answers: the console shows it; nothing pauses on it.
    health: Health,
}

impl GitLabClient {
    pub fn new(options: &GitLabOptions) -> Result<GitLabClient, GitLabError> {
        let base = Url::parse(&options.base_url)
            .map_err(|e| GitLabError::Permanent(format!("GitLab URL: {e}")))?;
        let host = base.host_str().unwrap_or_default().to_ascii_lowercase();
        let api = base
            .join(&format!("{}/api/v4/", base.path().trim_end_matches('/')))
            .map_err(|e| GitLabError::Permanent(format!("GitLab URL: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("onbehalf/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GitLabError::Permanent(format!("HTTP client: {e}")))?;
        let mut token = HeaderValue::from_str(options.token.expose()).map_err(|_| {
            GitLabError::Permanent("the GitLab token is not a valid header value".into())
        })?;
        token.set_sensitive(true);
        Ok(GitLabClient {
            http,
            api,
            host,
            token,
            budget: Arc::new(LocalBudget::new(options.requests_per_minute)),
            held_until: Mutex::new(None),
            health: Health::default(),
        })
    }

    /// Spends `budget` (shared with other processes through PostgreSQL) instead of its own.
    pub fn with_budget(mut self, budget: Arc<dyn ApiBudget>) -> GitLabClient {
        self.budget = budget;
        self
    }

    /// The instance's host (`gitlab.com`): the budget's key, and where ticket URLs point.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `GitLab API https://gitlab.com`: the source the facts name.
    pub fn source(&self) -> String {
        let mut base = self.api.clone();
        base.set_path("");
        format!("GitLab API {}", base.as_str().trim_end_matches('/'))
    }

    /// `segments` are path segments, each percent-encoded on its own: a namespace path as
    /// one segment becomes GitLab's URL-encoded path (`acme%2Fapi`, `doc/api/rest/index.md`,
    /// "Namespaced paths").
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, GitLabError> {
        let mut url = self.api.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| GitLabError::Permanent("GitLab URL cannot have a path".into()))?;
            path.pop_if_empty();
            for segment in segments {
                path.push(segment);
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    fn held_for(&self) -> Option<Duration> {
        let held = *self.held_until.lock().unwrap_or_else(|e| e.into_inner());
        held.and_then(|until| until.checked_duration_since(Instant::now()))
            .filter(|left| !left.is_zero())
    }

    async fn hold(&self, wait: Duration) {
        let wait = wait.min(MAX_HOLD);
        {
            let mut held = self.held_until.lock().unwrap_or_else(|e| e.into_inner());
            let until = Instant::now() + wait;
            *held = Some(held.map_or(until, |h| h.max(until)));
        }
        self.budget.hold(wait).await;
    }

    /// `GET` one resource; `Ok(None)` for a 404 (`doc/api/rest/troubleshooting.md`: "404 Not
    /// Found: a resource could not be accessed", which is how a non-member reads too).
    /// Reports whether GitLab answers to `health`.
    pub fn with_health(mut self, health: Health) -> GitLabClient {
        health.register(Dependency::GitLab);
        self.health = health;
        self
    }

    /// A GET, its outcome told to `health`: an answer (even a 404 or another client error)
    /// means GitLab is there; no answer, a 5xx, a refused token or a throttle (GitLab's, or
    /// our budget for it spent) mean it is not usable now.
    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Option<T>, GitLabError> {
        let answer = self.get_unreported(segments, query).await;
        match &answer {
            Ok(_) | Err(GitLabError::Rejected(_) | GitLabError::Unreadable(_)) => {
                self.health.up(Dependency::GitLab)
            }
            Err(e @ (GitLabError::Unavailable(_) | GitLabError::Unauthorized(_))) => {
                self.health.down(Dependency::GitLab, &e.to_string(), None)
            }
            Err(e @ GitLabError::RateLimited { retry_after }) => {
                self.health
                    .down(Dependency::GitLab, &e.to_string(), Some(*retry_after))
            }
            Err(GitLabError::Permanent(_)) => {}
        }
        answer
    }

    async fn get_unreported<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Option<T>, GitLabError> {
        if let Some(left) = self.held_for().filter(|left| *left > MAX_BUDGET_WAIT) {
            return Err(GitLabError::RateLimited { retry_after: left });
        }
        let url = self.url(segments, query)?;
        if tokio::time::timeout(MAX_BUDGET_WAIT, self.budget.acquire())
            .await
            .is_err()
        {
            return Err(GitLabError::RateLimited {
                retry_after: self.held_for().unwrap_or(MAX_BUDGET_WAIT),
            });
        }
        let response = self
            .http
            .get(url)
            .header("PRIVATE-TOKEN", self.token.clone())
            .send()
            .await
            .map_err(|e| GitLabError::Unavailable(without_url(&e)))?;
        let status = response.status();
        metrics::counter!("onbehalf_gitlab_requests_total", "status" => status.as_u16().to_string())
            .increment(1);
        self.honour_rate_headers(&response).await;
        match status {
            s if s.is_success() => {
                let body = bounded_body(response).await?;
                serde_json::from_slice(&body)
                    .map(Some)
                    .map_err(|e| GitLabError::Unreadable(e.to_string()))
            }
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = seconds_header(&response, "retry-after").unwrap_or(DEFAULT_RETRY_AFTER);
                self.hold(wait).await;
                Err(GitLabError::RateLimited { retry_after: wait })
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(GitLabError::Unauthorized(status.to_string()))
            }
            s if s.is_server_error() => {
                Err(GitLabError::Unavailable(format!("GitLab answered {s}")))
            }
            s => Err(GitLabError::Rejected(s.to_string())),
        }
    }

    /// `RateLimit-Remaining: 0` means the next request would be refused: nobody calls before
    /// `RateLimit-Reset` (a Unix time).
    async fn honour_rate_headers(&self, response: &reqwest::Response) {
        let remaining = response
            .headers()
            .get("ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if remaining != Some(0) {
            return;
        }
        let reset = response
            .headers()
            .get("ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let wait = match reset {
            Some(at) if at > now => Duration::from_secs(at - now),
            _ => Duration::from_secs(1),
        };
        self.hold(wait).await;
    }
}

fn seconds_header(response: &reqwest::Response, name: &str) -> Option<Duration> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// reqwest's error text includes the URL (with the searched e-mail in its query): cut it.
fn without_url(e: &reqwest::Error) -> String {
    let text = if e.is_timeout() {
        "the request timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        e.to_string()
    };
    match text.find(" for url") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

async fn bounded_body(mut response: reqwest::Response) -> Result<Vec<u8>, GitLabError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| GitLabError::Unavailable(format!("reading the answer: {}", without_url(&e))))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(GitLabError::Unreadable(format!(
                "the answer exceeds {MAX_ANSWER} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
