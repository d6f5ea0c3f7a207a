//! The token every console form carries and every `POST` checks.
//!
//! It is derived from the session id (`SHA-256("onbehalf console csrf\n" ‖ id)`): as secret as
//! the id itself (which only the `HttpOnly` cookie holds), one per session, nothing to store.
//! The database keeps only `SHA-256(id)`, from which the token cannot be computed.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub fn token_for(session_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"onbehalf console csrf\n");
    hasher.update(session_id.as_bytes());
    hex::encode(hasher.finalize())
}

/// Whether `given` is the session's token, compared in constant time (digests of both, so
/// the given value's length does not show either).
pub fn matches(expected: &str, given: Option<&str>) -> bool {
    let Some(given) = given else {
        return false;
    };
    let expected: [u8; 32] = Sha256::digest(expected.as_bytes()).into();
    let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    bool::from(expected.ct_eq(&given))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_belongs_to_one_session() {
        let token = token_for("a");
        assert!(matches(&token, Some(&token)));
        assert!(!matches(&token, Some(&token_for("b"))));
        assert!(!matches(&token, Some("")));
        assert!(!matches(&token, None));
        assert_ne!(token, hex::encode(Sha256::digest(b"a")));
    }
}
