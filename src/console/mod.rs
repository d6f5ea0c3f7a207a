//! The review console (`/console`): server-rendered pages for support managers, operations
//! engineers and auditors, behind the admin token.
//!
//! - `session`: the login form, the session cookie and the extractor every page takes (no
//!   session: `303` to the login page, nothing read from the store).
//! - `csrf`: the token every form carries and every `POST` checks.
//! - `render`: the templates (`templates/console/`, compiled in) and the page layout.
//! - `pages`: one module per page; each reads one keyset-paginated page from the store.
//!
//! Every answer carries a strict Content-Security-Policy (no inline script, no framing, forms
//! only to this origin) and `Cache-Control: no-store`, so pages a reviewer saw do not outlive
//! the session in a shared browser's cache.

mod assets;
mod csrf;
mod error;
mod pages;
mod render;
mod session;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};

use crate::ingest::HttpState;
use crate::workflow::TicketId;

pub use session::SESSION_COOKIE;

/// One helpdesk this deployment serves, as the overview shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HelpdeskMode {
    /// The store's `source` (e.g. `zendesk`).
    pub name: String,
    /// Notes are posted (`false`: shadow mode, kept in the database only).
    pub live: bool,
    /// Where an agent opens a ticket, as the helpdesk's module writes it (`{id}` for the
    /// ticket id; the link the ticket's own notes carry). `None`: no URL configured.
    pub ticket_link: Option<String>,
}

impl HelpdeskMode {
    /// Where an agent opens the ticket in the helpdesk.
    pub fn ticket_url(&self, ticket_id: &TicketId) -> Option<String> {
        let format = self.ticket_link.as_deref().filter(|f| f.contains("{id}"))?;
        Some(format.replace("{id}", ticket_id.as_str()))
    }
}

/// What the console knows about the deployment beyond the store and the queue.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub helpdesks: Vec<HelpdeskMode>,
    /// Mark the session cookie `Secure` whatever the request says.
    pub secure_cookie: bool,
    /// The trail verification this process runs or ran last ("verify now").
    pub verification: pages::trail::Verifications,
}

impl Settings {
    pub fn helpdesk(&self, name: &str) -> Option<&HelpdeskMode> {
        self.helpdesks.iter().find(|h| h.name == name)
    }

    pub fn ticket_url(&self, helpdesk: &str, ticket_id: &TicketId) -> Option<String> {
        self.helpdesk(helpdesk)?.ticket_url(ticket_id)
    }
}

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/console", get(pages::overview::page))
        .route("/console/", get(pages::overview::page))
        .route(
            "/console/login",
            get(session::login_form).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .route("/console/tickets", get(pages::tickets::list))
        .route("/console/tickets/{helpdesk}/{id}", get(pages::ticket::page))
        .route("/console/trail", get(pages::trail::page))
        .route("/console/trail/verify", post(pages::trail::verify))
        .route("/console/trail/export.jsonl", get(pages::trail::export))
        .route("/console/shadow", get(pages::shadow::page))
        .route("/console/shadow/review", post(pages::shadow::review))
        .route("/console/shadow/reviews.jsonl", get(pages::shadow::export))
        .route("/console/dead-letters", get(pages::dead_letters::page))
        .route(
            "/console/dead-letters/requeue",
            post(pages::dead_letters::requeue),
        )
        .route("/console/assets/console.css", get(assets::stylesheet))
        .layer(axum::middleware::map_response(with_security_headers))
}

/// No inline script or style runs (a note body that got markup past the sanitiser still
/// cannot act), no other origin is framed or posted to, and nothing is cached.
async fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(headers, header::CACHE_CONTROL, "no-store");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    response
}

#[cfg(test)]
mod tests {
    use super::HelpdeskMode;
    use crate::helpdesk::{zammad, zendesk};

    #[test]
    fn each_helpdesk_links_its_tickets_its_own_way() {
        let mode = |name: &str, ticket_link| HelpdeskMode {
            name: name.into(),
            live: true,
            ticket_link,
        };
        let zendesk = mode(
            "zendesk",
            zendesk::integration::terms(Some("https://acme.zendesk.com/")).ticket_link,
        );
        assert_eq!(
            zendesk.ticket_url(&"42".into()).as_deref(),
            Some("https://acme.zendesk.com/agent/tickets/42")
        );
        let zammad = mode(
            "zammad",
            zammad::terms("https://desk.example.org").ticket_link,
        );
        assert_eq!(
            zammad.ticket_url(&"7".into()).as_deref(),
            Some("https://desk.example.org/#ticket/zoom/7")
        );
        assert_eq!(mode("zendesk", None).ticket_url(&"42".into()), None);
    }
}
