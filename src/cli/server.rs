//! The running server's admin API as the command line reaches it: the address from the same
//! configuration (`ONBEHALF_LISTEN`, or `--server`) and the same bearer token
//! (`ONBEHALF_ADMIN_TOKEN`). For what only the server can do while it runs, such as reading the
//! embedded queue it holds locked.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::config::{Config, Secret};

/// This machine's listener as a URL (a wildcard address is reached on 127.0.0.1).
pub fn local_base_url(config: &Config) -> String {
    let mut addr = config.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}")
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "asking the server at {base} needs its admin token: set ONBEHALF_ADMIN_TOKEN as the server has it"
    )]
    NoToken { base: String },
    #[error(
        "the server at {url} did not answer: {reason} (is it listening there? set ONBEHALF_LISTEN as the server has it, or give --server URL)"
    )]
    Unreachable { url: String, reason: String },
    /// The server answered with an error: its status, stable code and message.
    #[error("the server at {url} answered {status} {code}: {message}")]
    Refused {
        url: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("the server at {url} sent an answer this version cannot read: {source}")]
    Unreadable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

/// A client of one server's `/api`.
pub struct ServerApi {
    base: String,
    token: Secret,
    http: reqwest::Client,
}

impl ServerApi {
    /// `base` overrides the configuration's listener (e.g. `https://onbehalf.internal`).
    pub fn new(config: &Config, base: Option<&str>) -> Result<ServerApi, ServerError> {
        let base = base
            .map(|b| b.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| local_base_url(config));
        let Some(token) = config.admin_token.clone() else {
            return Err(ServerError::NoToken { base });
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ServerError::Unreachable {
                url: base.clone(),
                reason: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(ServerApi { base, token, http })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// GET `path` (with its query) and read the JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ServerError> {
        let url = format!("{}{path}", self.base);
        self.send(self.http.get(&url), url).await
    }

    /// POST to `path` without a body and read the JSON answer.
    pub async fn post<T: DeserializeOwned>(&self, path: &str) -> Result<T, ServerError> {
        let url = format!("{}{path}", self.base);
        self.send(self.http.post(&url), url).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        url: String,
    ) -> Result<T, ServerError> {
        let response = request
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| ServerError::Unreachable {
                url: url.clone(),
                reason: describe(&e),
            })?;
        let status = response.status();
        if status.is_success() {
            return response
                .json()
                .await
                .map_err(|source| ServerError::Unreadable { url, source });
        }
        // Every /api error is {"error": code, "message": text}; anything else is shown as is.
        let text = response.text().await.unwrap_or_default();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let field = |name: &str| body.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        Err(ServerError::Refused {
            url,
            status: status.as_u16(),
            code: field("error").unwrap_or_else(|| "error".into()),
            message: field("message").unwrap_or_else(|| text.chars().take(300).collect()),
        })
    }
}

/// reqwest's top-level text ("error sending request") hides the cause; the innermost one
/// (e.g. "Connection refused (os error 111)") is what a user can act on.
fn describe(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    if e.is_timeout() {
        "timed out".into()
    } else {
        cause.to_string()
    }
}
