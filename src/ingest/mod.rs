//! The HTTP side: `POST /webhooks/{helpdesk}` for every configured helpdesk, probes, metrics
//! and the admin API. Handlers are thin: the helpdesk's integration verifies and reads the
//! webhook (`crate::helpdesk::Integration`), this layer queues it and maps the outcome.

pub mod api;
pub mod error;
pub mod operations;
mod probes;
pub mod serve;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use futures::StreamExt;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tower::ServiceBuilder;
use tower_http::timeout::TimeoutLayer;

use crate::helpdesk::Helpdesks;
use crate::helpdesk::webhook::{Reception, SignatureError};
use crate::queue::{Envelope, PublishOutcome, Queue, QueueStats};
use crate::store::Store;
use error::ApiError;
use probes::Cached;

/// Zendesk's limit on a webhook's request payload: "must be less than 256 KB" (Creating
/// webhooks to interact with third party systems,
/// support.zendesk.com/hc/en-us/articles/4408839108378). Nothing larger comes from Zendesk;
/// the default of every helpdesk (`Integration::max_body_bytes`).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// How long `/readyz` and the queue gauges of `/metrics` reuse a probe: a scrape or a probe
/// storm costs at most one broker channel and one database round trip per period.
const PROBE_CACHE: Duration = Duration::from_secs(5);

/// The receiver's resource limits (configuration, see `Config`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Webhook requests handled at once; more are answered `503` + `Retry-After` at once.
    pub webhook_concurrency: usize,
    /// Time a client has to send a whole body once its headers are in.
    pub body_read_timeout: Duration,
}

#[derive(Clone)]
pub struct HttpState {
    pub queue: Arc<dyn Queue>,
    pub store: Store,
    /// The helpdesks whose webhooks this process takes, by name.
    pub helpdesks: Helpdesks,
    pub api_guard: Arc<api::ApiGuard>,
    pub metrics: PrometheusHandle,
    pub limits: Limits,
    readiness: Arc<Cached<Readiness>>,
    queue_stats: Arc<Cached<QueueStats>>,
    /// Dependencies the workers found down (the helpdesk's state is known only from them).
    pub health: crate::health::Health,
    /// Whether a helpdesk outage makes this process unready: only for a process that does not
    /// receive webhooks (a receiver must keep taking them: they queue).
    pub needs_helpdesk: bool,
    /// What the review console shows about this deployment (`/console`).
    pub console: Arc<crate::console::Settings>,
}

impl HttpState {
    pub fn new(
        queue: Arc<dyn Queue>,
        store: Store,
        helpdesks: Helpdesks,
        admin_token: Option<&crate::config::Secret>,
        metrics: PrometheusHandle,
        limits: Limits,
    ) -> HttpState {
        HttpState {
            queue,
            store,
            helpdesks,
            api_guard: Arc::new(api::ApiGuard::new(admin_token)),
            metrics,
            limits,
            readiness: Arc::new(Cached::new(PROBE_CACHE)),
            queue_stats: Arc::new(Cached::new(PROBE_CACHE)),
            health: crate::health::Health::default(),
            needs_helpdesk: false,
            console: Arc::default(),
        }
    }

    pub fn with_console(mut self, settings: crate::console::Settings) -> Self {
        self.console = Arc::new(settings);
        self
    }

    /// The dependencies' health as the workers see it; `needs_helpdesk`: a helpdesk outage
    /// makes this process unready.
    pub fn with_health(mut self, health: crate::health::Health, needs_helpdesk: bool) -> Self {
        self.health = health;
        self.needs_helpdesk = needs_helpdesk;
        self
    }
}

/// All routes. `receive_webhooks` is false for the `work` role (probes and metrics only).
pub fn router(state: HttpState, receive_webhooks: bool) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(api::routes())
        .merge(crate::console::routes());
    if receive_webhooks {
        // Past the limit, requests are shed at once rather than queued: each one may hold a
        // body of up to MAX_BODY_BYTES, and Zendesk retries a 503 that has a Retry-After.
        let bounded = ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                outcome("shed");
                ApiError::Unavailable(
                    "too many webhook requests at once; retry shortly".into(),
                    "overloaded",
                )
            }))
            .load_shed()
            .concurrency_limit(state.limits.webhook_concurrency);
        router = router.route(
            "/webhooks/{helpdesk}",
            post(webhook).layer::<_, std::convert::Infallible>(bounded),
        );
    }
    // A slow answer is a 503 with Retry-After, which Zendesk retries; never a 408.
    router
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::map_response(with_retry_after))
        .with_state(state)
}

