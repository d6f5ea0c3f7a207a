use super::paths::MAX_PATHS;
use super::*;

fn hosts() -> Vec<String> {
    vec!["gitlab.com".to_string()]
}

fn paths(text: &str) -> Vec<(String, Option<PathKind>)> {
    mentioned_paths(text, &hosts())
        .into_iter()
        .map(|m| (m.path, m.kind))
        .collect()
}

#[test]
fn urls_on_the_gitlab_host_name_their_namespace_path() {
    assert_eq!(
        paths("Pipelines fail in https://gitlab.com/acme/sub/api/-/pipelines/123, please look."),
        vec![("acme/sub/api".to_string(), None)]
    );
    assert_eq!(
        paths("See gitlab.com/acme/api."),
        vec![("acme/api".to_string(), None)]
    );
    assert_eq!(
        paths("clone https://gitlab.com/acme/api.git fails"),
        vec![("acme/api".to_string(), None)]
    );
    assert_eq!(
        paths("the group page https://gitlab.com/groups/acme/-/settings"),
        vec![("acme".to_string(), Some(PathKind::Group))]
    );
    // Pages of GitLab itself and other hosts are no namespaces.
    assert!(paths("https://gitlab.com/users/sign_in and https://gitlab.com/-/profile").is_empty());
    assert!(
        paths("https://notgitlab.com/acme/api and https://gitlab.com.evil.io/acme/api").is_empty()
    );
}

#[test]
fn backticked_paths_and_named_groups_are_recognised() {
    assert_eq!(
        paths("Please transfer `acme/sub/api` to the group `acme-new`."),
        vec![
            ("acme/sub/api".to_string(), None),
            ("acme-new".to_string(), Some(PathKind::Group)),
        ]
    );
    assert_eq!(
        paths("our `acme` group lost its owner"),
        vec![("acme".to_string(), Some(PathKind::Group))]
    );
    // A bare name without "group" may be a username; commands are not paths.
    assert!(
        paths("disable 2FA on `rbanks`, I ran `ssh git@gitlab.com 2fa_recovery_codes`").is_empty()
    );
    assert!(paths("an unpaired `acme/api backtick").is_empty());
}

#[test]
fn the_same_path_twice_is_one_mention_keeping_what_the_text_says_it_is() {
    assert_eq!(
        paths("https://gitlab.com/Acme/API and the project `acme/api`"),
        vec![("Acme/API".to_string(), Some(PathKind::Project))]
    );
    let many: String = (0..9).map(|i| format!(" `acme/p{i}`")).collect();
    assert_eq!(paths(&many).len(), MAX_PATHS);
}

#[test]
fn malformed_paths_are_not_mentions() {
    for text in [
        "`-acme/api`",
        "`acme/.hidden`",
        "`acme//api`",
        "`acme/api.atom`",
        "`a b/c`",
    ] {
        assert!(paths(text).is_empty(), "{text}");
    }
}

fn member(kind: PathKind, level: Option<u32>) -> Standing {
    Standing::Member {
        kind,
        full_path: "acme/api".into(),
        access_level: level,
        inherited_from: None,
    }
}

#[test]
fn the_handbook_rule_is_maintainer_for_projects_and_owner_for_groups() {
    assert!(member(PathKind::Project, Some(40)).meets_rule());
    assert!(member(PathKind::Project, Some(50)).meets_rule());
    assert!(!member(PathKind::Project, Some(30)).meets_rule());
    assert!(member(PathKind::Group, Some(50)).meets_rule());
    assert!(!member(PathKind::Group, Some(40)).meets_rule());
    assert!(!member(PathKind::Group, None).meets_rule());
    assert!(!Standing::NotFound.meets_rule());
}

fn facts(role: RoleFacts) -> GitLabFacts {
    GitLabFacts {
        requester_id: "1001".into(),
        read_at: OffsetDateTime::UNIX_EPOCH,
        source: "GitLab API https://gitlab.com".into(),
        found: Found::User {
            user: GitLabUser {
                id: 7,
                username: "alice".into(),
                state: "active".into(),
                two_factor_enabled: Some(true),
                identity_providers: vec![],
            },
            role: Some(Box::new(role)),
            account: None,
        },
    }
}

fn at(mentioned: &str, standing: Standing) -> PathRole {
    PathRole {
        mentioned: mentioned.into(),
        standing,
    }
}

#[test]
fn one_resolved_path_is_checked_several_or_none_are_left_to_the_agent() {
    let checked = role_facts(vec![
        at("src/main.rs", Standing::NotFound),
        at("acme/api", member(PathKind::Project, Some(40))),
    ]);
    assert_eq!(facts(checked).role_verdict(), RoleVerdict::Met);
    let developer = role_facts(vec![at("acme/api", member(PathKind::Project, Some(30)))]);
    assert_eq!(facts(developer).role_verdict(), RoleVerdict::NotMet);
    let outsider = role_facts(vec![at("acme/api", member(PathKind::Project, None))]);
    assert_eq!(facts(outsider).role_verdict(), RoleVerdict::NotMet);
    let two = role_facts(vec![
        at("acme/api", member(PathKind::Project, Some(40))),
        at("acme", member(PathKind::Group, Some(50))),
    ]);
    assert!(matches!(two, RoleFacts::Unclear { .. }));
    assert_eq!(facts(two).role_verdict(), RoleVerdict::Unknown);
    assert_eq!(role_facts(vec![]), RoleFacts::NoPath);
    let failed = role_facts(vec![at(
        "acme/api",
        Standing::Failed {
            reason: "GitLab answered 500".into(),
        },
    )]);
    assert_eq!(facts(failed).role_verdict(), RoleVerdict::Unknown);
}

#[test]
fn only_a_subscription_that_is_not_free_or_a_trial_is_paid() {
    let plan = |plan: &str, trial: bool| NamespacePlan {
        full_path: "acme".into(),
        plan: plan.into(),
        trial,
    };
    assert!(plan("premium", false).is_paid());
    assert!(plan("ultimate", false).is_paid());
    assert!(!plan("ultimate", true).is_paid());
    assert!(!plan("ultimate_trial", false).is_paid());
    assert!(!plan("free", false).is_paid());
    assert!(!plan("default", false).is_paid());
}
