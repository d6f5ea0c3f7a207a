use super::*;

fn view(category: Category, next: NextStep) -> NoteView {
    NoteView::new(category, &TagNames::default(), next, Progress::default())
}

#[test]
fn every_template_renders_for_every_category_and_next_step() {
    let nexts = [
        NextStep::VerifyOwnership,
        NextStep::VerifyRole,
        NextStep::RoleNotMet,
        NextStep::AskPermission,
        NextStep::Reask,
        NextStep::AwaitReply,
        NextStep::ProceedProject,
        NextStep::ProceedAccount,
        NextStep::DoNotProceed,
        NextStep::FollowEscalation,
        NextStep::Nothing,
    ];
    for template in NoteTemplate::ALL {
        for category in Category::ALL {
            for next in nexts {
                let mut v = view(category, next).with_quote("Yes.");
                v.action = Some("do it".into());
                let html = try_render(template, &v)
                    .unwrap_or_else(|e| panic!("{template:?} {category} {next:?}: {e}"));
                assert!(html.starts_with("<p><strong>onbehalf · "), "{html}");
                assert!(html.contains("Next step: <strong>"), "{html}");
                assert!(!html.contains("\n\n"));
            }
        }
    }
}

#[test]
fn customer_and_agent_text_is_escaped() {
    let mut v = view(Category::AccountAccess, NextStep::Reask)
        .with_quote("Yes <script>alert(1)</script>\nsecond & line");
    v.action = Some("remove <b>2FA</b>".into());
    v.paste = Some(Paste {
        label: "Permission question to paste",
        text: "Could you please confirm that you would like us to remove <b>2FA</b>?".into(),
        line: false,
    });
    let html = render(NoteTemplate::Unclear, &v);
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("<br>second &amp; line"), "{html}");
}

#[test]
fn checklist_marks_done_items_and_leaves_the_rest_open() {
    let mut v = view(Category::AccountAccess, NextStep::AskPermission);
    v.progress = Progress {
        verified: true,
        asked: false,
        confirmed: false,
    };
    let html = render(NoteTemplate::Verified, &v);
    assert!(html.contains("<li>☑ Account ownership verified"), "{html}");
    assert!(html.contains("<li>☐ Explicit permission asked"), "{html}");
    assert!(
        html.contains("<code>ssh git@gitlab.com 2fa_recovery_codes</code>"),
        "{html}"
    );
}

#[test]
fn silent_category_has_no_checklist() {
    let html = render(
        NoteTemplate::Recategorised,
        &view(Category::Other, NextStep::Nothing),
    );
    assert!(!html.contains("<ul>"), "{html}");
    assert!(html.contains("onbehalf stays silent"), "{html}");
}

#[test]
fn times_are_shown_in_utc() {
    let at = time::macros::datetime!(2025-01-08 15:25 +01:00);
    assert_eq!(format_time(at), "2025-01-08 14:25 UTC");
    assert_eq!(format_date(at), "2025-01-08");
}

#[test]
fn self_service_is_never_ticked_since_no_ticket_says_so() {
    for category in [Category::AccountAccess, Category::ProjectGroupChange] {
        let mut v = view(category, NextStep::AskPermission);
        v.progress = Progress {
            verified: true,
            asked: true,
            confirmed: true,
        };
        let html = render(NoteTemplate::Verified, &v);
        assert!(
            html.contains("<li>☐ Self-service exhausted")
                || html.contains("<li>☐ User action first"),
            "{html}"
        );
        assert!(
            !html.contains("☑ Self-service") && !html.contains("☑ User action"),
            "{html}"
        );
        assert!(html.contains("not tracked by onbehalf"), "{html}");
    }
}

#[test]
fn backticked_words_in_agent_text_render_as_code_and_stay_escaped() {
    let mut v = view(Category::AccountAccess, NextStep::Reask).with_quote("Yes, `go` ahead.");
    v.action = Some("disable 2FA on the account `rbanks` & `<b>x</b>` but not `this".into());
    let html = render(NoteTemplate::Granted, &v);
    assert!(html.contains("<em>disable 2FA on the account <code>rbanks</code> &amp; <code>&lt;b&gt;x&lt;/b&gt;</code> but not `this</em>"), "{html}");
    // The requester's words are quoted exactly as written.
    assert!(html.contains("Yes, `go` ahead."), "{html}");
    assert!(!html.contains("<b>"), "{html}");
}

