//! What GitLab says, as note lines (Markdown backticks, rendered by the `code` filter) and
//! the flags that tailor the account-access checklist.
//!
//! Never shown: the requester's e-mail address (the agent sees it on the ticket), the token,
//! the identities' external ids.

use super::format_time;
use crate::workflow::gitlab::{
    AccountFacts, Found, GitLabFacts, GitLabUser, PathRole, RoleFacts, Standing, role_name,
};
use serde::Serialize;

/// The GitLab part of a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitLabView {
    /// `GitLab API https://gitlab.com`.
    pub source: String,
    /// `2025-01-08 14:25 UTC`.
    pub read_at: String,
    /// One fact per line.
    pub lines: Vec<String>,
    /// The lookup failed as a whole.
    pub failed: bool,
    /// The role rule is met (`verified … by GitLab API`).
    pub role_verified: bool,
    /// For account-access tickets: what tailors the self-service checklist.
    pub account: Option<AccountChecklist>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountChecklist {
    /// SSH keys on the account; `None`: not known.
    pub ssh_keys: Option<usize>,
    /// Sign-in identity providers (SSO, social sign-in).
    pub identity_providers: Vec<String>,
    /// The plans were read and none is paid: flag the eligibility rule.
    pub no_paid_plan: bool,
}

impl GitLabView {
    pub fn new(facts: &GitLabFacts) -> GitLabView {
        let mut view = GitLabView {
            source: facts.source.clone(),
            read_at: format_time(facts.read_at),
            lines: vec![],
            failed: facts.failed(),
            role_verified: facts.role_verdict() == crate::workflow::gitlab::RoleVerdict::Met,
            account: None,
        };
        match &facts.found {
            Found::Failed { reason } => view.lines.push(format!("could not check: {reason}")),
            Found::NoUser => view.lines.push(
                "no GitLab user has the requester's e-mail address: check yourself which account the request is about".into(),
            ),
            Found::SeveralUsers { usernames } => view.lines.push(format!(
                "several GitLab users have the requester's e-mail address ({}): not checked, onbehalf does not guess between them",
                usernames.iter().map(|u| format!("`@{u}`")).collect::<Vec<_>>().join(", ")
            )),
            Found::User {
                user,
                role,
                account,
            } => {
                view.lines
                    .push(format!("requester in GitLab: `@{}`", user.username));
                if let Some(role) = role {
                    role_lines(&mut view.lines, user, role);
                }
                if let Some(account) = account {
                    account_lines(&mut view.lines, user, account);
                    view.account = Some(checklist(user, account));
                }
            }
        }
        view
    }
}

fn role_lines(lines: &mut Vec<String>, user: &GitLabUser, role: &RoleFacts) {
    match role {
        RoleFacts::NoPath => lines.push(
            "the ticket names no project or group onbehalf recognises: verify the role yourself"
                .into(),
        ),
        RoleFacts::Checked { path } => {
            let fact = standing(user, path);
            lines.push(if path.standing.meets_rule() {
                format!("verified: {fact}")
            } else if matches!(path.standing, Standing::Member { .. }) {
                format!("{fact}: not a group Owner or project Maintainer")
            } else {
                fact
            });
        }
        RoleFacts::Unclear { paths } => {
            lines.push("the ticket names several projects or groups, or none GitLab knows; check which one the request is about:".into());
            for path in paths {
                lines.push(format!("`{}`: {}", path.mentioned, standing(user, path)));
            }
        }
    }
}

/// `@alice is Maintainer (40) of project `acme/api`, inherited from group `acme``.
fn standing(user: &GitLabUser, path: &PathRole) -> String {
    match &path.standing {
        Standing::NotFound => format!("no project or group `{}` in GitLab", path.mentioned),
        Standing::Failed { reason } => {
            format!("could not check `{}`: {reason}", path.mentioned)
        }
        Standing::Member {
            kind,
            full_path,
            access_level: None,
            ..
        } => format!(
            "`@{}` is not a member of {} `{full_path}`",
            user.username,
            kind.as_str()
        ),
        Standing::Member {
            kind,
            full_path,
            access_level: Some(level),
            inherited_from,
        } => {
            let inherited = match inherited_from {
                None => String::new(),
                Some(from) => match &from.group {
                    Some(group) => format!(", inherited from group `{group}`"),
                    None => ", not as a direct member (inherited from a parent group or through a shared group)".into(),
                },
            };
            format!(
                "`@{}` is {} ({level}) of {} `{full_path}`{inherited}",
                user.username,
                role_name(*level),
                kind.as_str()
            )
        }
    }
}

fn account_lines(lines: &mut Vec<String>, user: &GitLabUser, account: &AccountFacts) {
    let two_factor = match user.two_factor_enabled {
        Some(true) => "2FA on",
        Some(false) => "2FA off",
        None => "2FA not shown",
    };
    let keys = match &account.ssh_keys {
        Ok(0) => "no SSH key".to_string(),
        Ok(1) => "1 SSH key".to_string(),
        Ok(n) => format!("{n} SSH keys"),
        Err(reason) => format!("SSH keys: could not check: {reason}"),
    };
    let identities = if user.identity_providers.is_empty() {
        "no sign-in identity (SAML/OmniAuth)".to_string()
    } else {
        format!("sign-in identities: {}", user.identity_providers.join(", "))
    };
    lines.push(format!(
        "account `@{}`: {}, {two_factor}, {keys}, {identities}",
        user.username, user.state
    ));
    lines.push(match &account.plans {
        Ok(plans) if plans.is_empty() => "plans: none visible".into(),
        Ok(plans) => format!(
            "plans: {}",
            plans
                .iter()
                .map(|p| format!(
                    "`{}` {}{}",
                    p.full_path,
                    p.plan,
                    if p.trial { " (trial)" } else { "" }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(reason) => format!("plans: could not check: {reason}"),
    });
    lines.push(
        "these are facts about the account, not evidence of ownership: verify ownership as the handbook says".into(),
    );
}

fn checklist(user: &GitLabUser, account: &AccountFacts) -> AccountChecklist {
    AccountChecklist {
        ssh_keys: account.ssh_keys.as_ref().ok().copied(),
        identity_providers: user.identity_providers.clone(),
        no_paid_plan: account
            .plans
            .as_ref()
            .is_ok_and(|plans| !plans.iter().any(|p| p.is_paid())),
    }
}

/// The reply to paste when GitLab shows the requester's role is not enough.
pub fn owner_reply(facts: &GitLabFacts) -> Option<String> {
    let Some(RoleFacts::Checked { path }) = facts.role() else {
        return None;
    };
    let Standing::Member {
        kind,
        full_path,
        access_level,
        ..
    } = &path.standing
    else {
        return None;
    };
    let who = match kind {
        crate::workflow::gitlab::PathKind::Project => "a Maintainer or Owner of the project",
        crate::workflow::gitlab::PathKind::Group => "an Owner of the group",
    };
    let now = match access_level {
        Some(level) => format!("your account has the {} role there", role_name(*level)),
        None => "your account is not a member there".into(),
    };
    Some(format!(
        "Thank you for reaching out. We can only make changes to {} `{full_path}` at the request of {who}, and {now}. Please ask {who} to contact us, and we will be happy to help.",
        kind.as_str()
    ))
}
