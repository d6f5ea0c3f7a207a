//! Zammad's webhook signature: with a "Signature Token" set on the webhook, every request
//! carries `X-Hub-Signature: sha1=<hex HMAC-SHA1(token, raw body)>` (Zammad admin
//! documentation, Webhook payload, "X-Hub-Signature: The SHA-1 hash of your HMAC-SHA1
//! signature token",
//! https://github.com/zammad/zammad-admin-documentation/blob/6.0/manage/webhook/payload.rst;
//! sent by `TriggerWebhookJob` with the webhook's `signature_token`,
//! zammad/zammad app/jobs/trigger_webhook_job.rb).
//!
//! Zammad signs no timestamp, so a captured request verifies forever: the replay guard is the
//! dedupe by `X-Zammad-Delivery` (every delivery, and its retries, carry one id).

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use time::OffsetDateTime;

use crate::config::Secret;
use crate::helpdesk::webhook::{SignatureError, SignatureScheme};

pub const ZAMMAD_SIGNATURE: &str = "x-hub-signature";

/// Several tokens allow rotation: any of them passes.
#[derive(Clone)]
pub struct ZammadSignature {
    secrets: Vec<Secret>,
}

impl ZammadSignature {
    pub fn new(secrets: Vec<Secret>) -> ZammadSignature {
        ZammadSignature { secrets }
    }

    /// The header value Zammad would send (tests, fakes).
    pub fn sign(secret: &str, body: &[u8]) -> String {
        format!(
            "sha1={}",
            hex::encode(mac(secret, body).finalize().into_bytes())
        )
    }
}

fn mac(secret: &str, body: &[u8]) -> Hmac<Sha1> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    mac
}

impl SignatureScheme for ZammadSignature {
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        _now: OffsetDateTime,
    ) -> Result<(), SignatureError> {
        let value = headers
            .get(ZAMMAD_SIGNATURE)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(SignatureError::MissingHeader(ZAMMAD_SIGNATURE))?;
        let expected = value
            .strip_prefix("sha1=")
            .and_then(|hex_digest| hex::decode(hex_digest).ok())
            .ok_or(SignatureError::Mismatch)?;
        // Every token is tried (constant-time compares), so the time taken does not tell
        // which one is current.
        let mut matched = false;
        for secret in &self.secrets {
            matched |= mac(secret.expose(), body).verify_slice(&expected).is_ok();
        }
        if matched {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ZAMMAD_SIGNATURE, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn signs_as_openssl_hmac_sha1_hex() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        assert_eq!(
            ZammadSignature::sign("Jefe", b"what do ya want for nothing?"),
            "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn any_configured_token_passes_and_nothing_else() {
        let body = br#"{"ticket":{"id":1}}"#;
        let scheme = ZammadSignature::new(vec![
            Secret::new("old-token-0123456789"),
            Secret::new("new-token-0123456789"),
        ]);
        let now = OffsetDateTime::UNIX_EPOCH;
        for token in ["old-token-0123456789", "new-token-0123456789"] {
            let h = with(&ZammadSignature::sign(token, body));
            assert_eq!(scheme.verify(&h, body, now), Ok(()));
        }
        let other = with(&ZammadSignature::sign("someone-else-0123456", body));
        assert_eq!(
            scheme.verify(&other, body, now),
            Err(SignatureError::Mismatch)
        );
        let good = with(&ZammadSignature::sign("new-token-0123456789", body));
        assert_eq!(
            scheme.verify(&good, br#"{"ticket":{"id":2}}"#, now),
            Err(SignatureError::Mismatch),
            "the body is what is signed"
        );
        let sha256 =
            with(&ZammadSignature::sign("new-token-0123456789", body).replace("sha1=", "sha256="));
        assert_eq!(
            scheme.verify(&sha256, body, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            scheme.verify(&with("sha1=zz"), body, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            scheme.verify(&HeaderMap::new(), body, now),
            Err(SignatureError::MissingHeader(ZAMMAD_SIGNATURE))
        );
        assert_eq!(
            ZammadSignature::new(vec![]).verify(&good, body, now),
            Err(SignatureError::Mismatch),
            "no token configured: nothing passes"
        );
    }
}