#[test]
fn classifier_and_judge_reasons_show_each_piece_of_evidence_once() {
    let mut v = view(Category::ProjectGroupChange, NextStep::VerifyRole);
    v.reasons = vec![
        r#""add me as owner" + "group" → project_group_change"#.into(),
        r#""add me as owner" + "group" → project_group_change"#.into(),
        r#""add me as owner" + "group" + "please" → project_group_change"#.into(),
    ];
    let html = render(NoteTemplate::Triage, &v);
    assert_eq!(html.matches("add me as owner").count(), 1, "{html}");
    assert!(html.contains("&quot;please&quot;"), "{html}");

    let mut v = view(Category::AccountAccess, NextStep::Reask).with_quote("Is that safe?");
    v.action = Some("remove 2FA".into());
    v.judgment_reasons = vec![r#"question: "?""#.into(), "no explicit grant".into()];
    let html = render(NoteTemplate::Unclear, &v);
    assert!(html.contains("(question; no explicit grant)"), "{html}");
}

mod gitlab_facts {
    use super::super::{GitLabView, owner_reply};
    use crate::workflow::gitlab::*;

    fn facts(found: Found) -> GitLabFacts {
        GitLabFacts {
            requester_id: "1001".into(),
            read_at: time::macros::datetime!(2025-01-08 14:25 UTC),
            source: "GitLab API https://gitlab.com".into(),
            found,
        }
    }

    fn user() -> GitLabUser {
        GitLabUser {
            id: 7,
            username: "alice".into(),
            state: "blocked".into(),
            two_factor_enabled: Some(false),
            identity_providers: vec!["google_oauth2".into(), "saml".into()],
        }
    }

    fn member(kind: PathKind, level: Option<u32>, inherited_from: Option<Inherited>) -> PathRole {
        PathRole {
            mentioned: "acme/api".into(),
            standing: Standing::Member {
                kind,
                full_path: "acme/api".into(),
                access_level: level,
                inherited_from,
            },
        }
    }

    #[test]
    fn the_facts_say_where_they_were_read_and_when() {
        let view = GitLabView::new(&facts(Found::NoUser));
        assert_eq!(view.read_at, "2025-01-08 14:25 UTC");
        assert_eq!(view.source, "GitLab API https://gitlab.com");
        assert!(view.lines[0].starts_with("no GitLab user has the requester's e-mail address"));
        assert!(!view.failed && !view.role_verified && view.account.is_none());
    }

    #[test]
    fn an_inherited_role_whose_group_is_unknown_says_it_is_not_direct() {
        let role = RoleFacts::Checked {
            path: member(PathKind::Project, Some(40), Some(Inherited { group: None })),
        };
        let view = GitLabView::new(&facts(Found::User {
            user: user(),
            role: Some(Box::new(role)),
            account: None,
        }));
        assert!(view.role_verified);
        assert_eq!(
            view.lines[1],
            "verified: `@alice` is Maintainer (40) of project `acme/api`, not as a direct member (inherited from a parent group or through a shared group)"
        );
    }

    #[test]
    fn an_account_shows_its_state_two_factor_identities_and_plans_as_facts() {
        let account = AccountFacts {
            ssh_keys: Err("GitLab is unavailable: the request timed out".into()),
            plans: Ok(vec![NamespacePlan {
                full_path: "acme".into(),
                plan: "ultimate".into(),
                trial: true,
            }]),
        };
        let view = GitLabView::new(&facts(Found::User {
            user: user(),
            role: None,
            account: Some(Box::new(account)),
        }));
        assert_eq!(
            view.lines[1],
            "account `@alice`: blocked, 2FA off, SSH keys: could not check: GitLab is unavailable: the request timed out, sign-in identities: google_oauth2, saml"
        );
        assert_eq!(view.lines[2], "plans: `acme` ultimate (trial)");
        assert!(view.lines[3].contains("not evidence of ownership"));
        let checklist = view.account.expect("account checklist");
        assert_eq!(
            checklist.ssh_keys, None,
            "unknown keys keep the default checklist"
        );
        assert!(checklist.no_paid_plan, "a trial is not a paid plan");
    }

    #[test]
    fn the_reply_draft_names_who_may_ask_and_what_the_requester_is() {
        let group = facts(Found::User {
            user: user(),
            role: Some(Box::new(RoleFacts::Checked {
                path: member(PathKind::Group, Some(40), None),
            })),
            account: None,
        });
        let reply = owner_reply(&group).expect("a draft");
        assert!(
            reply.contains("at the request of an Owner of the group"),
            "{reply}"
        );
        assert!(
            reply.contains("your account has the Maintainer role there"),
            "{reply}"
        );
        let unclear = facts(Found::User {
            user: user(),
            role: Some(Box::new(RoleFacts::NoPath)),
            account: None,
        });
        assert_eq!(
            owner_reply(&unclear),
            None,
            "no draft without one checked path"
        );
    }
}
