//! GitLab, asked rather than the agent: who the requester is there, their role on the project
//! or group the ticket names, and the facts of the account an account-access ticket is about.
//!
//! Read-only: only `GET` requests are ever sent. Optional: without `ONBEHALF_GITLAB_URL` the
//! worker never calls it and the notes are as without it. A failure never blocks a ticket:
//! the facts say "could not check: <reason>" and the workflow goes on as without GitLab.
//! The decision itself is the workflow core's (`crate::workflow::gitlab`); this module only
//! reads.

mod account;
mod client;
mod lookup;
mod roles;

pub use client::{GitLabClient, GitLabOptions};
pub use lookup::{DEADLINE as LOOKUP_DEADLINE, GitLabLookup};

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum GitLabError {
    /// GitLab did not answer, or answered 5xx: it may pass.
    #[error("GitLab is unavailable: {0}")]
    Unavailable(String),
    /// 401, or 403 where the token should have the rights: an administrator must fix it.
    #[error("GitLab refused the token ({0}): check ONBEHALF_GITLAB_TOKEN and its scopes")]
    Unauthorized(String),
    /// 429, or the budget is spent: GitLab asked to wait this long.
    #[error("rate limited by GitLab (retry after {} s)", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    /// Another client error: this request cannot succeed as it is.
    #[error("GitLab answered {0}")]
    Rejected(String),
    /// An answer that is not what the API reference documents.
    #[error("GitLab's answer is unreadable: {0}")]
    Unreadable(String),
    /// Our side: a bad URL, an unusable HTTP client.
    #[error("GitLab request impossible: {0}")]
    Permanent(String),
}

/// The lookup the configuration asks for; `None` without `gitlab_url` (GitLab off). The
/// budget is shared through `store` when that is PostgreSQL, like the helpdesk's.
pub fn from_config(
    config: &crate::config::Config,
    store: &crate::store::Store,
    helpdesks: &crate::helpdesk::Helpdesks,
    health: &crate::health::Health,
) -> Result<Option<GitLabLookup>, GitLabError> {
    let (Some(url), Some(token)) = (&config.gitlab_url, &config.gitlab_token) else {
        return Ok(None);
    };
    let client = GitLabClient::new(&GitLabOptions {
        base_url: url.clone(),
        token: token.clone(),
        timeout: Duration::from_secs(config.gitlab_timeout_secs),
        requests_per_minute: config.gitlab_requests_per_minute,
    })?
    .with_health(health.clone());
    let client = if store.shares_api_budget() {
        let budget = crate::helpdesk::budget::SharedBudget::new(
            store.clone(),
            &format!("gitlab:{}", client.host()),
            config.gitlab_requests_per_minute,
        );
        client.with_budget(std::sync::Arc::new(budget))
    } else {
        client
    };
    Ok(Some(GitLabLookup::new(
        std::sync::Arc::new(client),
        store.clone(),
        helpdesks,
    )))
}
