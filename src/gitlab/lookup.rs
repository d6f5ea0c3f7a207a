//! One ticket's lookup: the requester's e-mail from the helpdesk, their GitLab user, then the
//! role on the project or group the ticket names, or the account's facts. The result is
//! cached per ticket and requester (`crate::store`), failures only for [`FAILURE_RECHECK`].
//!
//! API reference (GitLab's `doc/api/`): `users.md` (List users `?search=` by e-mail, the
//! admin fields `email`, `two_factor_enabled`, `identities`; User memberships; List SSH keys
//! for user), `projects.md` / `groups.md` (get one by URL-encoded path), `members.md` (Get a
//! member including inherited members: `…/members/all/:user_id`, the highest access level;
//! direct member: `…/members/:user_id`; 404 = not a member), `namespaces.md` (`plan`, `trial`).

use serde::Deserialize;
use serde::de::IgnoredAny;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

use super::{GitLabClient, GitLabError};
use crate::helpdesk::zendesk::ZendeskClient;
use crate::store::Store;
use crate::workflow::gitlab::{
    AccountFacts, Found, GitLabFacts, GitLabUser, Inherited, NamespacePlan, PathKind, PathMention,
    PathRole, Standing, mentioned_paths, role_facts,
};
use crate::workflow::{Category, TicketEvent, WorkflowSettings};

/// A failed lookup is tried again on a later event of the ticket once this has passed.
pub const FAILURE_RECHECK: Duration = Duration::from_secs(300);
/// A whole lookup; then the note says GitLab took too long.
const DEADLINE: Duration = Duration::from_secs(20);
/// Ancestor groups asked for the direct membership an inherited role comes from.
const MAX_ANCESTORS: usize = 5;
/// Group namespaces whose plan is read for an account ticket.
const MAX_PLANS: usize = 10;

pub struct GitLabLookup {
    client: Arc<GitLabClient>,
    store: Store,
    /// Reads the requester's e-mail; `None` in shadow mode.
    zendesk: Option<Arc<ZendeskClient>>,
    /// Hosts whose URLs in a ticket name projects and groups.
    hosts: Vec<String>,
}

#[derive(Deserialize)]
struct ApiUser {
    id: u64,
    username: String,
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

/// Fields GitLab always sends are still optional here: without them the path as the ticket
/// wrote it (which GitLab just resolved) stands in.
#[derive(Deserialize)]
struct Project {
    #[serde(default)]
    path_with_namespace: Option<String>,
    #[serde(default)]
    namespace: Option<ProjectNamespace>,
}

#[derive(Deserialize)]
struct ProjectNamespace {
    full_path: String,
    #[serde(default)]
    kind: String,
}

#[derive(Deserialize)]
struct Group {
    #[serde(default)]
    full_path: Option<String>,
}

#[derive(Deserialize)]
struct Member {
    access_level: u32,
}

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
    pub fn new(
        client: Arc<GitLabClient>,
        store: Store,
        zendesk: Option<Arc<ZendeskClient>>,
    ) -> GitLabLookup {
        let mut hosts = vec![client.host().to_string()];
        if !hosts.iter().any(|h| h == "gitlab.com") {
            hosts.push("gitlab.com".into());
        }
        GitLabLookup {
            client,
            store,
            zendesk,
            hosts,
        }
    }

