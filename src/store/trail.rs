//! The confirmation trail's record format and hash chain (pure; the store appends).
//!
//! `hash = sha256(prev_hash || canonical JSON of the record without "hash")`, hex-encoded, where
//! canonical JSON has its keys sorted and no whitespace, and the first record's `prev_hash` is
//! 64 zeros. Anyone can re-check the chain from the exported JSON Lines alone.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One line of `/api/confirmations`, exactly as INTERFACES.md specifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationRecord {
    pub seq: i64,
    pub ticket_id: String,
    pub requester_id: String,
    pub category: String,
    pub action: String,
    pub verdict: String,
    pub quote: String,
    pub request_comment_id: String,
    pub reply_comment_id: String,
    pub decided_at: String,
    pub prev_hash: String,
    pub hash: String,
}

impl ConfirmationRecord {
    /// The hash this record must carry, given its other fields.
    pub fn compute_hash(&self) -> String {
        let mut value = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => unreachable!("a struct of strings and integers serialises to an object"),
        };
        value.remove("hash");
        // Sorted explicitly: serde_json's map order depends on a crate feature another
        // dependency could switch on.
        let sorted: std::collections::BTreeMap<_, _> = value.into_iter().collect();
        let canonical = serde_json::to_string(&sorted).unwrap_or_default();
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(canonical.as_bytes());
        hex::encode(hasher.finalize())
    }
}

/// Where a chain stops being intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    pub seq: i64,
    pub problem: String,
}

/// Checks records in `seq` order; `expected_prev` is the previous record's hash (or genesis).
/// Returns the first break.
pub struct ChainVerifier {
    expected_prev: String,
    expected_seq: i64,
    pub checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            expected_prev: GENESIS_HASH.to_string(),
            expected_seq: 1,
            checked: 0,
        }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, record: &ConfirmationRecord) -> Result<(), ChainBreak> {
        let fail = |problem: String| {
            Err(ChainBreak {
                seq: record.seq,
                problem,
            })
        };
        if record.seq != self.expected_seq {
            return fail(format!(
                "expected seq {}, found {}",
                self.expected_seq, record.seq
            ));
        }
        if record.prev_hash != self.expected_prev {
            return fail("prev_hash does not match the previous record's hash".into());
        }
        if record.compute_hash() != record.hash {
            return fail("hash does not match the record's content (altered)".into());
        }
        if record.verdict != "granted" && record.verdict != "declined" {
            return fail(format!(
                "verdict {:?} is not granted/declined",
                record.verdict
            ));
        }
        self.expected_prev = record.hash.clone();
        self.expected_seq += 1;
        self.checked += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: i64, prev: &str) -> ConfirmationRecord {
        let mut r = ConfirmationRecord {
            seq,
            ticket_id: "5158".into(),
            requester_id: "1001".into(),
            category: "account_access".into(),
            action: "disable two-factor authentication on your account".into(),
            verdict: "granted".into(),
            quote: "Yes, please go ahead.".into(),
            request_comment_id: "11".into(),
            reply_comment_id: "12".into(),
            decided_at: "2025-01-08T14:25:30Z".into(),
            prev_hash: prev.into(),
            hash: String::new(),
        };
        r.hash = r.compute_hash();
        r
    }

    #[test]
    fn hash_is_sha256_of_prev_hash_and_sorted_compact_json() {
        let r = record(1, GENESIS_HASH);
        let canonical = format!(
            r#"{{"action":"{}","category":"account_access","decided_at":"2025-01-08T14:25:30Z","prev_hash":"{}","quote":"Yes, please go ahead.","reply_comment_id":"12","request_comment_id":"11","requester_id":"1001","seq":1,"ticket_id":"5158","verdict":"granted"}}"#,
            r.action, GENESIS_HASH
        );
        let expected = hex::encode(Sha256::digest(format!("{GENESIS_HASH}{canonical}")));
        assert_eq!(r.hash, expected);
    }

    #[test]
    fn verifier_accepts_an_intact_chain_and_finds_the_first_alteration() {
        let a = record(1, GENESIS_HASH);
        let b = record(2, &a.hash);
        let mut c = record(3, &b.hash);
        let mut v = ChainVerifier::default();
        assert!(v.check(&a).is_ok() && v.check(&b).is_ok() && v.check(&c).is_ok());

        c.quote = "Yes".into();
        let mut v = ChainVerifier::default();
        v.check(&a).unwrap();
        v.check(&b).unwrap();
        assert_eq!(v.check(&c).unwrap_err().seq, 3);
    }

    #[test]
    fn verifier_detects_a_removed_record() {
        let a = record(1, GENESIS_HASH);
        let b = record(2, &a.hash);
        let c = record(3, &b.hash);
        let mut v = ChainVerifier::default();
        v.check(&a).unwrap();
        assert!(v.check(&c).is_err());
    }
}
