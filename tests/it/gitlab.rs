//! GitLab asked rather than the agent: the real app on a random port, the fake Zendesk (the
//! requester's e-mail through Show User) and a fake GitLab written from GitLab's API
//! reference (tests/it/common/fake_gitlab.rs).

use crate::common;

use common::events::{self, REQUESTER};
use common::fake_gitlab::{FakeGitLab, TOKEN};
use common::{TestApp, spawn_app_with};
use onbehalf::config::Secret;
use std::time::Duration;

const EMAIL: &str = "alice@acme.io";
const TRANSFER_SUBJECT: &str = "Please transfer our project to the new group";
const TRANSFER: &str = "Hello, the transfer of the project `acme/api` fails with a 500 error every time. Could you move the project for us?";
const WAIT: Duration = Duration::from_secs(15);

async fn app_with_gitlab(gitlab: &FakeGitLab, token: &str) -> TestApp {
    let (url, token) = (gitlab.url(), token.to_string());
    let app = spawn_app_with(move |c| {
        c.gitlab_url = Some(url);
        c.gitlab_token = Some(Secret::new(token));
    })
    .await;
    app.zendesk.set_user_email(REQUESTER, EMAIL);
    app
}

/// A project ticket's one note, and the ticket as the API shows it.
async fn project_ticket(
    gitlab: &FakeGitLab,
    id: &str,
    description: &str,
) -> (String, serde_json::Value) {
    let app = app_with_gitlab(gitlab, TOKEN).await;
    let event = events::created_with(id, TRANSFER_SUBJECT, description, &[]);
    assert_eq!(app.post_event(&event.to_string()).await.status(), 202);
    let notes = app.wait_for_notes(1, WAIT).await;
    assert_eq!(notes.len(), 1, "one triage note");
    let ticket = app.ticket(id).await;
    assert_eq!(ticket["category"], "project_group_change", "{ticket}");
    (notes[0].html_body.clone(), ticket)
}

fn alice(gitlab: &FakeGitLab) {
    gitlab.add_user(FakeGitLab::user(7, "alice", EMAIL));
}

fn assert_private(note: &str) {
    assert!(
        !note.contains(EMAIL),
        "the e-mail stays on the ticket: {note}"
    );
    assert!(!note.contains(TOKEN), "the token never shows: {note}");
}

#[tokio::test]
async fn a_maintainer_through_the_group_is_verified_by_the_gitlab_api_and_asked_for_permission() {
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    gitlab.add_project("acme/api");
    gitlab.add_member("acme", 7, 40);
    let (note, ticket) = project_ticket(&gitlab, "7101", TRANSFER).await;
    assert!(
        note.contains("verified: <code>@alice</code> is Maintainer (40) of project <code>acme/api</code>, inherited from group <code>acme</code>"),
        "{note}"
    );
    assert!(note.contains("role verified by GitLab API"), "{note}");
    assert!(
        note.contains("Next step: <strong>Ask the requester for explicit permission"),
        "{note}"
    );
    assert!(note.contains("Permission question to paste"), "{note}");
    assert!(
        note.contains(
            "☑ Requester is a group Owner or project Maintainer (verified by GitLab API)"
        ),
        "{note}"
    );
    assert_private(&note);
    assert_eq!(ticket["stage"], "ask_permission", "{ticket}");
    assert_eq!(
        ticket["state"]["role_verified_by"], "GitLab API",
        "{ticket}"
    );
    let facts = &ticket["gitlab"][0];
    assert_eq!(
        facts["source"],
        format!("GitLab API {}", gitlab.url()),
        "{ticket}"
    );
    assert!(facts["read_at"].as_str().is_some(), "{ticket}");
    assert_eq!(facts["found"]["user"]["username"], "alice", "{ticket}");
    assert!(!ticket.to_string().contains(EMAIL), "{ticket}");
    // Read-only, and the project path URL-encoded as GitLab requires.
    let requests = gitlab.requests();
    assert!(requests.iter().all(|(m, _, _)| m == "GET"), "{requests:?}");
    assert!(
        requests
            .iter()
            .any(|(_, path, _)| path == "/api/v4/projects/acme%2Fapi/members/all/7"),
        "{requests:?}"
    );
}

