//! The HTTP side: webhook receivers (one per helpdesk signature scheme), probes, metrics and
//! the admin API. Handlers are thin: verify, parse, hand to the queue, map the outcome.

pub mod api;
pub mod error;
pub mod signature;
pub mod trigger;
pub mod zendesk;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tower_http::timeout::TimeoutLayer;

use crate::config::Secret;
use crate::queue::{Envelope, PublishOutcome, Queue};
use crate::store::Store;
use error::ApiError;
use signature::{SignatureError, SignatureScheme};

/// Zendesk caps payloads at 256 KB; 1 MiB leaves room without inviting abuse.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct HttpState {
    pub queue: Arc<dyn Queue>,
    pub store: Store,
    pub zendesk: Arc<dyn SignatureScheme>,
    pub admin_token: Option<Secret>,
    pub metrics: PrometheusHandle,
    /// Dependencies the workers found down (the helpdesk's state is known only from them).
    pub health: crate::health::Health,
    /// Whether a helpdesk outage makes this process unready: only for a process that does not
    /// receive webhooks (a receiver must keep taking them: they queue).
    pub needs_helpdesk: bool,
}

/// All routes. `receive_webhooks` is false for the `work` role (probes and metrics only).
pub fn router(state: HttpState, receive_webhooks: bool) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(api::routes());
    if receive_webhooks {
        router = router.route(
            "/webhooks/zendesk",
            post(zendesk_webhook).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
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

async fn zendesk_webhook(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            outcome("too_large");
            ApiError::TooLarge(MAX_BODY_BYTES)
        } else {
            outcome("malformed");
            ApiError::BadRequest(rejection.body_text(), "unreadable_body")
        }
    })?;
    state
        .zendesk
        .verify(&headers, &body, OffsetDateTime::now_utc())
        .map_err(|e| {
            let (label, code) = match &e {
                SignatureError::OutsideWindow(_) => ("stale", "stale_timestamp"),
                SignatureError::MissingHeader(_) => ("bad_signature", "missing_signature"),
                SignatureError::BadTimestamp => ("bad_signature", "bad_timestamp"),
                SignatureError::Mismatch => ("bad_signature", "bad_signature"),
                SignatureError::TestSecret => ("bad_signature", "test_secret"),
            };
            outcome(label);
            ApiError::Unauthorized(e.to_string(), code)
        })?;
    if let Some(changed) = trigger::parse(&body) {
        return trigger::queue(&state, &headers, body, changed).await;
    }
    let event = zendesk::parse_header(&body).map_err(|e| {
        outcome("malformed");
        ApiError::BadRequest(e.to_string(), e.code())
    })?;
    // A handled type that names no ticket gives the workflow nothing to act on either.
    if !zendesk::is_handled(&event.event_type) || event.ticket_id.is_empty() {
        outcome("ignored");
        tracing::debug!(event_id = %event.event_id, event_type = %event.event_type, "event type not handled");
        return Ok((
            StatusCode::ACCEPTED,
            Json(serde_json::json!({"status": "ignored", "event_id": event.event_id})),
        ));
    }
    let envelope = Envelope {
        event_id: event.event_id.clone(),
        ticket_id: event.ticket_id.clone(),
        source: "zendesk".into(),
        received_at_ms: (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
        body,
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
    match published {
        Ok(PublishOutcome::Accepted) => {
            outcome("accepted");
            tracing::info!(ticket_id = %event.ticket_id, event_id = %event.event_id, "event queued");
            Ok((
                StatusCode::ACCEPTED,
                Json(serde_json::json!({"status": "queued", "event_id": event.event_id})),
            ))
        }
        Ok(PublishOutcome::Duplicate) => {
            outcome("duplicate");
            Ok((
                StatusCode::OK,
                Json(serde_json::json!({"status": "duplicate", "event_id": event.event_id})),
            ))
        }
        Err(e) => {
            outcome("unavailable");
            tracing::warn!(ticket_id = %event.ticket_id, event_id = %event.event_id, error = %e, "queue refused event");
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

async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
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
    let helpdesk = state
        .health
        .down_reason(crate::health::Dependency::Helpdesk)
        .unwrap_or_else(|| "ok".to_string());
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
        "queue": queue, "database": database, "helpdesk": helpdesk, "down": down,
    });
    if !ready {
        body["error"] = "not_ready".into();
        body["message"] =
            format!("queue: {queue}; database: {database}; helpdesk: {helpdesk}").into();
    }
    (status, Json(body))
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    let stats = state.queue.stats().await;
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
