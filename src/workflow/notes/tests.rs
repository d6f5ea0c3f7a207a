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
