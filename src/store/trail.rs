//! The confirmation trail's record format, canonical form and hash chain (pure; the store
//! appends).
//!
//! `hash = hex(sha256(prev_hash || JCS(record without "hash")))`, where `prev_hash` is the
//! previous record's hash as 64 ASCII hex digits (64 zeros for the first record) and JCS is the
//! JSON Canonicalization Scheme of RFC 8785. With a trail key, `hmac = hex(HMAC-SHA256(key,
//! JCS(record without "hash" and "hmac")))` is computed first and the hash covers it.
//!
//! Three record formats exist, and a record says which it is by the presence of `"format"`:
//! - format 1 (no `format` key; written before anchors and keys): the twelve fields of
//!   INTERFACES.md. Its canonical form is those fields minus `hash`. These records were hashed
//!   as "keys sorted, no whitespace" by serde_json, which for their ASCII keys, strings and
//!   integer `seq` is byte for byte JCS, so they verify unchanged.
//! - format 2 (`"format": 2`): adds `channel`, `body_sha256`, `withdraws_seq`,
//!   `altered_for_storage` and `hmac`, always present (`null` / `[]` when empty), all hashed.
//!   Its helpdesk is Zendesk's (the only one before format 3), and Zendesk's records are still
//!   written in it, so a verifier written for format 2 keeps verifying a Zendesk trail.
//! - format 3 (`"format": 3`): format 2 plus `helpdesk` (`"zammad"`…), hashed: the records of
//!   every other helpdesk, so a record names where its ticket and comments live.
//!
//! A record parsed from an export must carry exactly the fields of its format: an extra field
//! would be data no hash covers, so it is refused.

mod anchor;
mod export;
mod key;
mod verdict;
mod verify;

pub use anchor::{ANCHOR_PLACEHOLDER, Anchor, fill_anchors};
pub use export::{ExportReport, Trailer, verify_export};
pub use key::{MIN_KEY_BYTES, TrailKey, TrailKeyError};
pub use verdict::RecordedVerdict;
pub use verify::{ChainBreak, ChainVerifier, Expectation, Head, TrailReport, VerifyOptions};

use canon_json::CanonJsonSerialize;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;

use super::storable::{REPLACED, REPLACEMENT, code_point, storable_counted};
use crate::workflow::{CommentId, ConfirmationDraft, ConsentVerdict, TicketId};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Which fields a record has and its hash covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecordFormat {
    /// The original twelve fields (no `format` key).
    V1,
    /// Adds channel, body digest, withdrawal link, storage alterations and HMAC.
    V2,
    /// Adds the helpdesk's name.
    V3,
}

/// The helpdesk of every format-2 record (and of format 1's).
pub const FORMAT_2_HELPDESK: &str = "zendesk";

impl RecordFormat {
    pub const CURRENT: RecordFormat = RecordFormat::V2;

    pub fn number(self) -> u32 {
        match self {
            RecordFormat::V1 => 1,
            RecordFormat::V2 => 2,
            RecordFormat::V3 => 3,
        }
    }
}

/// A change the store made to a text so the database could hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alteration {
    /// The record field that was altered, e.g. `quote`.
    pub field: String,
    /// The character replaced (`U+0000`).
    pub replaced: String,
    /// What replaced it (`U+FFFD`).
    pub with: String,
    /// How many characters were replaced.
    pub count: u64,
}

/// One line of `/api/confirmations`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Wire")]
pub struct ConfirmationRecord {
    pub seq: i64,
    pub format: RecordFormat,
    pub ticket_id: TicketId,
    pub requester_id: String,
    pub category: String,
    pub action: String,
    pub verdict: RecordedVerdict,
    pub quote: String,
    pub request_comment_id: CommentId,
    pub reply_comment_id: CommentId,
    pub decided_at: String,
    /// The reply's channel (`via.channel`). Format 2.
    pub channel: Option<String>,
    /// sha256 (hex) of the reply's whole body as the helpdesk held it. Format 2.
    pub body_sha256: Option<String>,
    /// The granted record this one withdraws. Format 2.
    pub withdraws_seq: Option<i64>,
    /// What the store had to change so the database could hold the texts. Format 2.
    pub altered_for_storage: Vec<Alteration>,
    /// HMAC-SHA256 with the trail key, when the writer had one. Format 2.
    pub hmac: Option<String>,
    /// The helpdesk the ticket belongs to. Format 3 (earlier formats: Zendesk's).
    pub helpdesk: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("decided_at cannot be written as RFC 3339: {0}")]
    Time(String),
    #[error("canonical JSON: {0}")]
    Canonical(String),
    #[error("a {0:?} verdict is never recorded")]
    NotRecorded(ConsentVerdict),
}

