//! Envelope ↔ AMQP message: the envelope's fields travel as properties and headers, the body
//! untouched.

use crate::queue::{DeadLetter, Envelope, QueueError};
use bytes::Bytes;
use lapin::{
    BasicProperties,
    types::{AMQPValue, FieldTable, LongString, ShortString},
};

pub(super) const TICKET_ID: &str = "x-onbehalf-ticket-id";
pub(super) const SOURCE: &str = "x-onbehalf-source";
pub(super) const RECEIVED_AT_MS: &str = "x-onbehalf-received-at-ms";
/// The attempt this copy of the message starts at (1 for a fresh event).
pub(super) const ATTEMPT: &str = "x-onbehalf-attempt";
pub(super) const LAST_ERROR: &str = "x-onbehalf-last-error";
pub(super) const REASON: &str = "x-onbehalf-reason";
pub(super) const ATTEMPTS: &str = "x-onbehalf-attempts";
/// Unix ms when a worker first took the event; carried by retry copies and dead letters.
pub(super) const FIRST_ATTEMPT_AT_MS: &str = "x-onbehalf-first-attempt-at-ms";
/// Unix ms when the attempt that dead-lettered it started.
pub(super) const LAST_ATTEMPT_AT_MS: &str = "x-onbehalf-last-attempt-at-ms";
/// Set by quorum queues on redelivery (crashes, channel losses, requeues).
const DELIVERY_COUNT: &str = "x-delivery-count";
const X_DEATH: &str = "x-death";

/// Error texts become headers: keep them well inside a frame.
const MAX_TEXT: usize = 2000;
const PERSISTENT: u8 = 2;

/// Properties of a message carrying `envelope` as attempt `attempt`, plus `extra` headers.
pub(super) fn properties(
    envelope: &Envelope,
    attempt: u32,
    extra: &[(&str, Header)],
) -> Result<BasicProperties, QueueError> {
    let message_id = ShortString::try_new(envelope.event_id.as_str())
        .map_err(|_| QueueError::Refused("event id is longer than 255 bytes".into()))?;
    let mut headers = FieldTable::default();
    headers.insert(TICKET_ID.into(), text(envelope.ticket_id.as_str()));
    headers.insert(SOURCE.into(), text(&envelope.source));
    headers.insert(
        RECEIVED_AT_MS.into(),
        AMQPValue::LongLongInt(envelope.received_at_ms),
    );
    headers.insert(ATTEMPT.into(), AMQPValue::LongLongInt(i64::from(attempt)));
    for (name, value) in extra {
        let value = match value {
            Header::Text(s) => text(s),
            Header::Int(n) => AMQPValue::LongLongInt(*n),
        };
        headers.insert((*name).into(), value);
    }
    Ok(BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_message_id(message_id)
        .with_timestamp(u64::try_from(envelope.received_at_ms / 1000).unwrap_or(0))
        .with_headers(headers))
}

pub(super) enum Header<'a> {
    Text(&'a str),
    Int(i64),
}

/// What a delivery carries besides the envelope.
#[derive(Debug)]
pub(super) struct Received {
    pub envelope: Envelope,
    /// Header attempt plus crash redeliveries of this copy.
    pub attempt: u32,
    pub last_error: Option<String>,
    /// When an earlier copy's first attempt started (`None` on a fresh event).
    pub first_attempt_at_ms: Option<i64>,
}

/// Reads an envelope back; `Err` names what is missing (a message we did not publish).
pub(super) fn read(
    props: &BasicProperties,
    body: Vec<u8>,
    redelivered: bool,
) -> Result<Received, String> {
    let event_id = props
        .message_id()
        .as_ref()
        .map(|id| id.as_str().to_owned())
        .filter(|id| !id.is_empty())
        .ok_or("no message_id (event id)")?;
    let empty = FieldTable::default();
    let headers = props.headers().as_ref().unwrap_or(&empty);
    let ticket_id = get_text(headers, TICKET_ID).ok_or("no ticket id header")?;
    let source = get_text(headers, SOURCE).ok_or("no source header")?;
    let received_at_ms = get_int(headers, RECEIVED_AT_MS).ok_or("no received-at header")?;
    let base = get_int(headers, ATTEMPT)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1)
        .max(1);
    // A crash before settling does not touch our header, but the quorum queue counts it.
    let crashes = match get_int(headers, DELIVERY_COUNT) {
        Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
        None => u32::from(redelivered),
    };
    Ok(Received {
        envelope: Envelope {
            event_id,
            ticket_id: ticket_id.into(),
            source,
            received_at_ms,
            body: Bytes::from(body),
        },
        attempt: base.saturating_add(crashes),
        last_error: get_text(headers, LAST_ERROR),
        first_attempt_at_ms: get_int(headers, FIRST_ATTEMPT_AT_MS),
    })
}