/// Every 503 says when to come back (the timeout layer's own answers too).
async fn with_retry_after(mut response: axum::response::Response) -> axum::response::Response {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        && !response
            .headers()
            .contains_key(axum::http::header::RETRY_AFTER)
    {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static(error::RETRY_AFTER_SECS),
        );
    }
    response
}

/// A queue that takes longer than this to store an event is answered 503 (Zendesk retries),
/// well inside Zendesk's own request timeout.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn outcome(outcome: &'static str) {
    metrics::counter!("onbehalf_webhooks_total", "outcome" => outcome).increment(1);
}

/// The body, refused by its `Content-Length` before any of it is read, and cut off past
/// `limit` or the read timeout when it comes chunked or slowly.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        outcome("too_large");
        return Err(ApiError::TooLarge(limit));
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut bytes = Vec::with_capacity(declared.unwrap_or(0) as usize);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                outcome("malformed");
                ApiError::BadRequest(
                    format!("the body could not be read: {e}"),
                    "unreadable_body",
                )
            })?;
            if bytes.len() + chunk.len() > limit {
                outcome("too_large");
                return Err(ApiError::TooLarge(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(bytes))
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(read) => read,
        Err(_) => {
            outcome("slow_body");
            Err(ApiError::BodyTimeout(timeout.as_secs()))
        }
    }
}

/// The answer to a signature the helpdesk's scheme refused: a metrics label, a stable code and
/// a message that gives nothing away.
fn refused(e: SignatureError) -> ApiError {
    let (label, code, message) = match &e {
        // Only a correctly signed request gets this far; its skew goes to the log, and the
        // answer carries no clock reading.
        SignatureError::OutsideWindow(skew) => {
            tracing::warn!(skew = %skew, "signed webhook outside the timestamp window");
            (
                "stale",
                "stale_timestamp",
                "signature timestamp is outside the accepted window",
            )
        }
        SignatureError::MissingHeader(_) => (
            "bad_signature",
            "missing_signature",
            "missing signature headers",
        ),
        SignatureError::BadTimestamp => (
            "bad_signature",
            "bad_timestamp",
            "signature timestamp is not an ISO-8601 time",
        ),
        SignatureError::Mismatch => ("bad_signature", "bad_signature", "signature does not match"),
        // The test secret is public: naming it tells an outsider nothing.
        SignatureError::TestSecret => ("bad_signature", "test_secret", ""),
    };
    outcome(label);
    let message = if message.is_empty() {
        e.to_string()
    } else {
        message.to_string()
    };
    ApiError::Unauthorized(message, code)
}

