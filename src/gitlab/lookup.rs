//! One ticket's lookup: the requester's e-mail from the ticket's helpdesk (whichever it is:
//! [`crate::helpdesk::Requesters`]), their GitLab user, then the
//! role on the project or group the ticket names, or the account's facts. The result is
//! cached per ticket and requester (`crate::store`), failures only for [`FAILURE_RECHECK`].
//! The role is `super::roles`', the account's facts `super::account`'s.
//!
//! API reference (GitLab's `doc/api/users.md`): List users `?search=` by e-mail, with the
//! administrator's fields `email`, `two_factor_enabled`, `identities`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

use super::{GitLabClient, GitLabError};
use crate::helpdesk::{Helpdesks, Requesters};
use crate::store::Store;
use crate::workflow::gitlab::{
    Found, GitLabFacts, GitLabUser, PathRole, mentioned_paths, role_facts,
};
use crate::workflow::{Category, TicketEvent, WorkflowSettings};

/// A failed lookup is tried again on a later event of the ticket once this has passed.
pub const FAILURE_RECHECK: Duration = Duration::from_secs(300);
/// A whole lookup; then the note says GitLab took too long.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct GitLabLookup {
    pub(super) client: Arc<GitLabClient>,
    store: Store,
    /// Reads the requester's e-mail, by helpdesk name; a helpdesk without API credentials has
    /// none.
    requesters: BTreeMap<&'static str, Arc<dyn Requesters>>,
    /// Hosts whose URLs in a ticket name projects and groups.
    hosts: Vec<String>,
}

#[derive(Deserialize)]
pub(super) struct ApiUser {
    pub(super) id: u64,
    pub(super) username: String,
    #[serde(default)]
    state: String,
    /// Shown to administrators only.
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    public_email: Option<String>,
    #[serde(default)]
    two_factor_enabled: Option<bool>,
    #[serde(default)]
    identities: Vec<Identity>,
}

#[derive(Deserialize)]
struct Identity {
    provider: String,
}

impl GitLabLookup {
    pub fn new(client: Arc<GitLabClient>, store: Store, helpdesks: &Helpdesks) -> GitLabLookup {
        let mut hosts = vec![client.host().to_string()];
        if !hosts.iter().any(|h| h == "gitlab.com") {
            hosts.push("gitlab.com".into());
        }
        let requesters = helpdesks
            .iter()
            .filter_map(|h| h.requesters().map(|r| (h.name(), r)))
            .collect();
        GitLabLookup {
            client,
            store,
            requesters,
            hosts,
        }
    }

    /// The facts for this event's ticket and requester: cached, or looked up now. `None` when
    /// the ticket needs none (category `other`, done, no requester). Never fails: a failure is
    /// a fact ("could not check"). `source` keys the store; `helpdesk` is whose user the
    /// requester is.
    pub async fn facts_for(
        &self,
        source: &str,
        helpdesk: &str,
        event: &TicketEvent,
        settings: &WorkflowSettings,
    ) -> Option<GitLabFacts> {
        let requester = event.ticket.requester_id.trim();
        if requester.is_empty() {
            return None;
        }
        let ticket = &event.ticket;
        let prev = match self.store.ticket_state(source, &ticket.id).await {
            Ok(prev) => prev,
            Err(e) => {
                tracing::warn!(error = %e, "GitLab lookup skipped: the ticket's state is unreadable");
                return None;
            }
        };
        if prev.as_ref().is_some_and(|s| s.done_at.is_some()) {
            return None;
        }
        // The category the decision will see: the stored one, unless this is the first event
        // or an agent's override tag is on the ticket (the classifier honours it).
        let overridden = ticket
            .tags
            .iter()
            .any(|t| t.starts_with(settings.tags.category_prefix.as_str()));
        let category = match prev.as_ref().and_then(|s| s.category) {
            Some(category) if !overridden => category,
            _ => {
                settings
                    .classifier
                    .classify(&ticket.subject, &ticket.description, &ticket.tags)
                    .category
            }
        };
        if category == Category::Other {
            return None;
        }
        match self
            .store
            .cached_gitlab_facts(source, &ticket.id, requester, category)
            .await
        {
            Ok(Some(cached)) if !cached.failed() || !is_stale_failure(&cached) => {
                return Some(cached);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "GitLab cache unreadable; looking up again"),
        }
        let found = match tokio::time::timeout(
            DEADLINE,
            self.look_up(helpdesk, requester, category, event),
        )
        .await
        {
            Ok(found) => found,
            Err(_) => Found::Failed {
                reason: format!("GitLab took longer than {} s", DEADLINE.as_secs()),
            },
        };
        let facts = GitLabFacts {
            requester_id: requester.to_string(),
            read_at: OffsetDateTime::now_utc(),
            source: self.client.source(),
            found,
        };
        if let Found::Failed { reason } = &facts.found {
            tracing::warn!(%reason, "GitLab check failed; the workflow goes on without it");
        }
        if let Err(e) = self
            .store
            .save_gitlab_facts(source, &ticket.id, category, &facts)
            .await
        {
            tracing::warn!(error = %e, "GitLab facts not cached");
        }
        Some(facts)
    }

