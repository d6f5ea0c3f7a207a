//! The console's templates (`templates/console/`, compiled into the binary) and their filters.
//!
//! Templates are named `*.html`, so minijinja escapes every value: ticket ids, quotes, reasons
//! and dead-letter reasons are data, never markup. The one exception is a note's body, which is
//! markup (Zendesk `html_body`) and goes through [`note_html`] first.

use axum::http::StatusCode;
use minijinja::{Environment, Value};
use serde::Serialize;
use std::sync::OnceLock;
use time::OffsetDateTime;
use time::macros::format_description;

use super::error::ConsoleError;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "layout.html",
        include_str!("../../templates/console/layout.html"),
    ),
    (
        "login.html",
        include_str!("../../templates/console/login.html"),
    ),
    (
        "error.html",
        include_str!("../../templates/console/error.html"),
    ),
    (
        "overview.html",
        include_str!("../../templates/console/overview.html"),
    ),
    (
        "tickets.html",
        include_str!("../../templates/console/tickets.html"),
    ),
    (
        "ticket.html",
        include_str!("../../templates/console/ticket.html"),
    ),
    (
        "trail.html",
        include_str!("../../templates/console/trail.html"),
    ),
    (
        "shadow.html",
        include_str!("../../templates/console/shadow.html"),
    ),
    (
        "dead_letters.html",
        include_str!("../../templates/console/dead_letters.html"),
    ),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            // Compiled in and covered by the tests: a broken template fails them, not a
            // reviewer's page load (`render` reports it if it ever got this far).
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "console template does not parse");
            }
        }
        env.add_filter("time", time_filter);
        env.add_filter("urlencode", |value: String| percent_encode(&value));
        env
    })
}

/// Unix milliseconds as `2026-12-01 16:35:02 UTC`.
pub fn format_ms(ms: i64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// For a path segment or a query value: RFC 3986 unreserved characters stay, everything else
/// is `%XX`.
pub fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn time_filter(ms: i64) -> String {
    format_ms(ms)
}

/// A page inside the layout: `active` names the navigation entry, `csrf` the session's token
/// (the logout form and every other form carry it).
pub fn page<S: Serialize>(
    name: &str,
    active: &str,
    csrf: &str,
    context: S,
) -> Result<String, ConsoleError> {
    let template = environment()
        .get_template(name)
        .map_err(ConsoleError::Render)?;
    template
        .render(minijinja::context! { active, csrf, ..Value::from_serialize(&context) })
        .map_err(ConsoleError::Render)
}

pub fn login(message: Option<&str>) -> Result<String, ConsoleError> {
    let template = environment()
        .get_template("login.html")
        .map_err(ConsoleError::Render)?;
    template
        .render(minijinja::context! { message })
        .map_err(ConsoleError::Render)
}

/// The error page; plain text if even that cannot be rendered.
pub fn error_page(status: StatusCode, message: &str) -> String {
    environment()
        .get_template("error.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                status => status.as_u16(),
                reason => status.canonical_reason().unwrap_or(""),
                message,
            })
        })
        .unwrap_or_else(|_| format!("{status}: {message}"))
}

/// A stored note body as the agent sees it in the helpdesk, made safe for our page: only the
/// elements and attributes onbehalf's note templates write survive (links only `https`/`http`,
/// opened without a referrer), everything else is dropped. The page's CSP is the second line:
/// no inline script or handler runs even if something slipped through.
pub fn note_html(body: &str) -> String {
    use std::collections::HashSet;
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER
        .get_or_init(|| {
            let mut builder = ammonia::Builder::empty();
            builder
                .tags(HashSet::from([
                    "p",
                    "br",
                    "strong",
                    "b",
                    "em",
                    "i",
                    "ul",
                    "ol",
                    "li",
                    "pre",
                    "code",
                    "a",
                    "h1",
                    "h2",
                    "h3",
                    "h4",
                    "blockquote",
                    "hr",
                    "span",
                    "div",
                    "table",
                    "thead",
                    "tbody",
                    "tr",
                    "th",
                    "td",
                ]))
                .add_tag_attributes("a", ["href"])
                .url_schemes(HashSet::from(["https", "http"]))
                .link_rel(Some("noopener noreferrer nofollow"));
            builder
        })
        .clean(body)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            environment()
                .get_template(name)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn note_markup_keeps_what_notes_use_and_drops_script() {
        let cleaned = note_html(
            "<p><strong>Next:</strong> ask</p><script>alert(1)</script>\
             <a href=\"javascript:alert(1)\" onclick=\"x()\">x</a><img src=x onerror=y>",
        );
        assert!(
            cleaned.contains("<p><strong>Next:</strong> ask</p>"),
            "{cleaned}"
        );
        assert!(!cleaned.contains("script"), "{cleaned}");
        assert!(!cleaned.contains("onclick"), "{cleaned}");
        assert!(!cleaned.contains("javascript"), "{cleaned}");
        assert!(!cleaned.contains("<img"), "{cleaned}");
    }

    #[test]
    fn links_are_encoded() {
        assert_eq!(percent_encode("a b&c/é"), "a%20b%26c%2F%C3%A9");
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(format_ms(0), "1970-01-01 00:00:00 UTC");
    }
}