#[tokio::test]
async fn a_group_owner_is_verified_for_a_group_ticket() {
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    gitlab.add_group("acme");
    gitlab.add_member("acme", 7, 50);
    let (note, ticket) = project_ticket(
        &gitlab,
        "7102",
        "Hello, the transfer of a project to the group `acme` fails with a 500 error every time. Could you move the project for us?",
    )
    .await;
    assert!(
        note.contains("verified: <code>@alice</code> is Owner (50) of group <code>acme</code>"),
        "{note}"
    );
    assert_eq!(ticket["stage"], "ask_permission", "{ticket}");
}

#[tokio::test]
async fn a_developer_is_told_to_have_an_owner_or_maintainer_contact_support() {
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    gitlab.add_project("acme/api");
    gitlab.add_member("acme/api", 7, 30);
    let (note, ticket) = project_ticket(&gitlab, "7103", TRANSFER).await;
    assert!(
        note.contains("<code>@alice</code> is Developer (30) of project <code>acme/api</code>: not a group Owner or project Maintainer"),
        "{note}"
    );
    assert!(
        note.contains("Next step: <strong>Do not act on the request"),
        "{note}"
    );
    assert!(note.contains("Reply to paste"), "{note}");
    assert!(
        note.contains("your account has the Developer role there. Please ask a Maintainer or Owner of the project to contact us"),
        "{note}"
    );
    assert!(!note.contains("Permission question to paste"), "{note}");
    assert_eq!(ticket["stage"], "verify_role", "{ticket}");
    assert!(ticket["state"]["role_verified_by"].is_null(), "{ticket}");
}

#[tokio::test]
async fn a_requester_who_is_not_a_member_is_told_so() {
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    gitlab.add_project("acme/api");
    let (note, ticket) = project_ticket(&gitlab, "7104", TRANSFER).await;
    assert!(
        note.contains("<code>@alice</code> is not a member of project <code>acme/api</code>"),
        "{note}"
    );
    assert!(
        note.contains("your account is not a member there"),
        "{note}"
    );
    assert_eq!(ticket["stage"], "verify_role", "{ticket}");
}

#[tokio::test]
async fn an_e_mail_several_users_have_is_not_guessed_between() {
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    gitlab.add_user(FakeGitLab::user(8, "alice-old", EMAIL));
    // A wider search match (the username contains the address' local part) is not a match.
    gitlab.add_user(FakeGitLab::user(9, "alice@acme.io.bak", "other@acme.io"));
    gitlab.add_project("acme/api");
    gitlab.add_member("acme/api", 7, 40);
    let (note, ticket) = project_ticket(&gitlab, "7105", TRANSFER).await;
    assert!(
        note.contains("several GitLab users have the requester&#x27;s e-mail address (<code>@alice</code>, <code>@alice-old</code>): not checked"),
        "{note}"
    );
    assert!(
        note.contains("verify the requester is a group Owner or project Maintainer"),
        "the agent verifies, as without GitLab: {note}"
    );
    assert_eq!(ticket["stage"], "verify_role", "{ticket}");
    assert_private(&note);
}

#[tokio::test]
async fn several_projects_or_groups_are_listed_for_the_agent() {
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    gitlab.add_project("acme/api");
    gitlab.add_group("acme-marketing");
    gitlab.add_member("acme/api", 7, 40);
    let (note, ticket) = project_ticket(
        &gitlab,
        "7106",
        "Hello, the transfer of the project `acme/api` to the group `acme-marketing` fails with a 500 error every time. Could you move the project for us?",
    )
    .await;
    assert!(
        note.contains("the ticket names several projects or groups"),
        "{note}"
    );
    assert!(
        note.contains("<code>acme/api</code>: <code>@alice</code> is Maintainer (40) of project <code>acme/api</code>"),
        "{note}"
    );
    assert!(
        note.contains("<code>acme-marketing</code>: <code>@alice</code> is not a member of group <code>acme-marketing</code>"),
        "{note}"
    );
    assert_eq!(
        ticket["stage"], "verify_role",
        "never verified from a guess: {ticket}"
    );
}

