//! Re-checking a chain: each record's hash, its link to the previous one, its HMAC when the
//! key is given, and the heads an auditor kept from earlier exports.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{ConfirmationRecord, GENESIS_HASH, RecordFormat, RecordedVerdict, TrailKey};
use crate::workflow::TicketId;

/// A record named by its place and hash, as `audit head` prints it: `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

impl Head {
    /// The head of an empty trail.
    pub fn genesis() -> Head {
        Head {
            seq: 0,
            hash: GENESIS_HASH.to_string(),
        }
    }
}

impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl std::str::FromStr for Head {
    type Err = String;

    fn from_str(s: &str) -> Result<Head, String> {
        let bad = || {
            format!(
                "{s:?} is not SEQ:HASH (e.g. 42:<64 hex digits>, as `onbehalf audit head` prints)"
            )
        };
        let (seq, hash) = s.trim().split_once(':').ok_or_else(bad)?;
        let seq: i64 = seq.parse().map_err(|_| bad())?;
        let hash = hash.to_ascii_lowercase();
        if seq < 0 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Head { seq, hash })
    }
}

/// Where a chain stops being intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    pub seq: i64,
    pub problem: String,
}

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Check every record's HMAC with this key.
    pub key: Option<TrailKey>,
    /// Records that must be in the chain, exactly.
    pub expect: Vec<Head>,
}

/// An `--expect` and what the chain held at that place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub expected: Head,
    /// The hash found at that seq; `None` when the chain does not reach it.
    pub found: Option<String>,
}

impl Expectation {
    pub fn met(&self) -> bool {
        self.found.as_deref() == Some(self.expected.hash.as_str())
    }
}

/// The result of verifying a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailReport {
    /// Records checked before the first break (all of them when there is none).
    pub checked: u64,
    pub first_break: Option<ChainBreak>,
    /// The last intact record (genesis for an empty chain).
    pub head: Head,
    /// Records whose HMAC the key confirmed.
    pub hmac_checked: u64,
    /// Records without an HMAC before the first one that has one (written before the key).
    pub unkeyed: u64,
    pub expectations: Vec<Expectation>,
    /// Failures that belong to no single record (an HMAC key but no keyed record).
    pub problems: Vec<String>,
}

impl TrailReport {
    pub fn intact(&self) -> bool {
        self.first_break.is_none()
            && self.problems.is_empty()
            && self.expectations.iter().all(Expectation::met)
    }
}

/// Checks records in `seq` order.
pub struct ChainVerifier {
    options: VerifyOptions,
    expected_prev: String,
    expected_seq: i64,
    /// Below this seq the chain was not seen (an export that starts mid-trail).
    first_seq: i64,
    head: Head,
    checked: u64,
    hmac_checked: u64,
    unkeyed: u64,
    seen_v2: bool,
    /// Granted records seen, by seq, with their ticket: what a withdrawal may name.
    granted: HashMap<i64, TicketId>,
    found: HashMap<i64, String>,
    first_break: Option<ChainBreak>,
}

impl ChainVerifier {
    /// A chain from its first record.
    pub fn new(options: VerifyOptions) -> ChainVerifier {
        ChainVerifier::after(Head::genesis(), options)
    }

    /// A chain segment whose first record follows `previous` (an export with `after_seq`).
    pub fn after(previous: Head, options: VerifyOptions) -> ChainVerifier {
        ChainVerifier {
            options,
            expected_prev: previous.hash.clone(),
            expected_seq: previous.seq + 1,
            first_seq: previous.seq + 1,
            head: previous,
            checked: 0,
            hmac_checked: 0,
            unkeyed: 0,
            seen_v2: false,
            granted: HashMap::new(),
            found: HashMap::new(),
            first_break: None,
        }
    }

    /// Checks the next record; after the first break every later record is ignored.
    pub fn check(&mut self, record: &ConfirmationRecord) -> Result<(), ChainBreak> {
        if let Some(broken) = &self.first_break {
            return Err(broken.clone());
        }
        match self.problem(record) {
            None => {
                self.accept(record);
                Ok(())
            }
            Some(problem) => {
                let broken = ChainBreak {
                    seq: record.seq,
                    problem,
                };
                self.first_break = Some(broken.clone());
                Err(broken)
            }
        }
    }

