//! The requester's role on a project or group the ticket names (`doc/api/projects.md`,
//! `doc/api/groups.md`: get one by URL-encoded path; `doc/api/members.md`: a member including
//! inherited members, `…/members/all/:user_id`, the highest level; a direct member,
//! `…/members/:user_id`; 404 = not a member).

use serde::Deserialize;

use super::GitLabError;
use super::lookup::GitLabLookup;
use crate::workflow::gitlab::{Inherited, PathKind, PathMention, Standing};

/// Ancestor groups asked for the direct membership an inherited role comes from.
const MAX_ANCESTORS: usize = 5;

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

impl GitLabLookup {
    /// What the requester is on one mentioned path: a project (when it may be one) or else a
    /// group, then the effective membership.
    pub(super) async fn standing(&self, mention: &PathMention, user_id: u64) -> Standing {
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
}