/// An account ticket's one note.
async fn account_note(gitlab: &FakeGitLab, id: &str) -> (String, serde_json::Value) {
    let app = app_with_gitlab(gitlab, TOKEN).await;
    assert_eq!(
        app.post_event(&events::created(id, &[]).to_string())
            .await
            .status(),
        202
    );
    let notes = app.wait_for_notes(1, WAIT).await;
    assert_eq!(notes.len(), 1);
    let ticket = app.ticket(id).await;
    assert_eq!(ticket["category"], "account_access", "{ticket}");
    (notes[0].html_body.clone(), ticket)
}

#[tokio::test]
async fn an_account_with_an_ssh_key_is_offered_the_recovery_codes_over_ssh() {
    let gitlab = FakeGitLab::start().await;
    let mut user = FakeGitLab::user(7, "alice", EMAIL);
    user.ssh_keys = 2;
    user.identities = vec!["saml".into()];
    gitlab.add_user(user);
    let (note, ticket) = account_note(&gitlab, "7201").await;
    assert!(
        note.contains("regenerating them with <code>ssh git@gitlab.com 2fa_recovery_codes</code> (the account has 2 SSH keys)"),
        "{note}"
    );
    assert!(
        note.contains(
            "account <code>@alice</code>: active, 2FA on, 2 SSH keys, sign-in identities: saml"
        ),
        "{note}"
    );
    assert!(note.contains("signing in through saml"), "{note}");
    // Only a free personal namespace: the eligibility rule is flagged.
    assert!(
        note.contains("☐ Eligibility: GitLab shows no paid plan"),
        "{note}"
    );
    assert!(note.contains("not evidence of ownership"), "{note}");
    assert!(
        !note.contains("secret-uid"),
        "identities' external ids stay out: {note}"
    );
    assert_private(&note);
    // Facts are not ownership: the agent still verifies it.
    assert_eq!(ticket["stage"], "verify_ownership", "{ticket}");
}

#[tokio::test]
async fn an_account_without_ssh_keys_is_not_offered_the_ssh_step() {
    let gitlab = FakeGitLab::start().await;
    gitlab.add_user(FakeGitLab::user(7, "alice", EMAIL));
    gitlab.add_group("acme");
    gitlab.add_member("acme", 7, 30);
    gitlab.set_plan("acme", "premium", false);
    let (note, _) = account_note(&gitlab, "7202").await;
    assert!(!note.contains("2fa_recovery_codes"), "{note}");
    assert!(
        note.contains("the account has no SSH key to regenerate recovery codes with"),
        "{note}"
    );
    assert!(note.contains("2FA on, no SSH key,"), "{note}");
    assert!(
        !note.contains("over SSH"),
        "not even among the reminders: {note}"
    );
    assert!(note.contains("<code>acme</code> premium"), "{note}");
    assert!(
        !note.contains("Eligibility"),
        "a paid plan is visible: {note}"
    );
    assert!(!note.contains("signing in through"), "{note}");
}

#[tokio::test]
async fn gitlab_answering_500_leaves_the_notes_as_without_it_saying_the_check_failed() {
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    gitlab.start_outage(500);
    let (note, ticket) = project_ticket(&gitlab, "7301", TRANSFER).await;
    assert!(
        note.contains(
            "could not check: GitLab is unavailable: GitLab answered 500 Internal Server Error"
        ),
        "{note}"
    );
    assert!(
        note.contains("verify the requester is a group Owner or project Maintainer"),
        "{note}"
    );
    assert_eq!(ticket["stage"], "verify_role", "{ticket}");
    assert_eq!(ticket["gitlab"][0]["found"]["result"], "failed", "{ticket}");
}