    fn problem(&self, record: &ConfirmationRecord) -> Option<String> {
        if record.seq != self.expected_seq {
            return Some(if record.seq > self.expected_seq {
                format!(
                    "expected seq {}, found {}: record(s) {}..{} are missing",
                    self.expected_seq,
                    record.seq,
                    self.expected_seq,
                    record.seq - 1
                )
            } else {
                format!("expected seq {}, found {}", self.expected_seq, record.seq)
            });
        }
        if record.prev_hash != self.expected_prev {
            return Some("prev_hash does not match the previous record's hash".into());
        }
        if record.compute_hash() != record.hash {
            return Some("hash does not match the record's content (altered)".into());
        }
        if let RecordedVerdict::Unrecognised(verdict) = &record.verdict {
            return Some(format!("verdict {verdict:?} is not granted/declined"));
        }
        if record.format == RecordFormat::V1 && self.seen_v2 {
            return Some(
                "a format-1 record after format-2 ones: records are never written in an older format"
                    .into(),
            );
        }
        if let Some(problem) = self.hmac_problem(record) {
            return Some(problem);
        }
        if let Some(withdrawn) = record.withdraws_seq {
            if record.verdict != RecordedVerdict::Declined {
                return Some(format!(
                    "withdraws record {withdrawn} but is not a declined record"
                ));
            }
            let names_earlier_grant = if withdrawn < self.first_seq {
                // Before this segment: not ours to check.
                withdrawn >= 1
            } else {
                self.granted.get(&withdrawn) == Some(&record.ticket_id)
            };
            if !names_earlier_grant {
                return Some(format!(
                    "withdraws_seq {withdrawn} does not name an earlier granted record of ticket {}",
                    record.ticket_id
                ));
            }
        }
        None
    }

    fn hmac_problem(&self, record: &ConfirmationRecord) -> Option<String> {
        let key = self.options.key.as_ref()?;
        match &record.hmac {
            Some(_) if record.hmac_matches(key) => None,
            Some(_) => {
                Some("HMAC does not match: altered, or signed with another trail key".into())
            }
            None if self.hmac_checked > 0 => Some(
                "no HMAC, yet earlier records have one: forged, or written without the trail key"
                    .into(),
            ),
            None => None,
        }
    }

    fn accept(&mut self, record: &ConfirmationRecord) {
        if record.hmac.is_some() && self.options.key.is_some() {
            self.hmac_checked += 1;
        } else if self.options.key.is_some() {
            self.unkeyed += 1;
        }
        self.seen_v2 |= record.format >= RecordFormat::V2;
        if record.verdict == RecordedVerdict::Granted {
            self.granted.insert(record.seq, record.ticket_id.clone());
        }
        if self.options.expect.iter().any(|e| e.seq == record.seq) {
            self.found.insert(record.seq, record.hash.clone());
        }
        self.expected_prev = record.hash.clone();
        self.expected_seq += 1;
        self.checked += 1;
        self.head = record.head();
    }

    /// The report, once every record was checked.
    pub fn finish(self) -> TrailReport {
        let mut problems = vec![];
        if self.options.key.is_some() && self.checked > 0 && self.hmac_checked == 0 {
            problems.push(
                "a trail key was given but no record carries an HMAC: the workers never had \
                 ONBEHALF_TRAIL_KEY, or the trail was rewritten without it"
                    .to_string(),
            );
        }
        let expectations = self
            .options
            .expect
            .iter()
            .map(|expected| Expectation {
                expected: expected.clone(),
                // The head of an empty trail (`0:000…0`) is where every chain starts.
                found: match expected.seq {
                    0 if self.first_seq == 1 => Some(GENESIS_HASH.to_string()),
                    seq => self.found.get(&seq).cloned(),
                },
            })
            .collect();
        TrailReport {
            checked: self.checked,
            first_break: self.first_break,
            head: self.head,
            hmac_checked: self.hmac_checked,
            unkeyed: self.unkeyed,
            expectations,
            problems,
        }
    }
}