impl ConfirmationRecord {
    /// The record a draft becomes at `seq`, after `prev_hash`: texts made storable (and the
    /// alterations noted), HMAC'd with `key` when given, hashed.
    pub fn from_draft(
        draft: &ConfirmationDraft,
        seq: i64,
        prev_hash: &str,
        withdraws_seq: Option<i64>,
        key: Option<&TrailKey>,
    ) -> Result<ConfirmationRecord, RecordError> {
        let verdict =
            RecordedVerdict::of(draft.verdict).ok_or(RecordError::NotRecorded(draft.verdict))?;
        let decided_at = draft
            .decided_at
            .to_offset(time::UtcOffset::UTC)
            .format(&Rfc3339)
            .map_err(|e| RecordError::Time(e.to_string()))?;
        let mut altered = vec![];
        let mut text = |field: &str, value: &str| -> String {
            let (stored, count) = storable_counted(value);
            if count > 0 {
                altered.push(Alteration {
                    field: field.to_string(),
                    replaced: code_point(REPLACED),
                    with: code_point(REPLACEMENT),
                    count: count as u64,
                });
            }
            stored.into_owned()
        };
        let mut record = ConfirmationRecord {
            seq,
            format: RecordFormat::CURRENT,
            ticket_id: text("ticket_id", draft.ticket_id.as_str()).into(),
            requester_id: text("requester_id", &draft.requester_id),
            category: draft.category.as_str().to_string(),
            action: text("action", &draft.action),
            verdict,
            quote: text("quote", &draft.quote),
            request_comment_id: text("request_comment_id", draft.request_comment_id.as_str())
                .into(),
            reply_comment_id: text("reply_comment_id", draft.reply_comment_id.as_str()).into(),
            decided_at,
            channel: draft.channel.as_deref().map(|c| text("channel", c)),
            body_sha256: Some(draft.body_sha256.as_str())
                .filter(|s| !s.is_empty())
                .map(|s| text("body_sha256", s)),
            withdraws_seq,
            altered_for_storage: vec![],
            hmac: None,
            helpdesk: None,
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        record.altered_for_storage = altered;
        record.seal(key)?;
        Ok(record)
    }

    /// The record of `helpdesk`'s ticket: format 2 for Zendesk's, format 3 (naming the
    /// helpdesk) for any other's.
    pub fn from_draft_of(
        helpdesk: &str,
        draft: &ConfirmationDraft,
        seq: i64,
        prev_hash: &str,
        withdraws_seq: Option<i64>,
        key: Option<&TrailKey>,
    ) -> Result<ConfirmationRecord, RecordError> {
        let mut record = ConfirmationRecord::from_draft(draft, seq, prev_hash, withdraws_seq, key)?;
        if helpdesk != FORMAT_2_HELPDESK {
            record.format = RecordFormat::V3;
            record.helpdesk = Some(helpdesk.to_string());
            record.seal(key)?;
        }
        Ok(record)
    }

    /// The helpdesk the record's ticket belongs to, whatever its format.
    pub fn helpdesk(&self) -> &str {
        self.helpdesk.as_deref().unwrap_or(FORMAT_2_HELPDESK)
    }

    /// Sets `hmac` (format 2, with a key) and then `hash` from the other fields.
    pub fn seal(&mut self, key: Option<&TrailKey>) -> Result<(), RecordError> {
        self.hmac = match (self.format, key) {
            (RecordFormat::V2 | RecordFormat::V3, Some(key)) => Some(key.sign(&self.hmac_input()?)),
            _ => None,
        };
        self.hash = self.try_compute_hash()?;
        Ok(())
    }

    /// The JCS bytes the hash covers: every field but `hash`.
    pub fn canonical_json(&self) -> Result<Vec<u8>, RecordError> {
        View(self, Omit { hmac: false })
            .to_canon_json_vec()
            .map_err(|e| RecordError::Canonical(e.to_string()))
    }

    /// The JCS bytes the HMAC covers: every field but `hash` and `hmac`.
    pub fn hmac_input(&self) -> Result<Vec<u8>, RecordError> {
        View(self, Omit { hmac: true })
            .to_canon_json_vec()
            .map_err(|e| RecordError::Canonical(e.to_string()))
    }

    fn try_compute_hash(&self) -> Result<String, RecordError> {
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(self.canonical_json()?);
        Ok(hex::encode(hasher.finalize()))
    }

    /// The hash this record must carry, given its other fields (empty if it has none, which
    /// matches no stored hash).
    pub fn compute_hash(&self) -> String {
        self.try_compute_hash().unwrap_or_default()
    }

    /// Whether `key` made this record's HMAC.
    pub fn hmac_matches(&self, key: &TrailKey) -> bool {
        match (&self.hmac, self.hmac_input()) {
            (Some(tag), Ok(input)) => key.verify(&input, tag),
            _ => false,
        }
    }

    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

#[derive(Clone, Copy)]
struct Omit {
    hmac: bool,
}

/// The record as a JSON object, `hash` left out (canonical forms) or not (the export).
struct View<'a>(&'a ConfirmationRecord, Omit);

impl View<'_> {
    fn write<M: SerializeMap>(&self, map: &mut M, with_hash: bool) -> Result<(), M::Error> {
        let r = self.0;
        let v2 = r.format >= RecordFormat::V2;
        map.serialize_entry("seq", &r.seq)?;
        if v2 {
            map.serialize_entry("format", &r.format.number())?;
        }
        if r.format >= RecordFormat::V3 {
            map.serialize_entry("helpdesk", &r.helpdesk)?;
        }
        map.serialize_entry("ticket_id", &r.ticket_id)?;
        map.serialize_entry("requester_id", &r.requester_id)?;
        map.serialize_entry("category", &r.category)?;
        map.serialize_entry("action", &r.action)?;
        map.serialize_entry("verdict", &r.verdict)?;
        map.serialize_entry("quote", &r.quote)?;
        map.serialize_entry("request_comment_id", &r.request_comment_id)?;
        map.serialize_entry("reply_comment_id", &r.reply_comment_id)?;
        map.serialize_entry("decided_at", &r.decided_at)?;
        if v2 {
            map.serialize_entry("channel", &r.channel)?;
            map.serialize_entry("body_sha256", &r.body_sha256)?;
            map.serialize_entry("withdraws_seq", &r.withdraws_seq)?;
            map.serialize_entry("altered_for_storage", &r.altered_for_storage)?;
        }
        map.serialize_entry("prev_hash", &r.prev_hash)?;
        if v2 && !self.1.hmac {
            map.serialize_entry("hmac", &r.hmac)?;
        }
        if with_hash {
            map.serialize_entry("hash", &r.hash)?;
        }
        Ok(())
    }
}

