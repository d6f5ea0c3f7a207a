//! The console's one stylesheet, compiled in (no build step, no other origin).

use axum::http::header;
use axum::response::IntoResponse;

const STYLESHEET: &str = include_str!("../../templates/console/console.css");

/// Public, like the login page it styles: it holds no data.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}
