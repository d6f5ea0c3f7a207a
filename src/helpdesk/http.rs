//! What every helpdesk's REST client does the same way: send within the API budget, retry a
//! blip in place, hold the budget for a `Retry-After`, sort failures by whose they are, and
//! read answers with a size bound.

use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use std::time::Duration;

use super::HelpdeskError;
use super::budget::ApiBudget;
use crate::health::{Dependency, Health};

/// Attempts of one request against a helpdesk answering 5xx without `Retry-After` (a blip),
/// before the caller is told the helpdesk is down.
pub(crate) const ATTEMPTS: u32 = 3;
/// The longest one attempt waits for the account's API budget (a token, or a `Retry-After`
/// hold): past it the caller is told, so that one request fits the post deadline
/// ([`crate::timeouts`]) however long the helpdesk asked everybody to wait.
pub(crate) const MAX_BUDGET_WAIT: Duration = Duration::from_secs(5);
/// A 429 without `Retry-After` waits this long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(10);
/// A day-long hold would be a misreading rather than the helpdesk's wish.
const MAX_RETRY_AFTER_SECS: u64 = 3600;
/// The most of an error answer kept for the message.
const MAX_ERROR_ANSWER: usize = 16 * 1024;

/// How a helpdesk is named in errors.
#[derive(Debug, Clone, Copy)]
pub struct Wording {
    /// Its registry name (`zendesk`, `zammad`): the dependency its outages are reported as.
    pub helpdesk: &'static str,
    /// `Zendesk`, `Zammad`.
    pub name: &'static str,
    /// What a 409 means there.
    pub conflict: &'static str,
    /// What to check after a 401/403.
    pub credentials: &'static str,
}

/// One helpdesk's way of calling its API.
pub struct Caller<'a> {
    pub budget: &'a dyn ApiBudget,
    pub health: &'a Health,
    pub authorization: &'a HeaderValue,
    pub wording: Wording,
}

impl Caller<'_> {
    /// Sends within the budget. A 5xx without `Retry-After` is retried in place a few times
    /// (a blip); a throttle holds the whole budget for its `Retry-After` and is handed back.
    pub async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, HelpdeskError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            if tokio::time::timeout(MAX_BUDGET_WAIT, self.budget.acquire())
                .await
                .is_err()
            {
                // Not an answer of the helpdesk: no hold of our own on top.
                return Err(HelpdeskError::Unavailable {
                    reason: format!(
                        "the API budget for {} allows no request within {} s (spent, or held for a Retry-After)",
                        self.wording.name,
                        MAX_BUDGET_WAIT.as_secs()
                    ),
                    retry_after: Some(MAX_BUDGET_WAIT),
                });
            }
            let response = build()
                .header(reqwest::header::AUTHORIZATION, self.authorization.clone())
                .send()
                .await;
            let error = match response {
                Ok(r) => {
                    let status = r.status();
                    metrics::counter!("onbehalf_helpdesk_requests_total", "status" => status.as_u16().to_string()).increment(1);
                    if status.is_success() {
                        self.health.up(Dependency::Helpdesk(self.wording.helpdesk));
                        return Ok(r);
                    }
                    classify_failure(r, &self.wording).await
                }
                Err(e) => {
                    metrics::counter!("onbehalf_helpdesk_requests_total", "status" => "error")
                        .increment(1);
                    HelpdeskError::Unavailable {
                        reason: super::transport::describe(&e),
                        retry_after: None,
                    }
                }
            };
            if let Some(Some(wait)) = error.outage() {
                // A Retry-After is for the account: nobody calls until it has passed.
                self.budget.hold(wait).await;
            }
            let blip = matches!(
                error,
                HelpdeskError::Unavailable {
                    retry_after: None,
                    ..
                } | HelpdeskError::Transient(_)
            );
            if blip && attempt < ATTEMPTS {
                tokio::time::sleep(pause_after_try(attempt)).await;
                continue;
            }
            return Err(error);
        }
    }
}

/// The pause after failed try `attempt` (1-based) before the next.
pub(crate) fn pause_after_try(attempt: u32) -> Duration {
    Duration::from_millis(250 * 2u64.pow(attempt))
}

