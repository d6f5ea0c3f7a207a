//! The reference receiver: only the work no receiver can skip. Verify the signature, parse the
//! JSON, publish it persistently to a quorum queue and wait for the broker's confirm, answer
//! 202. `onbehalf receive` is measured against this.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use onbehalf::config::Secret;
use onbehalf::helpdesk::zendesk::signature::{SignatureScheme, ZendeskSignature};
use serde::Deserialize;
use time::OffsetDateTime;

/// A broker that does not answer within this is treated as down (503), as the service does.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, clap::Args)]
pub struct ReferenceArgs {
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    pub amqp: String,
    #[arg(long, default_value = "onbehalf-bench-reference")]
    pub queue: String,
    #[arg(long)]
    pub secret: String,
}

struct Reference {
    channel: Channel,
    queue: ShortString,
    signature: ZendeskSignature,
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    detail: Detail<'a>,
}

#[derive(Deserialize)]
struct Detail<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

pub async fn run(args: ReferenceArgs) -> anyhow::Result<()> {
    let connection = Connection::connect(&args.amqp, ConnectionProperties::default()).await?;
    // One confirm channel for all requests: measured to do as well as a pool.
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    let queue: ShortString = args.queue.as_str().into();
    channel
        .queue_declare(
            queue.clone(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            arguments,
        )
        .await?;
    let state = Arc::new(Reference {
        channel: channel.clone(),
        queue: queue.clone(),
        signature: ZendeskSignature::new(vec![Secret::new(args.secret)], Duration::from_secs(300)),
    });
    let router = Router::new()
        .route("/webhooks/zendesk", post(webhook))
        .route("/readyz", get(|| async { "ok" }))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    axum::serve(listener, router)
        .with_graceful_shutdown(crate::procs::stop_signal())
        .await?;
    channel
        .queue_delete(queue, QueueDeleteOptions::default())
        .await?;
    connection.close(200, "bye".into()).await?;
    Ok(())
}

async fn webhook(
    State(state): State<Arc<Reference>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if state
        .signature
        .verify(&headers, &body, OffsetDateTime::now_utc())
        .is_err()
    {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(header) = serde_json::from_slice::<Header<'_>>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_message_id(header.id.as_ref().into())
        .with_correlation_id(header.detail.id.as_ref().into());
    let publish = async {
        state
            .channel
            .basic_publish(
                "".into(),
                state.queue.clone(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &body,
                properties,
            )
            .await?
            .await
    };
    match tokio::time::timeout(PUBLISH_TIMEOUT, publish).await {
        // An unroutable mandatory publish is acked *with* the returned message: not queued.
        Ok(Ok(Confirmation::Ack(None))) => StatusCode::ACCEPTED,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}