#[tokio::test]
async fn a_refused_token_is_reported_and_never_shown() {
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    let wrong = "glpat-revoked-token-987654";
    let app = app_with_gitlab(&gitlab, wrong).await;
    assert_eq!(
        app.post_event(&events::created("7302", &[]).to_string())
            .await
            .status(),
        202
    );
    let notes = app.wait_for_notes(1, WAIT).await;
    let note = &notes[0].html_body;
    assert!(
        note.contains("could not check: GitLab refused the token (401 Unauthorized): check ONBEHALF_GITLAB_TOKEN"),
        "{note}"
    );
    assert!(!note.contains(wrong), "{note}");
    // The account-access checklist as without GitLab.
    assert!(
        note.contains("ssh git@gitlab.com 2fa_recovery_codes"),
        "{note}"
    );
    let ticket = app.ticket("7302").await;
    assert!(!ticket.to_string().contains(wrong), "{ticket}");
}

#[tokio::test]
async fn an_exhausted_rate_limit_is_honoured_and_the_rest_is_not_checked() {
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    gitlab.add_project("acme/api");
    gitlab.add_member("acme/api", 7, 40);
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 120;
    gitlab.send_rate_headers(0, reset);
    let (note, ticket) = project_ticket(&gitlab, "7303", TRANSFER).await;
    assert!(
        note.contains("could not check <code>acme/api</code>: rate limited by GitLab"),
        "{note}"
    );
    assert_eq!(ticket["stage"], "verify_role", "{ticket}");
    // Only the user search went out: nothing was sent while GitLab asked to wait.
    assert_eq!(gitlab.requests().len(), 1, "{:?}", gitlab.requests());
}

#[tokio::test]
async fn facts_are_cached_per_ticket_and_requester() {
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    gitlab.add_project("acme/api");
    gitlab.add_member("acme/api", 7, 40);
    let app = app_with_gitlab(&gitlab, TOKEN).await;
    let id = "7401";
    let created = events::created_with(id, TRANSFER_SUBJECT, TRANSFER, &[]);
    assert_eq!(app.post_event(&created.to_string()).await.status(), 202);
    app.wait_for_notes(1, WAIT).await;
    let asked = gitlab.requests().len();
    let comment = events::comment(events::CommentSpec {
        ticket: id,
        comment_id: "501",
        author: REQUESTER,
        is_staff: false,
        public: true,
        body: "Any news?",
        t: 60,
        tags: &[],
    });
    assert_eq!(app.post_event(&comment.to_string()).await.status(), 202);
    assert!(
        common::eventually(WAIT, || async {
            app.ticket(id).await["state"]["handled_comments"]
                .as_array()
                .is_some_and(|c| !c.is_empty())
        })
        .await
    );
    assert_eq!(
        gitlab.requests().len(),
        asked,
        "the second event asked GitLab nothing"
    );
}

#[tokio::test]
async fn without_gitlab_the_notes_say_nothing_of_it() {
    let app = spawn_app_with(|_| {}).await;
    assert_eq!(
        app.post_event(&events::created("7501", &[]).to_string())
            .await
            .status(),
        202
    );
    let notes = app.wait_for_notes(1, WAIT).await;
    assert!(
        !notes[0].html_body.contains("GitLab API"),
        "{}",
        notes[0].html_body
    );
    assert!(
        notes[0]
            .html_body
            .contains("ssh git@gitlab.com 2fa_recovery_codes")
    );
    assert_eq!(app.ticket("7501").await["gitlab"], serde_json::json!([]));
}

