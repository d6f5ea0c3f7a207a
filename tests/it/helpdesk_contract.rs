//! One contract for every `Helpdesk` client, run against the fake Zendesk and the fake Zammad
//! (each written from its helpdesk's API reference): notes are internal and found again by
//! their reference, only the service's own internal notes count, and failures are sorted the
//! same way (credentials, throttling, refusals, outages).

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::fake_zammad::{self, FakeZammad};
use common::fake_zendesk::{Canned, FakeZendesk};
use onbehalf::config::Secret;
use onbehalf::helpdesk::zammad::ZammadClient;
use onbehalf::helpdesk::zendesk::{ZendeskClient, ZendeskOptions};
use onbehalf::helpdesk::{Helpdesk, HelpdeskError, NoteMode, Requesters};
use onbehalf::workflow::TicketId;

/// Gives a helpdesk a user (id, e-mail address).
type AddUser = Box<dyn Fn(u64, &str)>;

/// One helpdesk under test: its client, a ticket it knows, and the fake's controls.
struct Subject {
    name: &'static str,
    client: Arc<dyn Helpdesk>,
    /// The same client, reading users.
    requesters: Arc<dyn Requesters>,
    /// Gives the helpdesk a user with this e-mail address.
    add_user: AddUser,
    /// The same helpdesk with a wrong API token.
    bad_token: Arc<dyn Helpdesk>,
    ticket: TicketId,
    /// (body, internal) of every note the fake holds for the ticket.
    notes: Box<dyn Fn() -> Vec<(String, bool)>>,
    /// A customer's public reply, written on the helpdesk (not through the client).
    customer_says: Box<dyn Fn(&str)>,
    fail_next: Box<dyn Fn(Vec<Canned>)>,
    outage: Box<dyn Fn(Option<Canned>)>,
    _keep: Box<dyn std::any::Any>,
}

async fn zendesk() -> Subject {
    let fake = FakeZendesk::start().await;
    let client = |token: &str| {
        Arc::new(
            ZendeskClient::new(&ZendeskOptions {
                base_url: fake.url(),
                email: "bot@example.com".into(),
                api_token: Secret::new(token),
                timeout: Duration::from_secs(5),
                requests_per_minute: 1_000_000,
            })
            .unwrap(),
        )
    };
    let ticket = "5158".to_string();
    let (a, b, c, d, e) = (
        fake.clone(),
        fake.clone(),
        fake.clone(),
        fake.clone(),
        fake.clone(),
    );
    let good = client(common::API_TOKEN);
    let t = ticket.clone();
    let t2 = ticket.clone();
    Subject {
        name: "zendesk",
        client: good.clone(),
        requesters: good,
        add_user: Box::new(move |id, email| e.set_user_email(&id.to_string(), email)),
        bad_token: client("not-the-zendesk-token"),
        ticket: ticket.into(),
        notes: Box::new(move || {
            a.notes_for(&t)
                .into_iter()
                .map(|n| (n.html_body, !n.public))
                .collect()
        }),
        customer_says: Box::new(move |body| b.insert_comment(&t2, body, true)),
        fail_next: Box::new(move |answers| c.fail_next(answers)),
        outage: Box::new(move |answer| match answer {
            Some(answer) => d.start_outage(answer),
            None => d.end_outage(),
        }),
        _keep: Box::new(fake),
    }
}

async fn zammad() -> Subject {
    let fake = FakeZammad::start().await;
    let ticket = "31".to_string();
    fake.create_ticket(&ticket, "Locked out", 7, "<p>Please remove 2FA</p>", &[]);
    let client = |token: &str| {
        Arc::new(
            ZammadClient::new(
                &fake.url(),
                &Secret::new(token),
                Duration::from_secs(5),
                1_000_000,
            )
            .unwrap(),
        )
    };
    let (a, b, c, d, e) = (
        fake.clone(),
        fake.clone(),
        fake.clone(),
        fake.clone(),
        fake.clone(),
    );
    let good = client(fake_zammad::API_TOKEN);
    let t = ticket.clone();
    let t2 = ticket.clone();
    Subject {
        name: "zammad",
        client: good.clone(),
        requesters: good,
        add_user: Box::new(move |id, email| e.add_user(id, email)),
        bad_token: client("not-the-zammad-token"),
        ticket: ticket.into(),
        notes: Box::new(move || {
            a.notes_for(&t)
                .into_iter()
                .map(|n| (n.body, n.internal))
                .collect()
        }),
        customer_says: Box::new(move |body| {
            b.add_article(&t2, "Customer", 7, false, body);
        }),
        fail_next: Box::new(move |answers| c.fail_next(answers)),
        outage: Box::new(move |answer| match answer {
            Some(answer) => d.start_outage(answer),
            None => d.end_outage(),
        }),
        _keep: Box::new(fake),
    }
}

async fn subjects() -> Vec<Subject> {
    vec![zendesk().await, zammad().await]
}

