//! One worker step against a temporary store and a helpdesk that records what it is asked to
//! post.

use std::sync::Mutex;

use super::*;
use crate::helpdesk::zendesk::ZendeskIntegration;
use crate::helpdesk::zendesk::signature::ZendeskSignature;
use crate::store::StoreOptions;

/// Posts every note it is given and finds them again by their reference.
#[derive(Default)]
struct RecordingHelpdesk {
    posts: Mutex<Vec<(TicketId, String)>>,
}

impl RecordingHelpdesk {
    fn posts(&self) -> Vec<(TicketId, String)> {
        self.posts.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Helpdesk for RecordingHelpdesk {
    fn mode(&self) -> NoteMode {
        NoteMode::Posted
    }

    async fn find_note(
        &self,
        ticket_id: &TicketId,
        reference: &str,
    ) -> Result<Option<CommentId>, HelpdeskError> {
        let posts = self.posts.lock().unwrap();
        Ok(posts
            .iter()
            .position(|(ticket, body)| ticket == ticket_id && body.contains(reference))
            .map(|i| format!("c{}", i + 1).into()))
    }

    async fn add_internal_note(
        &self,
        ticket_id: &TicketId,
        html_body: &str,
    ) -> Result<Option<CommentId>, HelpdeskError> {
        let mut posts = self.posts.lock().unwrap();
        posts.push((ticket_id.clone(), html_body.to_owned()));
        Ok(Some(format!("c{}", posts.len()).into()))
    }
}

async fn temporary_store(dir: &tempfile::TempDir) -> Store {
    Store::open(&StoreOptions {
        url: format!("sqlite://{}/onbehalf.db", dir.path().display()),
        max_connections: 4,
        acquire_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap()
}

fn worker(store: &Store, helpdesk: &Arc<RecordingHelpdesk>, timeouts: TimeoutBudget) -> Worker {
    let signature = ZendeskSignature::new(vec![], Duration::from_secs(300));
    let zendesk = ZendeskIntegration::new(signature, helpdesk.clone(), None);
    let helpdesks = Helpdesks::new().with(Arc::new(zendesk));
    Worker::new(store.clone(), &helpdesks, &WorkflowSettings::default()).with_timeouts(timeouts)
}

/// Ticket 5158 opened (2FA removal): its triage note is due.
fn ticket_created() -> Envelope {
    Envelope {
        event_id: "5f6a2c1e-1d7b-4c39-9a55-3f1e0b7c9d01".into(),
        ticket_id: "5158".into(),
        source: "zendesk".into(),
        received_at_ms: 1_736_331_127_512,
        body: bytes::Bytes::from_static(include_bytes!(
            "../../examples/zendesk/ticket.created.json"
        )),
    }
}

/// A claim that ends before a post could be cut off must not start the post: another worker
/// could take the note when the claim runs out and post it a second time. The note stays
/// pending and unclaimed, the event is retried, and the next delivery posts it once.
#[tokio::test]
async fn a_note_whose_claim_ends_before_the_post_deadline_is_not_posted_but_left_pending() {
    let dir = tempfile::tempdir().unwrap();
    let store = temporary_store(&dir).await;
    let helpdesk = Arc::new(RecordingHelpdesk::default());
    let normal = TimeoutBudget::default();
    let short_claim = TimeoutBudget {
        note_claim: normal.post_deadline / 4,
        ..normal
    };
    // Start-up refuses such a budget; a claim eaten up by a slow commit is the same case.
    assert!(short_claim.check().is_err());

    let envelope = ticket_created();
    let first = worker(&store, &helpdesk, short_claim)
        .handle(&envelope)
        .await;
    assert!(
        matches!(&first, Err(HandleError::Transient { reason, .. }) if reason.contains("within their claim")),
        "{first:?}"
    );
    assert_eq!(
        helpdesk.posts(),
        vec![],
        "a post was started under a short claim"
    );
    let notes = store
        .notes_of("zendesk", &envelope.ticket_id)
        .await
        .unwrap();
    assert_eq!(notes.len(), 1, "the triage note is recorded");
    assert_eq!(notes[0].status, NoteStatus::Pending);

    // The redelivery, under a claim that covers a post: the note is posted, once.
    let second = worker(&store, &helpdesk, normal).handle(&envelope).await;
    assert!(matches!(second, Ok(Outcome::Duplicate)), "{second:?}");
    let posts = helpdesk.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, "5158");
    assert!(posts[0].1.contains(&notes[0].reference));
    let notes = store
        .notes_of("zendesk", &envelope.ticket_id)
        .await
        .unwrap();
    assert_eq!(notes[0].status, NoteStatus::Posted);
    assert_eq!(notes[0].remote_id, Some("c1".into()));
}