/// On PostgreSQL (several processes): the facts cache and the shared GitLab budget live in the
/// database.
#[tokio::test]
async fn on_postgresql_the_facts_are_cached_and_the_budget_shared_in_the_database() {
    use sqlx::Connection;
    let server = "postgres://postgres@127.0.0.1:5432";
    let database = format!(
        "ob_gitlab_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL answers");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    gitlab.add_project("acme/api");
    gitlab.add_member("acme/api", 7, 40);
    let (url, database_url) = (gitlab.url(), format!("{server}/{database}"));
    let app = spawn_app_with(move |c| {
        c.database_url = database_url;
        c.gitlab_url = Some(url);
        c.gitlab_token = Some(Secret::new(TOKEN));
    })
    .await;
    app.zendesk.set_user_email(REQUESTER, EMAIL);
    for id in ["7601", "7602"] {
        let event = events::created_with(id, TRANSFER_SUBJECT, TRANSFER, &[]);
        assert_eq!(app.post_event(&event.to_string()).await.status(), 202);
    }
    let notes = app.wait_for_notes(2, WAIT).await;
    assert!(
        notes.iter().all(|n| n
            .html_body
            .contains("verified: <code>@alice</code> is Maintainer (40)")),
        "{notes:?}"
    );
    let ticket = app.ticket("7601").await;
    assert_eq!(ticket["stage"], "ask_permission", "{ticket}");
    assert_eq!(
        ticket["gitlab"][0]["found"]["user"]["username"], "alice",
        "{ticket}"
    );
    let budget: i64 = {
        let mut db = sqlx::PgConnection::connect(&format!("{server}/{database}"))
            .await
            .unwrap();
        let count =
            sqlx::query_scalar("SELECT COUNT(*) FROM api_budget WHERE account LIKE 'gitlab:%'")
                .fetch_one(&mut db)
                .await
                .unwrap();
        db.close().await.unwrap();
        count
    };
    assert_eq!(budget, 1, "one shared GitLab budget row");
    app.stop().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {database} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}

#[tokio::test]
async fn where_group_memberships_are_not_shown_the_own_namespace_plan_still_is() {
    let gitlab = FakeGitLab::start().await;
    let mut user = FakeGitLab::user(7, "alice", EMAIL);
    user.ssh_keys = 1;
    gitlab.add_user(user);
    gitlab.set_plan("alice", "premium", false);
    gitlab.add_group("acme");
    gitlab.add_member("acme", 7, 30);
    gitlab.forbid_memberships();
    let (note, _) = account_note(&gitlab, "7203").await;
    assert!(note.contains("plans: <code>alice</code> premium"), "{note}");
    assert!(!note.contains("<code>acme</code>"), "{note}");
    assert!(!note.contains("Eligibility"), "{note}");
    assert!(note.contains("(the account has 1 SSH key)"), "{note}");
}

#[tokio::test]
async fn gitlab_answering_429_is_reported_as_a_rate_limit() {
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    gitlab.start_outage(429);
    let (note, ticket) = project_ticket(&gitlab, "7304", TRANSFER).await;
    assert!(
        note.contains("could not check: rate limited by GitLab (retry after 60 s)"),
        "{note}"
    );
    assert_eq!(ticket["stage"], "verify_role", "{ticket}");
    assert_eq!(
        gitlab.requests().len(),
        1,
        "one request, then GitLab's wait is kept"
    );
}

#[tokio::test]
async fn in_shadow_mode_the_note_says_the_e_mail_cannot_be_read() {
    let gitlab = FakeGitLab::start().await;
    alice(&gitlab);
    let url = gitlab.url();
    let app = spawn_app_with(move |c| {
        c.zendesk_url = None;
        c.gitlab_url = Some(url);
        c.gitlab_token = Some(Secret::new(TOKEN));
    })
    .await;
    let event = events::created_with("7701", TRANSFER_SUBJECT, TRANSFER, &[]);
    assert_eq!(app.post_event(&event.to_string()).await.status(), 202);
    assert!(
        common::eventually(WAIT, || async {
            let r = app.api("/api/tickets/zendesk/7701").await;
            r.status() == 200
                && r.json::<serde_json::Value>().await.unwrap()["notes"]
                    .as_array()
                    .is_some_and(|n| !n.is_empty())
        })
        .await
    );
    let ticket = app.ticket("7701").await;
    let note = ticket["notes"][0]["body"].as_str().unwrap();
    assert_eq!(ticket["notes"][0]["status"], "shadow", "{ticket}");
    assert!(
        note.contains("could not check: the requester&#x27;s e-mail is unknown without the helpdesk API (shadow mode)"),
        "{note}"
    );
    assert!(
        gitlab.requests().is_empty(),
        "nothing to ask GitLab without the e-mail"
    );
}