async fn webhook(
    State(state): State<HttpState>,
    Path(helpdesk): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let Some(integration) = state.helpdesks.named(&helpdesk).cloned() else {
        outcome("unknown_helpdesk");
        let configured = state.helpdesks.names().join(", ");
        return Err(ApiError::NotFound(format!(
            "no helpdesk named {:?} is configured here (configured: {configured})",
            helpdesk.chars().take(40).collect::<String>()
        )));
    };
    let body = read_body(
        &headers,
        body,
        integration.max_body_bytes(),
        state.limits.body_read_timeout,
    )
    .await?;
    let verified = integration
        .verify(&headers, body, OffsetDateTime::now_utc())
        .map_err(refused)?;
    let reception = integration.receive(&headers, &verified).map_err(|e| {
        outcome("malformed");
        ApiError::BadRequest(e.message, e.code)
    })?;
    let (event_id, ticket_id, source) = match reception {
        Reception::Ignored { event_id } => {
            outcome("ignored");
            return Ok((
                StatusCode::ACCEPTED,
                Json(serde_json::json!({"status": "ignored", "event_id": event_id})),
            ));
        }
        Reception::Queue {
            event_id,
            ticket_id,
            source,
        } => (event_id, ticket_id, source),
    };
    let envelope = Envelope {
        event_id: event_id.clone(),
        ticket_id: ticket_id.clone(),
        source,
        received_at_ms: (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
        body: verified.bytes().clone(),
    };
    let started = Instant::now();
    let published = tokio::time::timeout(PUBLISH_TIMEOUT, state.queue.publish(envelope))
        .await
        .unwrap_or_else(|_| {
            Err(crate::queue::QueueError::Unavailable(format!(
                "it did not store the event within {}s",
                PUBLISH_TIMEOUT.as_secs()
            )))
        });
    metrics::histogram!("onbehalf_queue_publish_seconds").record(started.elapsed().as_secs_f64());
    let answer = |word: &str| serde_json::json!({"status": word, "event_id": event_id, "ticket_id": ticket_id, "helpdesk": integration.name()});
    match published {
        Ok(PublishOutcome::Accepted) => {
            outcome("accepted");
            tracing::info!(helpdesk = integration.name(), %ticket_id, %event_id, "event queued");
            Ok((StatusCode::ACCEPTED, Json(answer("queued"))))
        }
        Ok(PublishOutcome::Duplicate) => {
            outcome("duplicate");
            Ok((StatusCode::OK, Json(answer("duplicate"))))
        }
        Err(e) => {
            outcome("unavailable");
            tracing::warn!(helpdesk = integration.name(), %ticket_id, %event_id, error = %e, "queue refused event");
            Err(ApiError::Unavailable(
                format!("the event was not queued: {e}; retry shortly"),
                "queue_unavailable",
            ))
        }
    }
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok"}))
}

#[derive(Clone)]
pub(crate) struct Readiness {
    pub queue: String,
    pub database: String,
}

async fn probe_readiness(state: &HttpState) -> Readiness {
    let probe = Duration::from_secs(2);
    let queue = match tokio::time::timeout(probe, state.queue.check()).await {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "queue did not answer within 2s".to_string(),
    };
    let database = match tokio::time::timeout(probe, state.store.check()).await {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "database did not answer within 2s".to_string(),
    };
    Readiness { queue, database }
}

/// The probes `/readyz` shares (at most one per [`PROBE_CACHE`]), and the queue's counts.
pub(crate) async fn dependency_probes(state: &HttpState) -> (Readiness, QueueStats) {
    let readiness = state
        .readiness
        .get_or_refresh(|| probe_readiness(state))
        .await;
    let stats = state
        .queue_stats
        .get_or_refresh(|| state.queue.stats())
        .await;
    (readiness, stats)
}

async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    let Readiness { queue, database } = state
        .readiness
        .get_or_refresh(|| probe_readiness(&state))
        .await;
    // Each helpdesk on its own; `helpdesk` stays "ok" only while every one answers.
    let helpdesks: serde_json::Map<String, serde_json::Value> = state
        .health
        .helpdesks()
        .into_iter()
        .map(|name| {
            let status = state
                .health
                .down_reason(crate::health::Dependency::Helpdesk(name))
                .unwrap_or_else(|| "ok".to_string());
            (name.to_string(), status.into())
        })
        .collect();
    let down_helpdesks: Vec<String> = helpdesks
        .iter()
        .filter(|(_, status)| *status != "ok")
        .map(|(name, status)| format!("{name}: {}", status.as_str().unwrap_or_default()))
        .collect();
    let helpdesk = if down_helpdesks.is_empty() {
        "ok".to_string()
    } else {
        down_helpdesks.join("; ")
    };
    let ready = queue == "ok" && database == "ok" && (helpdesk == "ok" || !state.needs_helpdesk);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let down: Vec<&str> = [
        ("queue", &queue),
        ("database", &database),
        ("helpdesk", &helpdesk),
    ]
    .into_iter()
    .filter(|(_, state)| *state != "ok")
    .map(|(name, _)| name)
    .collect();
    let mut body = serde_json::json!({
        "queue": queue, "database": database, "helpdesk": helpdesk, "helpdesks": helpdesks,
        "down": down,
    });
    if !ready {
        body["error"] = "not_ready".into();
        body["message"] =
            format!("queue: {queue}; database: {database}; helpdesk: {helpdesk}").into();
    }
    (status, Json(body))
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    let stats = state
        .queue_stats
        .get_or_refresh(|| state.queue.stats())
        .await;
    if let Some(ready) = stats.ready {
        metrics::gauge!("onbehalf_queue_depth").set(ready as f64);
    }
    if let Some(dead) = stats.dead {
        metrics::gauge!("onbehalf_dead_letters").set(dead as f64);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
}