impl Serialize for View<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        self.write(&mut map, false)?;
        map.end()
    }
}

impl Serialize for ConfirmationRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        View(self, Omit { hmac: false }).write(&mut map, true)?;
        map.end()
    }
}

/// A record line as read, before its format is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    seq: i64,
    #[serde(default, deserialize_with = "present")]
    format: Option<u32>,
    ticket_id: String,
    requester_id: String,
    category: String,
    action: String,
    verdict: String,
    quote: String,
    request_comment_id: String,
    reply_comment_id: String,
    decided_at: String,
    #[serde(default, deserialize_with = "present")]
    channel: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    body_sha256: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    withdraws_seq: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    altered_for_storage: Option<Vec<Alteration>>,
    #[serde(default, deserialize_with = "present")]
    hmac: Option<Option<String>>,
    #[serde(default)]
    helpdesk: Option<String>,
    prev_hash: String,
    hash: String,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl TryFrom<Wire> for ConfirmationRecord {
    type Error = String;

    fn try_from(w: Wire) -> Result<Self, String> {
        let format = match w.format {
            None => RecordFormat::V1,
            Some(2) => RecordFormat::V2,
            Some(3) => RecordFormat::V3,
            Some(1) => {
                return Err(
                    "`format: 1` is never written: format-1 records have no `format` key".into(),
                );
            }
            Some(n) => {
                return Err(format!(
                    "record format {n} is unknown to this onbehalf (a newer version wrote it)"
                ));
            }
        };
        let v2_fields = [
            ("channel", w.channel.is_some()),
            ("body_sha256", w.body_sha256.is_some()),
            ("withdraws_seq", w.withdraws_seq.is_some()),
            ("altered_for_storage", w.altered_for_storage.is_some()),
            ("hmac", w.hmac.is_some()),
        ];
        for (name, given) in v2_fields {
            match (format, given) {
                (RecordFormat::V1, true) => {
                    return Err(format!(
                        "a format-1 record carries `{name}`, which its hash does not cover"
                    ));
                }
                (RecordFormat::V2 | RecordFormat::V3, false) => {
                    return Err(format!(
                        "a format-{} record lacks `{name}`",
                        format.number()
                    ));
                }
                _ => {}
            }
        }
        match (format, &w.helpdesk) {
            (RecordFormat::V3, None) => return Err("a format-3 record lacks `helpdesk`".into()),
            (RecordFormat::V1 | RecordFormat::V2, Some(_)) => {
                return Err(format!(
                    "a format-{} record carries `helpdesk`, which its hash does not cover",
                    format.number()
                ));
            }
            _ => {}
        }
        Ok(ConfirmationRecord {
            seq: w.seq,
            format,
            ticket_id: w.ticket_id.into(),
            requester_id: w.requester_id,
            category: w.category,
            action: w.action,
            verdict: RecordedVerdict::from_stored(w.verdict),
            quote: w.quote,
            request_comment_id: w.request_comment_id.into(),
            reply_comment_id: w.reply_comment_id.into(),
            decided_at: w.decided_at,
            channel: w.channel.flatten(),
            body_sha256: w.body_sha256.flatten(),
            withdraws_seq: w.withdraws_seq.flatten(),
            altered_for_storage: w.altered_for_storage.unwrap_or_default(),
            hmac: w.hmac.flatten(),
            helpdesk: w.helpdesk,
            prev_hash: w.prev_hash,
            hash: w.hash,
        })
    }
}

#[cfg(test)]
mod tests;
