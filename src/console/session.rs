//! Logging in with the admin token, the session cookie, and the extractor every page takes.
//!
//! Sessions live in the database (`console_sessions`), not in a signed cookie: logout and
//! expiry end a session at once on every instance behind a load balancer, a restart keeps
//! reviewers logged in, and there is no signing key to manage. The cookie holds 32 random
//! bytes (hex); the database only their SHA-256, so reading the table gives no usable cookie.

use axum::Extension;
use axum::extract::{ConnectInfo, Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::time::Duration;

use super::csrf;
use super::error::ConsoleError;
use super::render;
use crate::ingest::HttpState;
use crate::ingest::error::ApiError;

pub const SESSION_COOKIE: &str = "onbehalf_console";

/// A session ends this long after login, used or not.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);

const LOGIN_PATH: &str = "/console/login";

/// A logged-in reviewer.
pub struct Session {
    /// The token this session's forms carry.
    pub csrf: String,
    id_sha256: String,
}

impl Session {
    /// `Err(Csrf)` unless `given` is this session's token.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), ConsoleError> {
        if csrf::matches(&self.csrf, given) {
            Ok(())
        } else {
            tracing::warn!("console form refused: missing or wrong CSRF token");
            Err(ConsoleError::Csrf)
        }
    }
}

fn id_digest(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// The session id a request's cookie header carries, when it has the shape of one.
fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|id| id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Without a session: `303` to the login page, with nothing of the page asked for.
fn to_login() -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, LOGIN_PATH)],
        Html("<!doctype html><title>Log in</title><a href=\"/console/login\">Log in</a>"),
    )
        .into_response()
}

impl FromRequestParts<HttpState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Session, Response> {
        let Some(id) = session_id(&parts.headers) else {
            return Err(to_login());
        };
        let id_sha256 = id_digest(&id);
        match state.store.console_session(&id_sha256).await {
            Ok(Some(_)) => Ok(Session {
                csrf: csrf::token_for(&id),
                id_sha256,
            }),
            Ok(None) => Err(to_login()),
            Err(e) => Err(ConsoleError::Store(e).into_response()),
        }
    }
}

/// Whether the browser reached us over TLS (directly or through a proxy that says so).
fn over_tls(state: &HttpState, headers: &HeaderMap) -> bool {
    state.console.secure_cookie
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

fn cookie(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{SESSION_COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

pub async fn login_form() -> Result<Html<String>, ConsoleError> {
    Ok(Html(render::login(None)?))
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: Option<String>,
}

pub async fn login(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let given = form.token.as_deref().map(str::as_bytes);
    if let Err(refused) = state.api_guard.check_token(peer, given) {
        let (status, message) = match refused {
            ApiError::TooManyRequests(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many failed attempts from this address: try again in {wait} s."),
            ),
            ApiError::Unauthorized(_, "api_disabled") => (
                StatusCode::UNAUTHORIZED,
                "The console is disabled: the server has no admin token (set ONBEHALF_ADMIN_TOKEN)."
                    .to_string(),
            ),
            _ => (
                StatusCode::UNAUTHORIZED,
                "That is not the admin token.".to_string(),
            ),
        };
        tracing::warn!(client = ?peer, "console login refused");
        return Ok((status, Html(render::login(Some(&message))?)).into_response());
    }
    let id = hex::encode(rand::random::<[u8; 32]>());
    let lifetime = SESSION_LIFETIME.as_millis() as i64;
    state
        .store
        .create_console_session(&id_digest(&id), crate::store::now_ms() + lifetime)
        .await?;
    tracing::info!(client = ?peer, "console login");
    let mut response = Redirect::to("/console").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&id, SESSION_LIFETIME.as_secs(), over_tls(&state, &headers)),
    );
    Ok(response)
}

/// A form that carries only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

pub async fn logout(
    State(state): State<HttpState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    session.check_csrf(form.csrf.as_deref())?;
    state.store.end_console_session(&session.id_sha256).await?;
    let mut response = Redirect::to(LOGIN_PATH).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie("", 0, over_tls(&state, &headers)),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_well_formed_session_cookie_is_read() {
        let id = "ab".repeat(32);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {SESSION_COOKIE}={id}")).unwrap(),
        );
        assert_eq!(session_id(&headers), Some(id));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{SESSION_COOKIE}=short")).unwrap(),
        );
        assert_eq!(session_id(&headers), None);
    }
}
