//! What a console page answers when it cannot show what was asked.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("the database did not answer: {0}")]
    Store(#[source] crate::store::StoreError),
    #[error("the queue did not answer: {0}")]
    Queue(#[source] crate::queue::QueueError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// A state-changing request without this session's CSRF token.
    #[error(
        "this form is out of date or did not come from the console: reload the page and try again"
    )]
    Csrf,
    #[error("the page could not be rendered: {0}")]
    Render(#[source] minijinja::Error),
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(e: crate::store::StoreError) -> Self {
        ConsoleError::Store(e)
    }
}

impl From<crate::queue::QueueError> for ConsoleError {
    fn from(e: crate::queue::QueueError) -> Self {
        ConsoleError::Queue(e)
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = match &self {
            ConsoleError::Store(_) | ConsoleError::Queue(_) => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "console page failed");
        }
        let body = super::render::error_page(status, &self.to_string());
        (status, Html(body)).into_response()
    }
}