/// A probe's outcome: any answer but an outage-class failure (5xx, timeout, 401/403, 429) means
/// the helpdesk is there, and `health` hears so.
pub fn probe_outcome<T>(
    answer: Result<T, HelpdeskError>,
    health: &Health,
    helpdesk: &'static str,
) -> Result<(), HelpdeskError> {
    match answer {
        Ok(_) => Ok(()),
        Err(e) if e.outage().is_none() => {
            health.up(Dependency::Helpdesk(helpdesk));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// reqwest's error text includes the URL; keep messages short and free of query strings.
pub fn without_url(e: &reqwest::Error) -> String {
    let mut e = e.to_string();
    if let Some(i) = e.find(" for url") {
        e.truncate(i);
    }
    e
}

/// The failure an unsuccessful answer stands for.
async fn classify_failure(response: reqwest::Response, wording: &Wording) -> HelpdeskError {
    let status = response.status();
    let name = wording.name;
    // Seconds (Zendesk, Rate limits: "how many seconds to wait before retrying").
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs.min(MAX_RETRY_AFTER_SECS)));
    match status {
        StatusCode::TOO_MANY_REQUESTS => HelpdeskError::RateLimited {
            retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
        },
        StatusCode::CONFLICT => HelpdeskError::Transient(wording.conflict.into()),
        StatusCode::REQUEST_TIMEOUT => HelpdeskError::Unavailable {
            reason: format!("{name} answered {status}"),
            retry_after,
        },
        s if s.is_server_error() => HelpdeskError::Unavailable {
            reason: format!("{name} answered {s}"),
            retry_after,
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => HelpdeskError::Unauthorized(format!(
            "{name} answered {status}; {}",
            wording.credentials
        )),
        s if s.is_client_error() => {
            // The error bodies name the problem (Zendesk's "RecordNotFound", Zammad's
            // `{"error": …}`).
            let detail: String = bounded_body(response, MAX_ERROR_ANSWER, name)
                .await
                .map(|body| String::from_utf8_lossy(&body).chars().take(300).collect())
                .unwrap_or_default();
            HelpdeskError::Rejected(format!("{name} answered {s}: {}", detail.trim()))
        }
        s => HelpdeskError::Permanent(format!("{name} answered {s}")),
    }
}

/// The answer's body, refused past `limit` bytes (nothing that large comes from `name`).
pub async fn bounded_body(
    mut response: reqwest::Response,
    limit: usize,
    name: &str,
) -> Result<Vec<u8>, HelpdeskError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        HelpdeskError::Transient(format!("reading the answer failed: {}", without_url(&e)))
    })? {
        if body.len() + chunk.len() > limit {
            return Err(HelpdeskError::Permanent(format!(
                "{name}'s answer exceeds {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpdesk::budget::LocalBudget;

    /// A Retry-After far beyond the post deadline is not waited out inside one request: the
    /// caller hears within the budget wait and pauses (see `crate::timeouts`).
    #[tokio::test]
    async fn a_long_hold_is_not_waited_out_inside_a_request() {
        let budget = LocalBudget::new(600);
        budget.hold(Duration::from_secs(3600)).await;
        let health = Health::default();
        let authorization = HeaderValue::from_static("Basic x");
        let caller = Caller {
            budget: &budget,
            health: &health,
            authorization: &authorization,
            wording: Wording {
                helpdesk: "zendesk",
                name: "Zendesk",
                conflict: "",
                credentials: "",
            },
        };
        let started = std::time::Instant::now();
        let client = reqwest::Client::new();
        let answer = caller.send(|| client.get("http://127.0.0.1:9/")).await;
        assert!(started.elapsed() < MAX_BUDGET_WAIT + Duration::from_secs(2));
        match answer {
            Err(HelpdeskError::Unavailable {
                reason,
                retry_after,
            }) => {
                assert_eq!(retry_after, Some(MAX_BUDGET_WAIT));
                assert!(reason.contains("API budget for Zendesk"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}