#[tokio::test]
async fn a_note_is_internal_and_found_again_by_its_reference() {
    for s in subjects().await {
        assert_eq!(s.client.mode(), NoteMode::Posted);
        let body = "<p>Triage</p>\n<p><small>onbehalf:test:1:triage</small></p>";
        s.client
            .add_internal_note(&s.ticket, body)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        let notes = (s.notes)();
        assert_eq!(notes.len(), 1, "{}: {notes:?}", s.name);
        assert!(notes[0].0.contains("onbehalf:test:1:triage"), "{}", s.name);
        assert!(notes[0].1, "{}: the note is internal", s.name);
        let found = s
            .client
            .find_note(&s.ticket, "onbehalf:test:1:triage")
            .await
            .unwrap();
        assert!(found.is_some(), "{}: the posted note is found", s.name);
        assert_eq!(
            s.client
                .find_note(&s.ticket, "onbehalf:test:1:other")
                .await
                .unwrap(),
            None,
            "{}: another reference is not",
            s.name
        );
    }
}

#[tokio::test]
async fn a_reference_pasted_into_a_customers_reply_is_not_a_note() {
    for s in subjects().await {
        (s.customer_says)("<p>see onbehalf:test:1:verdict-1</p>");
        assert_eq!(
            s.client
                .find_note(&s.ticket, "onbehalf:test:1:verdict-1")
                .await
                .unwrap(),
            None,
            "{}: only the service's own internal notes count",
            s.name
        );
    }
}

#[tokio::test]
async fn failures_are_sorted_by_whose_they_are() {
    for s in subjects().await {
        let wrong = s.bad_token.add_internal_note(&s.ticket, "<p>x</p>").await;
        assert!(
            matches!(wrong, Err(HelpdeskError::Unauthorized(_))),
            "{}: a wrong token is the credentials' fault: {wrong:?}",
            s.name
        );
        (s.fail_next)(vec![Canned {
            status: 429,
            retry_after: Some(1),
        }]);
        let throttled = s.client.add_internal_note(&s.ticket, "<p>x</p>").await;
        assert!(
            matches!(throttled, Err(HelpdeskError::RateLimited { retry_after }) if retry_after == Duration::from_secs(1)),
            "{}: {throttled:?}",
            s.name
        );
        (s.fail_next)(vec![Canned {
            status: 422,
            retry_after: None,
        }]);
        let refused = s.client.add_internal_note(&s.ticket, "<p>x</p>").await;
        assert!(
            matches!(&refused, Err(HelpdeskError::Rejected(_))),
            "{}: a 422 is this note's end: {refused:?}",
            s.name
        );
        assert!(!refused.unwrap_err().is_transient());
        assert!((s.notes)().is_empty(), "{}: nothing was posted", s.name);
        let bad_id = s.client.add_internal_note(&"../1".into(), "<p>x</p>").await;
        assert!(
            matches!(bad_id, Err(HelpdeskError::Permanent(_))),
            "{}: an id that is not the helpdesk's never reaches its API: {bad_id:?}",
            s.name
        );
    }
}

#[tokio::test]
async fn the_probe_tells_an_outage_from_a_working_helpdesk() {
    for s in subjects().await {
        s.client
            .probe()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        (s.outage)(Some(Canned {
            status: 503,
            retry_after: None,
        }));
        let down = s.client.probe().await;
        assert!(
            matches!(down, Err(HelpdeskError::Unavailable { .. })),
            "{}: {down:?}",
            s.name
        );
        (s.outage)(None);
        assert!(s.client.probe().await.is_ok(), "{}", s.name);
    }
}

/// GitLab's facts are looked up by the requester's e-mail, read the same way from every
/// helpdesk: an address, none (no address, or no such user), or the helpdesk's outage.
#[tokio::test]
async fn the_requesters_e_mail_is_read_from_the_helpdesk() {
    for s in subjects().await {
        (s.add_user)(4101, " alice@acme.io ");
        (s.add_user)(4102, "");
        assert_eq!(
            s.requesters.email_of("4101").await.unwrap().as_deref(),
            Some("alice@acme.io"),
            "{}",
            s.name
        );
        assert_eq!(
            s.requesters.email_of("4102").await.unwrap(),
            None,
            "{}",
            s.name
        );
        assert_eq!(
            s.requesters.email_of("4199").await.unwrap(),
            None,
            "{}",
            s.name
        );
        assert!(
            matches!(
                s.requesters.email_of("../tickets/1").await,
                Err(HelpdeskError::Permanent(_))
            ),
            "{}: only an id goes into the path",
            s.name
        );
        (s.outage)(Some(Canned {
            status: 503,
            retry_after: Some(1),
        }));
        let down = s.requesters.email_of("4101").await;
        assert!(
            down.as_ref().is_err_and(|e| e.outage().is_some()),
            "{}: {down:?}",
            s.name
        );
        (s.outage)(None);
    }
}
