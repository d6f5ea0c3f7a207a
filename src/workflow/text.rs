//! Reply text clean-up. STUB: the consent helper replaces this file.

/// The new text of a reply: quoted history, signatures and auto-reply boilerplate removed.
pub fn new_text(body: &str) -> String {
    // Minimal stand-in: cut at the first quoted line or "On … wrote:".
    let mut kept = vec![];
    for line in body.lines() {
        let t = line.trim_start();
        if t.starts_with('>') || (t.starts_with("On ") && t.trim_end().ends_with("wrote:")) {
            break;
        }
        kept.push(line);
    }
    kept.join("\n").trim().to_string()
}
