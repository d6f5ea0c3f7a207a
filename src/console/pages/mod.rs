//! One module per console page. Each handler takes a [`Session`](super::session::Session)
//! first, so without one nothing is read: the extractor answers `303` to the login page.

pub mod dead_letters;
pub mod overview;
pub mod shadow;
pub mod ticket;
pub mod tickets;
pub mod trail;

/// A query-string value the user left empty counts as not given.
pub(super) fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}
