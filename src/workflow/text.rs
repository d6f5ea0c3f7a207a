//! Reply text clean-up. STUB: the consent helper replaces this file.

/// The new text of a reply: quoted history, signatures and auto-reply boilerplate removed.
pub fn new_text(body: &str) -> String {
    body.trim().to_string()
}
