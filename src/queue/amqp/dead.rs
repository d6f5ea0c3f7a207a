//! Inspecting and replaying the dead queue.
//!
//! Both operations walk the queue with `basic.get` on a private channel without acking: a message
//! fetched and left unacked is not handed out again on that channel, so the walk visits each
//! message once and ends when the queue reports empty. Closing the channel puts every message
//! that was only looked at back in its place. While a walk runs, the messages it holds are
//! invisible to other readers of the dead queue (nobody consumes it in normal operation).

use super::{
    headers,
    session::{Session, bounded},
    topology::{EVENTS_KEY, Topology},
};
use crate::queue::{DeadLetter, QueueError};
use lapin::{
    Channel,
    message::BasicGetMessage,
    options::{BasicAckOptions, BasicGetOptions},
};

async fn next(channel: &Channel, queue: &str) -> Result<Option<BasicGetMessage>, QueueError> {
    bounded(
        "reading the dead queue",
        channel.basic_get(queue.into(), BasicGetOptions { no_ack: false }),
    )
    .await
}

async fn finish(channel: Channel) {
    let _ = tokio::time::timeout(super::session::OP_TIMEOUT, channel.close(200, "OK".into())).await;
}

pub(super) async fn peek(
    session: &Session,
    topology: &Topology,
    limit: usize,
) -> Result<Vec<DeadLetter>, QueueError> {
    let channel = session.open_channel().await?;
    let mut found = Vec::new();
    let walked = async {
        while found.len() < limit {
            let Some(message) = next(&channel, &topology.dead).await? else {
                break;
            };
            found.push(headers::dead_letter(&message.delivery.properties));
        }
        Ok::<_, QueueError>(())
    }
    .await;
    finish(channel).await;
    walked.map(|()| found)
}

/// Publishes each matching dead letter to the events exchange as a fresh event (attempt 1),
/// and acks it from the dead queue only after the broker confirmed the copy.
pub(super) async fn requeue(
    session: &Session,
    topology: &Topology,
    event_id: Option<&str>,
) -> Result<u64, QueueError> {
    let channel = session.open_channel().await?;
    let mut moved = 0;
    let walked = async {
        while let Some(message) = next(&channel, &topology.dead).await? {
            let delivery = message.delivery;
            let id = delivery
                .properties
                .message_id()
                .as_ref()
                .map(|m| m.as_str());
            if event_id.is_some_and(|wanted| id != Some(wanted)) {
                continue;
            }
            // Our own headers survive dead-lettering; a message without them is not ours
            // and stays where it is.
            let Ok(received) = headers::read(&delivery.properties, delivery.data, false) else {
                continue;
            };
            let props = headers::properties(&received.envelope, 1, &[])?;
            session
                .publish(&topology.events, EVENTS_KEY, props, &received.envelope.body)
                .await?;
            let acked = bounded(
                "acking the dead letter",
                delivery.acker.ack(BasicAckOptions::default()),
            )
            .await?;
            if !acked {
                return Err(QueueError::Unavailable(
                    "channel closed before removing the dead letter".into(),
                ));
            }
            moved += 1;
        }
        Ok::<_, QueueError>(())
    }
    .await;
    finish(channel).await;
    walked.map(|()| moved)
}
