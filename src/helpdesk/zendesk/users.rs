//! A requester's e-mail address, for looking them up elsewhere (GitLab): `GET
//! /api/v2/users/{id}.json` (Show User,
//! developer.zendesk.com/api-reference/ticketing/users/users/#show-user; `email` is the
//! user's primary e-mail, `null` when they have none).

use serde::Deserialize;

use super::{MAX_ANSWER, ZendeskClient, bounded_body, is_ticket_id};
use crate::helpdesk::{HelpdeskError, Requesters};

#[derive(Deserialize)]
struct ShowUser {
    user: ShownUser,
}

#[derive(Deserialize)]
struct ShownUser {
    #[serde(default)]
    email: Option<String>,
}

impl ZendeskClient {
    /// The user's primary e-mail address; `None` when Zendesk has none for them (or no such
    /// user: 404).
    pub async fn user_email(&self, user_id: &str) -> Result<Option<String>, HelpdeskError> {
        // User ids have the syntax of ticket ids (positive integers): only such an id goes
        // into the path.
        if !is_ticket_id(user_id) {
            return Err(HelpdeskError::Permanent(format!(
                "{:?} is not a Zendesk user id",
                user_id.chars().take(40).collect::<String>()
            )));
        }
        let url = self.url(&format!("/api/v2/users/{user_id}.json"))?;
        let response = match self.send(|| self.http.get(url.clone())).await {
            Ok(response) => response,
            Err(HelpdeskError::Rejected(reason)) if reason.contains("404") => return Ok(None),
            Err(e) => return Err(e),
        };
        let body = bounded_body(response, MAX_ANSWER).await?;
        let shown: ShowUser =
            serde_json::from_slice(&body).map_err(|e| HelpdeskError::Unavailable {
                reason: format!("unreadable Show User answer: {e}"),
                retry_after: None,
            })?;
        Ok(shown
            .user
            .email
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty()))
    }
}

#[async_trait::async_trait]
impl Requesters for ZendeskClient {
    async fn email_of(&self, user_id: &str) -> Result<Option<String>, HelpdeskError> {
        self.user_email(user_id).await
    }
}