    async fn look_up(
        &self,
        helpdesk: &str,
        requester: &str,
        category: Category,
        event: &TicketEvent,
    ) -> Found {
        let Some(requesters) = self.requesters.get(helpdesk) else {
            return Found::Failed {
                reason: "the requester's e-mail is unknown without the helpdesk API (shadow mode)"
                    .into(),
            };
        };
        let email = match requesters.email_of(requester).await {
            Ok(Some(email)) => email,
            Ok(None) => {
                return Found::Failed {
                    reason: "the helpdesk has no e-mail address for the requester".into(),
                };
            }
            Err(e) => {
                return Found::Failed {
                    reason: format!("could not read the requester's e-mail from the helpdesk: {e}"),
                };
            }
        };
        let user = match self.user_by_email(&email).await {
            Ok(UserMatch::One(user)) => user,
            Ok(UserMatch::None) => return Found::NoUser,
            Ok(UserMatch::Several(usernames)) => return Found::SeveralUsers { usernames },
            Err(e) => {
                return Found::Failed {
                    reason: e.to_string(),
                };
            }
        };
        let user_facts = GitLabUser {
            id: user.id,
            username: user.username.clone(),
            state: user.state.clone(),
            two_factor_enabled: user.two_factor_enabled,
            identity_providers: providers(&user.identities),
        };
        match category {
            Category::ProjectGroupChange => {
                let text = format!("{}\n{}", event.ticket.subject, event.ticket.description);
                let mut paths = vec![];
                for mention in mentioned_paths(&text, &self.hosts) {
                    let standing = self.standing(&mention, user.id).await;
                    paths.push(PathRole {
                        mentioned: mention.path,
                        standing,
                    });
                }
                Found::User {
                    user: user_facts,
                    role: Some(Box::new(role_facts(paths))),
                    account: None,
                }
            }
            _ => Found::User {
                account: Some(Box::new(self.account(&user).await)),
                user: user_facts,
                role: None,
            },
        }
    }

    /// `GET /users?search=<email>`: only users whose address is exactly it count (the search
    /// also matches names and usernames). Administrators see `email`; others only a
    /// `public_email`.
    async fn user_by_email(&self, email: &str) -> Result<UserMatch, GitLabError> {
        let users: Vec<ApiUser> = self
            .client
            .get(&["users"], &[("search", email), ("per_page", "100")])
            .await?
            .unwrap_or_default();
        let exact: Vec<ApiUser> = users
            .into_iter()
            .filter(|u| {
                [&u.email, &u.public_email]
                    .into_iter()
                    .flatten()
                    .any(|e| e.trim().eq_ignore_ascii_case(email.trim()))
            })
            .collect();
        Ok(match exact.len() {
            0 => UserMatch::None,
            1 => UserMatch::One(exact.into_iter().next().ok_or_else(|| {
                GitLabError::Unreadable("a user vanished from its own answer".into())
            })?),
            _ => UserMatch::Several(exact.into_iter().map(|u| u.username).collect()),
        })
    }
}

enum UserMatch {
    None,
    One(ApiUser),
    Several(Vec<String>),
}

fn providers(identities: &[Identity]) -> Vec<String> {
    let mut names: Vec<String> = identities.iter().map(|i| i.provider.clone()).collect();
    names.sort();
    names.dedup();
    names
}

fn is_stale_failure(facts: &GitLabFacts) -> bool {
    let age = OffsetDateTime::now_utc() - facts.read_at;
    age >= FAILURE_RECHECK
}
