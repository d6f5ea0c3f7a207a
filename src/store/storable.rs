//! Text as the database can hold it.
//!
//! PostgreSQL's `text` refuses U+0000 (`invalid byte sequence for encoding "UTF8": 0x00`) and
//! nothing else a Rust string can hold, as long as the database is UTF-8 (the store refuses
//! any other encoding when it opens). A NUL inside a webhook's comment must not make its event
//! fail forever, so every text the store writes passes through here: U+0000 becomes U+FFFD
//! (the replacement character), on SQLite too, so both backends store the same thing and a
//! trail record hashes alike on either. The trail says so in the record itself
//! ([`super::trail::Alteration`]).

use std::borrow::Cow;

/// The one character replaced, and what replaces it.
pub const REPLACED: char = '\u{0}';
pub const REPLACEMENT: char = '\u{FFFD}';

/// `text` with every U+0000 replaced by U+FFFD (borrowed when there is none).
pub fn storable(text: &str) -> Cow<'_, str> {
    storable_counted(text).0
}

/// As [`storable`], owned, ready to bind (sqlx copies a bound `&str` into a `String` anyway).
pub fn stored(text: &str) -> String {
    storable(text).into_owned()
}

/// As [`storable`], with the number of characters replaced.
pub fn storable_counted(text: &str) -> (Cow<'_, str>, usize) {
    // In UTF-8 a zero byte is only ever U+0000, and `contains` is a memchr: the common case
    // (no NUL) costs one scan and no copy.
    if !text.contains(REPLACED) {
        return (Cow::Borrowed(text), 0);
    }
    let count = text.bytes().filter(|&b| b == 0).count();
    (
        Cow::Owned(text.replace(REPLACED, &REPLACEMENT.to_string())),
        count,
    )
}

/// `U+0000`, the notation the trail uses for a character.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_becomes_the_replacement_character_and_is_counted() {
        let (text, count) = storable_counted("Yes\u{0}, go\u{0} ahead");
        assert_eq!(text, "Yes\u{FFFD}, go\u{FFFD} ahead");
        assert_eq!(count, 2);
        assert!(matches!(storable("clean"), Cow::Borrowed("clean")));
        assert_eq!(code_point(REPLACED), "U+0000");
        assert_eq!(code_point(REPLACEMENT), "U+FFFD");
    }
}
