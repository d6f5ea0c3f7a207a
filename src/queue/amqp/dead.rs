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
use crate::queue::{DeadLetter, DeadLetterPage, DeadLetterQuery, QueueError};
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

/// A page of the dead queue in its order. The position is the event id of a page's last
/// message: the walk skips up to it, so a position whose message has left the dead queue
/// (requeued meanwhile) cannot be placed.
pub(super) async fn peek(
    session: &Session,
    topology: &Topology,
    query: &DeadLetterQuery,
) -> Result<DeadLetterPage, QueueError> {
    let channel = session.open_channel().await?;
    let mut found = Vec::new();
    let mut more = false;
    let walked = async {
        let mut placed = query.after.is_none();
        while let Some(message) = next(&channel, &topology.dead).await? {
            let props = &message.delivery.properties;
            if !placed {
                placed = headers::message_id(props).as_deref() == query.after.as_deref();
                continue;
            }
            if found.len() == query.limit {
                more = true;
                break;
            }
            found.push(headers::dead_letter(props));
        }
        if !placed {
            return Err(QueueError::BadPosition(format!(
                "after={:?} is not in the dead queue {} any more (requeued?): list from the start",
                query.after.as_deref().unwrap_or_default(),
                topology.dead
            )));
        }
        Ok::<_, QueueError>(())
    }
    .await;
    finish(channel).await;
    walked?;
    let next = if more {
        found.last().map(|d: &DeadLetter| d.event_id.clone())
    } else {
        None
    };
    Ok(DeadLetterPage {
        dead_letters: found,
        next,
    })
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