    /// The facts for this event's ticket and requester: cached, or looked up now. `None` when
    /// the ticket needs none (category `other`, done, no requester). Never fails: a failure is
    /// a fact ("could not check").
    pub async fn facts_for(
        &self,
        source: &str,
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
        let found =
            match tokio::time::timeout(DEADLINE, self.look_up(requester, category, event)).await {
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

    async fn look_up(&self, requester: &str, category: Category, event: &TicketEvent) -> Found {
        let Some(zendesk) = &self.zendesk else {
            return Found::Failed {
                reason: "the requester's e-mail is unknown without the helpdesk API (shadow mode)"
                    .into(),
            };
        };
        let email = match zendesk.user_email(requester).await {
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

    /// What the requester is on one mentioned path: a project (when it may be one) or else a
    /// group, then the effective membership.
    async fn standing(&self, mention: &PathMention, user_id: u64) -> Standing {
        match self.resolve_and_check(mention, user_id).await {
            Ok(standing) => standing,
            Err(e) => Standing::Failed {
                reason: e.to_string(),
            },
        }
    }

    async fn resolve_and_check(
        &self,
        mention: &PathMention,
        user_id: u64,
    ) -> Result<Standing, GitLabError> {
        let user = user_id.to_string();
        let may_be_project = mention.kind != Some(PathKind::Group) && mention.path.contains('/');
        if may_be_project
            && let Some(project) = self
                .client
                .get::<Project>(&["projects", &mention.path], &[])
                .await?
        {
            let full_path = project
                .path_with_namespace
                .unwrap_or_else(|| mention.path.clone());
            let parent = match &project.namespace {
                Some(ns) => (ns.kind == "group").then(|| ns.full_path.clone()),
                // A project's parent is its namespace: a group unless it is a user's.
                None => full_path.rsplit_once('/').map(|(ns, _)| ns.to_string()),
            };
            let parent = parent.as_deref();
            let (access_level, inherited_from) = self
                .membership("projects", &full_path, parent, &user)
                .await?;
            return Ok(Standing::Member {
                kind: PathKind::Project,
                full_path,
                access_level,
                inherited_from,
            });
        }
        if mention.kind == Some(PathKind::Project) {
            return Ok(Standing::NotFound);
        }
        let Some(group) = self
            .client
            .get::<Group>(&["groups", &mention.path], &[("with_projects", "false")])
            .await?
        else {
            return Ok(Standing::NotFound);
        };
        let full_path = group.full_path.unwrap_or_else(|| mention.path.clone());
        let parent = full_path.rsplit_once('/').map(|(parent, _)| parent);
        let (access_level, inherited_from) =
            self.membership("groups", &full_path, parent, &user).await?;
        Ok(Standing::Member {
            kind: PathKind::Group,
            full_path,
            access_level,
            inherited_from,
        })
    }

    /// The requester's effective level on a project or group (`collection`: `projects` or
    /// `groups`), and, when they are not a direct member, where it is inherited from (the
    /// ancestors from `parent_group` up).
    async fn membership(
        &self,
        collection: &str,
        full_path: &str,
        parent_group: Option<&str>,
        user: &str,
    ) -> Result<(Option<u32>, Option<Inherited>), GitLabError> {
        let Some(effective) = self
            .client
            .get::<Member>(&[collection, full_path, "members", "all", user], &[])
            .await?
        else {
            return Ok((None, None));
        };
        let direct: Option<Member> = self
            .client
            .get(&[collection, full_path, "members", user], &[])
            .await?;
        let inherited = match (direct, parent_group) {
            (Some(_), _) => None,
            (None, Some(parent)) => {
                Some(self.inherited(parent, user, effective.access_level).await)
            }
            (None, None) => Some(Inherited { group: None }),
        };
        Ok((Some(effective.access_level), inherited))
    }

    /// The nearest ancestor group (from `group` up) where the requester is a direct member at
    /// the effective level: where the inherited role comes from. Unknown when none is found
    /// within [`MAX_ANCESTORS`] (or the role comes from a group the project is shared with).
    async fn inherited(&self, group: &str, user: &str, level: u32) -> Inherited {
        let mut path = group.to_string();
        for _ in 0..MAX_ANCESTORS {
            match self
                .client
                .get::<Member>(&["groups", &path, "members", user], &[])
                .await
            {
                Ok(Some(member)) if member.access_level == level => {
                    return Inherited { group: Some(path) };
                }
                Ok(_) => {}
                Err(_) => break,
            }
            match path.rsplit_once('/') {
                Some((parent, _)) => path = parent.to_string(),
                None => break,
            }
        }
        Inherited { group: None }
    }

    /// The account's facts: SSH keys, and the plans of its namespaces where visible.
    async fn account(&self, user: &ApiUser) -> AccountFacts {
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
