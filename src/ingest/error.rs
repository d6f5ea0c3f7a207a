//! One error type for every HTTP answer that is not a success: a stable code, a human message,
//! and the status it becomes.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String, &'static str),
    #[error("{0}")]
    BadRequest(String, &'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    /// A 503 with Retry-After, not a 408: Zendesk retries the one and drops the other, and a
    /// body may be slow because the network is.
    #[error("the request body did not arrive within {0}s; retry shortly")]
    BodyTimeout(u64),
    /// Too many failed authentications from this client: wait this many seconds.
    #[error("too many failed authentications; retry in {0}s")]
    TooManyRequests(u64),
    /// Zendesk retries a 503 only with a short `Retry-After`, and never a 500.
    #[error("{0}")]
    Unavailable(String, &'static str),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(..) => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(..) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_, code) | ApiError::BadRequest(_, code) => code,
            ApiError::NotFound(_) => "not_found",
            ApiError::TooLarge(_) => "too_large",
            ApiError::BodyTimeout(_) => "body_timeout",
            ApiError::TooManyRequests(_) => "too_many_failures",
            ApiError::Unavailable(_, code) => code,
        }
    }
}

pub const RETRY_AFTER_SECS: &str = "5";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            ApiError::TooManyRequests(secs) => HeaderValue::from(*secs),
            _ => HeaderValue::from_static(RETRY_AFTER_SECS),
        };
        let body = ErrorBody {
            error: self.code(),
            message: self.to_string(),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after);
        }
        response
    }
}
