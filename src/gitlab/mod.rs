//! GitLab, asked rather than the agent: who the requester is there, their role on the project
//! or group the ticket names, and the facts of the account an account-access ticket is about.
//!
//! Read-only: only `GET` requests are ever sent. Optional: without `ONBEHALF_GITLAB_URL` the
//! worker never calls it and the notes are as without it. A failure never blocks a ticket:
//! the facts say "could not check: <reason>" and the workflow goes on as without GitLab.
//! The decision itself is the workflow core's (`crate::workflow::gitlab`); this module only
//! reads.

mod client;
mod lookup;

pub use client::{GitLabClient, GitLabOptions};
pub use lookup::GitLabLookup;

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

impl GitLabError {
    /// Worth asking again later (the lookup is then not cached for long).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            GitLabError::Unavailable(_) | GitLabError::RateLimited { .. }
        )
    }
}