/// Describes a message of the dead queue: our headers when we dead-lettered it, otherwise the
/// broker's `x-death` record (e.g. `delivery_limit` after repeated crashes).
pub(super) fn dead_letter(props: &BasicProperties) -> DeadLetter {
    let empty = FieldTable::default();
    let headers = props.headers().as_ref().unwrap_or(&empty);
    let death = first_death(headers);
    let attempts = get_int(headers, ATTEMPTS)
        .or_else(|| {
            // Broker dead-lettering: the copy's starting attempt plus its deliveries.
            let count = death.and_then(|d| get_int(d, "count")).unwrap_or(0);
            let base = get_int(headers, ATTEMPT).unwrap_or(1);
            let delivered = get_int(headers, DELIVERY_COUNT).unwrap_or(count);
            Some(base.saturating_add(delivered))
        })
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    let reason = get_text(headers, REASON)
        .or_else(|| {
            death
                .and_then(|d| get_text(d, "reason"))
                .map(|r| format!("dead-lettered by the broker: {r}"))
        })
        .unwrap_or_else(|| "unknown".into());
    // The broker's record has the time (seconds) it dead-lettered the message: the end of
    // the last delivery, the closest to its start there is.
    let last_attempt_at = get_int(headers, LAST_ATTEMPT_AT_MS).or_else(|| {
        death
            .and_then(|d| get_int(d, "time"))
            .map(|secs| secs.saturating_mul(1000))
    });
    DeadLetter {
        event_id: message_id(props).unwrap_or_default(),
        ticket_id: get_text(headers, TICKET_ID).unwrap_or_default().into(),
        source: get_text(headers, SOURCE).unwrap_or_default(),
        attempts,
        reason,
        received_at: get_int(headers, RECEIVED_AT_MS).unwrap_or(0),
        first_attempt_at: get_int(headers, FIRST_ATTEMPT_AT_MS),
        last_attempt_at,
    }
}

pub(super) fn message_id(props: &BasicProperties) -> Option<String> {
    props.message_id().as_ref().map(|id| id.as_str().to_owned())
}

fn first_death(headers: &FieldTable) -> Option<&FieldTable> {
    match headers.inner().get(X_DEATH)? {
        AMQPValue::FieldArray(deaths) => deaths.as_slice().iter().find_map(|d| match d {
            AMQPValue::FieldTable(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

/// Cuts `s` to at most `MAX_TEXT` bytes on a character boundary.
pub(super) fn clip(s: &str) -> &str {
    if s.len() <= MAX_TEXT {
        return s;
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
}

fn get_text(table: &FieldTable, key: &str) -> Option<String> {
    match table.inner().get(key)? {
        AMQPValue::LongString(s) => String::from_utf8(s.as_bytes().to_vec()).ok(),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// Integers may come back in any width (other clients, shovels, the broker's own headers).
fn get_int(table: &FieldTable, key: &str) -> Option<i64> {
    Some(match table.inner().get(key)? {
        AMQPValue::ShortShortInt(n) => i64::from(*n),
        AMQPValue::ShortShortUInt(n) => i64::from(*n),
        AMQPValue::ShortInt(n) => i64::from(*n),
        AMQPValue::ShortUInt(n) => i64::from(*n),
        AMQPValue::LongInt(n) => i64::from(*n),
        AMQPValue::LongUInt(n) => i64::from(*n),
        AMQPValue::LongLongInt(n) => *n,
        AMQPValue::Timestamp(n) => i64::try_from(*n).ok()?,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            event_id: "ev-1".into(),
            ticket_id: "42".into(),
            source: "zendesk".into(),
            received_at_ms: 1_700_000_000_123,
            body: Bytes::from_static(b"{\"a\":1}"),
        }
    }

    #[test]
    fn envelope_survives_the_headers() {
        let props = properties(&envelope(), 3, &[(LAST_ERROR, Header::Text("boom"))]).unwrap();
        assert_eq!(props.delivery_mode(), &Some(PERSISTENT));
        let got = read(&props, b"{\"a\":1}".to_vec(), false).unwrap();
        assert_eq!(got.envelope, envelope());
        assert_eq!(got.attempt, 3);
        assert_eq!(got.last_error.as_deref(), Some("boom"));
        assert_eq!(got.first_attempt_at_ms, None);
    }

    #[test]
    fn a_dead_letter_shows_its_source_and_attempt_times() {
        let props = properties(
            &envelope(),
            4,
            &[
                (REASON, Header::Text("gave up after 4 attempts: boom")),
                (ATTEMPTS, Header::Int(4)),
                (FIRST_ATTEMPT_AT_MS, Header::Int(1_700_000_001_000)),
                (LAST_ATTEMPT_AT_MS, Header::Int(1_700_000_009_000)),
            ],
        )
        .unwrap();
        let dead = dead_letter(&props);
        assert_eq!(dead.source, "zendesk");
        assert_eq!(dead.received_at, 1_700_000_000_123);
        assert_eq!(dead.first_attempt_at, Some(1_700_000_001_000));
        assert_eq!(dead.last_attempt_at, Some(1_700_000_009_000));
        assert_eq!(dead.attempts, 4);
    }

    #[test]
    fn crash_redeliveries_raise_the_attempt() {
        let mut props = properties(&envelope(), 2, &[]).unwrap();
        let mut headers = props.headers().clone().unwrap();
        headers.insert(DELIVERY_COUNT.into(), AMQPValue::LongLongInt(2));
        props = props.with_headers(headers);
        assert_eq!(read(&props, vec![], true).unwrap().attempt, 4);
        let plain = properties(&envelope(), 1, &[]).unwrap();
        assert_eq!(read(&plain, vec![], true).unwrap().attempt, 2);
    }

    #[test]
    fn foreign_messages_are_rejected_and_long_ids_refused() {
        assert!(read(&BasicProperties::default(), vec![], false).is_err());
        let mut long = envelope();
        long.event_id = "x".repeat(300);
        assert!(matches!(
            properties(&long, 1, &[]),
            Err(QueueError::Refused(_))
        ));
    }

    #[test]
    fn clip_keeps_char_boundaries() {
        let s = "é".repeat(MAX_TEXT);
        let c = clip(&s);
        assert!(c.len() <= MAX_TEXT && c.chars().all(|ch| ch == 'é'));
    }
}
