//! Zendesk's webhook signature (https://developer.zendesk.com/documentation/webhooks/verifying/).

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::Secret;
pub use crate::helpdesk::webhook::{SignatureError, SignatureScheme};

pub const ZENDESK_SIGNATURE: &str = "x-zendesk-webhook-signature";
/// The fixed secret Zendesk signs test invocations with, published in its docs
/// (https://developer.zendesk.com/documentation/webhooks/verifying/).
pub const ZENDESK_TEST_SECRET: &str = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
pub const ZENDESK_TIMESTAMP: &str = "x-zendesk-webhook-signature-timestamp";

/// Zendesk: `base64(HMAC-SHA256(secret, timestamp + body))`; the secret's bytes are the key as
/// given (it looks like base64 but is not decoded). Several secrets allow rotation.
#[derive(Clone)]
pub struct ZendeskSignature {
    secrets: Vec<Secret>,
    tolerance: Duration,
}

impl ZendeskSignature {
    pub fn new(secrets: Vec<Secret>, tolerance: Duration) -> ZendeskSignature {
        ZendeskSignature { secrets, tolerance }
    }

    /// The signature Zendesk would send (used by tests, the walkthrough and the benchmark).
    pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
        let mut mac = mac(secret.as_bytes(), timestamp.as_bytes());
        mac.update(body);
        BASE64.encode(mac.finalize().into_bytes())
    }
}

fn mac(key: &[u8], timestamp: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp);
    mac
}

fn signed_with(secret: &str, timestamp: &str, body: &[u8], signature: &[u8]) -> bool {
    let mut mac = mac(secret.as_bytes(), timestamp.as_bytes());
    mac.update(body);
    mac.verify_slice(signature).is_ok()
}

fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, SignatureError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(SignatureError::MissingHeader(name))
}

impl SignatureScheme for ZendeskSignature {
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), SignatureError> {
        let signature = header(headers, ZENDESK_SIGNATURE)?;
        let timestamp = header(headers, ZENDESK_TIMESTAMP)?;
        // The MAC first: a request that does not carry it learns nothing about the timestamp
        // checks, so an outsider cannot probe the server's clock.
        let expected = BASE64
            .decode(signature)
            .map_err(|_| SignatureError::Mismatch)?;
        // Every secret is tried, so the time taken does not tell which one is current.
        let mut matched = false;
        for secret in &self.secrets {
            matched |= signed_with(secret.expose(), timestamp, body, &expected);
        }
        if !matched {
            // Only named once refused: the admin's first test gets a 401 that says why. The
            // test secret is public, so this tells an outsider nothing either.
            return Err(
                if signed_with(ZENDESK_TEST_SECRET, timestamp, body, &expected) {
                    SignatureError::TestSecret
                } else {
                    SignatureError::Mismatch
                },
            );
        }
        let signed_at =
            OffsetDateTime::parse(timestamp, &Rfc3339).map_err(|_| SignatureError::BadTimestamp)?;
        let skew = now - signed_at;
        if skew.unsigned_abs() > self.tolerance {
            let direction = if skew.is_negative() {
                "in the future"
            } else {
                "old"
            };
            return Err(SignatureError::OutsideWindow(format!(
                "{}s {direction}, tolerance {}s",
                skew.whole_seconds().unsigned_abs(),
                self.tolerance.as_secs()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const TEST_SECRET: &str = ZENDESK_TEST_SECRET;
    const TS: &str = "2021-03-25T05:09:27Z";

    fn headers(signature: &str, timestamp: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ZENDESK_SIGNATURE, HeaderValue::from_str(signature).unwrap());
        h.insert(ZENDESK_TIMESTAMP, HeaderValue::from_str(timestamp).unwrap());
        h
    }

    fn at(ts: &str) -> OffsetDateTime {
        OffsetDateTime::parse(ts, &Rfc3339).unwrap()
    }

    #[test]
    fn signs_zendesk_documented_vectors() {
        assert_eq!(
            ZendeskSignature::sign(TEST_SECRET, TS, br#"{"ticket_id":"123"}"#),
            "YmkQCnSLfGdf5pcvqNFcuOtUpzUb/ss09fM0NCi/wvw="
        );
        assert_eq!(
            ZendeskSignature::sign(TEST_SECRET, TS, b""),
            "wCdBvXaHttn0wRVIYctzZ9O6O0bnqWakJMEKZ9VoRWw="
        );
    }

    #[test]
    fn accepts_any_configured_secret_and_rejects_others() {
        let body = br#"{"ticket_id":"123"}"#;
        let scheme = ZendeskSignature::new(
            vec![Secret::new("old-secret"), Secret::new(TEST_SECRET)],
            Duration::from_secs(300),
        );
        let good = headers("YmkQCnSLfGdf5pcvqNFcuOtUpzUb/ss09fM0NCi/wvw=", TS);
        assert_eq!(scheme.verify(&good, body, at(TS)), Ok(()));
        assert_eq!(
            scheme.verify(&good, b"{\"ticket_id\":\"124\"}", at(TS)),
            Err(SignatureError::Mismatch)
        );
        let only_old =
            ZendeskSignature::new(vec![Secret::new("old-secret")], Duration::from_secs(300));
        assert_eq!(
            only_old.verify(&good, body, at(TS)),
            Err(SignatureError::TestSecret),
            "Zendesk's public test secret is refused, and named"
        );
        let other = headers(&ZendeskSignature::sign("other-secret", TS, body), TS);
        assert_eq!(
            only_old.verify(&other, body, at(TS)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            scheme.verify(&headers("not base64!", TS), body, at(TS)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn enforces_the_window_both_ways() {
        let scheme =
            ZendeskSignature::new(vec![Secret::new(TEST_SECRET)], Duration::from_secs(300));
        let h = headers("YmkQCnSLfGdf5pcvqNFcuOtUpzUb/ss09fM0NCi/wvw=", TS);
        let body = br#"{"ticket_id":"123"}"#;
        assert!(scheme.verify(&h, body, at("2021-03-25T05:14:27Z")).is_ok());
        assert!(matches!(
            scheme.verify(&h, body, at("2021-03-25T05:14:28Z")),
            Err(SignatureError::OutsideWindow(_))
        ));
        assert!(matches!(
            scheme.verify(&h, body, at("2021-03-25T05:04:26Z")),
            Err(SignatureError::OutsideWindow(_))
        ));
        // Timestamp checks come after the MAC: unsigned requests learn nothing about them.
        assert_eq!(
            scheme.verify(&headers("x", "yesterday"), body, at(TS)),
            Err(SignatureError::Mismatch)
        );
        let stale = headers(
            "YmkQCnSLfGdf5pcvqNFcuOtUpzUb/ss09fM0NCi/wvw=",
            "2020-01-01T00:00:00Z",
        );
        assert_eq!(
            scheme.verify(&stale, body, at(TS)),
            Err(SignatureError::Mismatch)
        );
        let yesterday = ZendeskSignature::sign(TEST_SECRET, "yesterday", body);
        assert_eq!(
            scheme.verify(&headers(&yesterday, "yesterday"), body, at(TS)),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            scheme.verify(&HeaderMap::new(), body, at(TS)),
            Err(SignatureError::MissingHeader(ZENDESK_SIGNATURE))
        );
    }
}
