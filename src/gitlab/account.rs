//! The facts of the account an account-access ticket is about (`doc/api/users.md`: List SSH
//! keys for user, User memberships; `doc/api/namespaces.md`: `plan`, `trial`). Facts for the
//! agent, never evidence of ownership.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::GitLabError;
use super::lookup::{ApiUser, GitLabLookup};
use crate::workflow::gitlab::{AccountFacts, NamespacePlan};

/// Group namespaces whose plan is read for an account ticket.
const MAX_PLANS: usize = 10;

#[derive(Deserialize)]
struct Membership {
    source_id: u64,
    #[serde(default)]
    source_type: String,
}

#[derive(Deserialize)]
struct Namespace {
    full_path: String,
    #[serde(default)]
    plan: Option<String>,
    #[serde(default)]
    trial: bool,
}

impl GitLabLookup {
    /// The account's facts: SSH keys, and the plans of its namespaces where visible.
    pub(super) async fn account(&self, user: &ApiUser) -> AccountFacts {
        let id = user.id.to_string();
        let ssh_keys = self
            .client
            .get::<Vec<IgnoredAny>>(&["users", &id, "keys"], &[("per_page", "100")])
            .await
            .map(|keys| keys.map_or(0, |k| k.len()))
            .map_err(|e| e.to_string());
        AccountFacts {
            ssh_keys,
            plans: self.plans(user).await.map_err(|e| e.to_string()),
        }
    }

    /// The user's own namespace, then the groups they are a direct member of (User
    /// memberships is for administrators of self-managed instances: elsewhere only the
    /// user's own namespace is read).
    async fn plans(&self, user: &ApiUser) -> Result<Vec<NamespacePlan>, GitLabError> {
        let mut plans = vec![];
        let mut namespaces = vec![user.username.clone()];
        let id = user.id.to_string();
        match self
            .client
            .get::<Vec<Membership>>(
                &["users", &id, "memberships"],
                &[("type", "Namespace"), ("per_page", "100")],
            )
            .await
        {
            Ok(memberships) => namespaces.extend(
                memberships
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|m| m.source_type == "Namespace")
                    .take(MAX_PLANS)
                    .map(|m| m.source_id.to_string()),
            ),
            Err(GitLabError::Unauthorized(_) | GitLabError::Rejected(_)) => {}
            Err(e) => return Err(e),
        }
        for namespace in namespaces {
            if let Some(ns) = self
                .client
                .get::<Namespace>(&["namespaces", &namespace], &[])
                .await?
                && let Some(plan) = ns.plan
            {
                plans.push(NamespacePlan {
                    full_path: ns.full_path,
                    plan,
                    trial: ns.trial,
                });
            }
        }
        Ok(plans)
    }
}
