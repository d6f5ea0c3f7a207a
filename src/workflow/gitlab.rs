//! What GitLab says about the requester, as plain data the core decides on.
//!
//! The worker looks the facts up (I/O, `crate::gitlab`) and hands them to [`super::decide_with`];
//! this module only says what they mean: the handbook's role rule (a project needs Maintainer,
//! 40, or more; a group needs Owner, 50) and how the account's facts tailor the self-service
//! checklist. Account facts are shown to the agent and never count as evidence of ownership.
//!
//! Access levels are GitLab's (`doc/api/members.md`, "Roles"): 10 Guest, 15 Planner, 20
//! Reporter, 30 Developer, 40 Maintainer, 50 Owner.

pub mod paths;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use paths::{PathKind, PathMention, mentioned_paths};

/// The least access level that lets a requester ask for a project change (Maintainer).
pub const PROJECT_LEVEL_NEEDED: u32 = 40;
/// The access level a requester needs for a group change (Owner).
pub const GROUP_LEVEL_NEEDED: u32 = 50;

/// One lookup of the requester in GitLab, for one helpdesk requester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitLabFacts {
    /// The helpdesk requester the facts are about: they count only while that person is the
    /// ticket's requester.
    pub requester_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub read_at: OffsetDateTime,
    /// Where they were read, e.g. `GitLab API https://gitlab.com`.
    pub source: String,
    pub found: Found,
}

/// Who the requester is in GitLab (by the exact e-mail address the helpdesk has for them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Found {
    /// The lookup failed (GitLab down, 401, rate limit…): nothing is known.
    Failed { reason: String },
    /// No GitLab user has exactly this e-mail address.
    NoUser,
    /// Several GitLab users match: onbehalf does not guess between them.
    SeveralUsers { usernames: Vec<String> },
    User {
        user: GitLabUser,
        /// For project/group tickets.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<Box<RoleFacts>>,
        /// For account-access tickets.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<Box<AccountFacts>>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitLabUser {
    pub id: u64,
    pub username: String,
    /// `active`, `blocked`, `deactivated`… as GitLab says.
    pub state: String,
    /// Only administrators see it; `None` when GitLab did not say.
    pub two_factor_enabled: Option<bool>,
    /// Provider names of the sign-in identities (`saml`, `group_saml`, `google_oauth2`…),
    /// never their external ids.
    pub identity_providers: Vec<String>,
}

/// The role check of a project/group ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RoleFacts {
    /// The ticket names no project or group onbehalf could recognise.
    NoPath,
    /// The paths the ticket names, each as GitLab resolved it (several, or none existing).
    Unclear { paths: Vec<PathRole> },
    /// The one project or group the ticket names.
    Checked { path: PathRole },
}

/// One path and what GitLab says the requester is there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathRole {
    /// As the ticket wrote it.
    pub mentioned: String,
    pub standing: Standing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Standing {
    /// Neither a project nor a group of that path exists (or is visible to the token).
    NotFound,
    /// Could not check this path.
    Failed { reason: String },
    /// The requester's effective (highest, inherited included) role there; `None`: no member.
    Member {
        kind: PathKind,
        /// GitLab's `path_with_namespace` / `full_path`.
        full_path: String,
        access_level: Option<u32>,
        /// The membership is inherited (the requester is not a direct member): from this
        /// ancestor group when GitLab showed which one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inherited_from: Option<Inherited>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inherited {
    /// The ancestor group holding the direct membership, when found.
    pub group: Option<String>,
}

impl Standing {
    /// The handbook's rule: project ≥ Maintainer (40), group = Owner (50).
    pub fn meets_rule(&self) -> bool {
        match self {
            Standing::Member {
                kind: PathKind::Project,
                access_level: Some(level),
                ..
            } => *level >= PROJECT_LEVEL_NEEDED,
            Standing::Member {
                kind: PathKind::Group,
                access_level: Some(level),
                ..
            } => *level >= GROUP_LEVEL_NEEDED,
            _ => false,
        }
    }

    fn resolved(&self) -> bool {
        !matches!(self, Standing::NotFound)
    }
}

/// Facts about the account of an account-access ticket: shown, never ownership evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFacts {
    /// `GET /users/:id/keys`; `Err`: could not check (why).
    pub ssh_keys: Result<usize, String>,
    /// The plans of the namespaces the user belongs to, where the API shows them; `Err`: could
    /// not check.
    pub plans: Result<Vec<NamespacePlan>, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespacePlan {
    pub full_path: String,
    pub plan: String,
    #[serde(default)]
    pub trial: bool,
}

impl NamespacePlan {
    /// A paid subscription: not the free tier (`free`, or `default` on instances without
    /// plans) and not a trial.
    pub fn is_paid(&self) -> bool {
        let plan = self.plan.to_ascii_lowercase();
        !(self.trial
            || plan.is_empty()
            || plan == "free"
            || plan == "default"
            || plan.ends_with("_trial"))
    }
}

/// What the role facts mean for the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleVerdict {
    /// The rule is met: the role is verified by the GitLab API.
    Met,
    /// GitLab shows the requester's role on the one path, and it is not enough.
    NotMet,
    /// Nothing decided: the agent verifies the role (no path, several, a failure…).
    Unknown,
}

impl GitLabFacts {
    pub fn user(&self) -> Option<&GitLabUser> {
        match &self.found {
            Found::User { user, .. } => Some(user),
            _ => None,
        }
    }

    pub fn role(&self) -> Option<&RoleFacts> {
        match &self.found {
            Found::User { role, .. } => role.as_deref(),
            _ => None,
        }
    }

    pub fn account(&self) -> Option<&AccountFacts> {
        match &self.found {
            Found::User { account, .. } => account.as_deref(),
            _ => None,
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self.found, Found::Failed { .. })
    }

    /// The role rule on the one project or group the ticket names.
    pub fn role_verdict(&self) -> RoleVerdict {
        match self.role() {
            Some(RoleFacts::Checked { path }) if path.standing.meets_rule() => RoleVerdict::Met,
            Some(RoleFacts::Checked { path })
                if matches!(path.standing, Standing::Member { .. }) =>
            {
                RoleVerdict::NotMet
            }
            _ => RoleVerdict::Unknown,
        }
    }
}

/// Turns the standings of every mentioned path into the role facts: the one path that
/// resolved is checked; several (or none) are listed for the agent.
pub fn role_facts(paths: Vec<PathRole>) -> RoleFacts {
    if paths.is_empty() {
        return RoleFacts::NoPath;
    }
    let resolved: Vec<&PathRole> = paths.iter().filter(|p| p.standing.resolved()).collect();
    match resolved.as_slice() {
        [one] => RoleFacts::Checked {
            path: (*one).clone(),
        },
        _ => RoleFacts::Unclear { paths },
    }
}

/// GitLab's name of an access level (`doc/api/members.md`, "Roles").
pub fn role_name(level: u32) -> &'static str {
    match level {
        0 => "No access",
        5 => "Minimal access",
        10 => "Guest",
        15 => "Planner",
        20 => "Reporter",
        30 => "Developer",
        40 => "Maintainer",
        50 => "Owner",
        60 => "Admin",
        _ => "Custom role",
    }
}

#[cfg(test)]
mod tests;
