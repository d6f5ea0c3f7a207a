//! A fake Zendesk for the end-to-end runs: takes internal notes (`PUT /api/v2/tickets/{id}.json`)
//! after a fixed delay, lists them back (`GET …/comments.json`), and remembers when each
//! ticket's first note arrived so webhook → note latency can be computed (`GET /stats`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;

use crate::payload::unix_micros;

#[derive(Debug, clap::Args)]
pub struct FakeArgs {
    #[arg(long, default_value = "127.0.0.1:8091")]
    pub listen: SocketAddr,
    /// How long each note request takes to answer (Zendesk is not instant).
    #[arg(long, default_value_t = 5)]
    pub delay_ms: u64,
}

#[derive(Default)]
struct Notes {
    count: u64,
    /// Ticket → (comment id, html body), for the worker's look-up after a crash.
    by_ticket: HashMap<String, Vec<(u64, String)>>,
    /// Ticket → unix µs at which its first note arrived.
    first_at: HashMap<String, u64>,
}

#[derive(Clone)]
pub struct FakeHelpdesk {
    delay: Duration,
    notes: Arc<Mutex<Notes>>,
}

#[derive(Deserialize)]
struct Update {
    ticket: UpdateTicket,
}

#[derive(Deserialize)]
struct UpdateTicket {
    comment: UpdateComment,
}

#[derive(Deserialize)]
struct UpdateComment {
    #[serde(default)]
    html_body: String,
}

impl FakeHelpdesk {
    /// Serves on `listen` (port 0 for any) in the background; returns the bound address.
    pub async fn start(
        listen: SocketAddr,
        delay: Duration,
    ) -> std::io::Result<(FakeHelpdesk, SocketAddr)> {
        let fake = FakeHelpdesk {
            delay,
            notes: Arc::default(),
        };
        let router = Router::new()
            .route("/api/v2/tickets/{file}", put(update_ticket))
            .route("/api/v2/tickets/{id}/comments.json", get(comments))
            .route("/api/v2/users/me.json", get(show_self))
            .route("/stats", get(stats))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                eprintln!("fake helpdesk stopped: {e}");
            }
        });
        Ok((fake, addr))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Notes> {
        self.notes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tickets with at least one note.
    pub fn ticket_count(&self) -> usize {
        self.lock().first_at.len()
    }

    /// How many of `tickets` have at least one note.
    pub fn tickets_with_notes(&self, tickets: &[u64]) -> usize {
        let notes = self.lock();
        tickets
            .iter()
            .filter(|t| notes.first_at.contains_key(&t.to_string()))
            .count()
    }

    pub fn first_note_at(&self, ticket: &str) -> Option<u64> {
        self.lock().first_at.get(ticket).copied()
    }
}

async fn update_ticket(
    State(fake): State<FakeHelpdesk>,
    Path(file): Path<String>,
    Json(update): Json<Update>,
) -> Response {
    let arrived = unix_micros(SystemTime::now());
    let Some(ticket) = file.strip_suffix(".json").map(str::to_string) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let id = {
        let mut notes = fake.lock();
        notes.count += 1;
        let id = 70_000 + notes.count;
        notes.first_at.entry(ticket.clone()).or_insert(arrived);
        notes
            .by_ticket
            .entry(ticket.clone())
            .or_default()
            .push((id, update.ticket.comment.html_body));
        id
    };
    tokio::time::sleep(fake.delay).await;
    Json(serde_json::json!({
        "ticket": {"id": ticket.parse::<u64>().unwrap_or(0), "status": "open", "updated_at": "2025-01-08T10:00:00Z"},
        "audit": {"id": id + 1_000_000, "ticket_id": ticket, "events": [
            {"id": id, "type": "Comment", "public": false, "html_body": ""}
        ]}
    }))
    .into_response()
}

async fn comments(State(fake): State<FakeHelpdesk>, Path(ticket): Path<String>) -> Response {
    let notes = fake.lock();
    let comments: Vec<_> = notes
        .by_ticket
        .get(&ticket)
        .into_iter()
        .flatten()
        .rev()
        .map(|(id, body)| serde_json::json!({"id": id, "type": "Comment", "author_id": API_USER_ID, "public": false, "html_body": body, "body": body}))
        .collect();
    Json(serde_json::json!({"count": comments.len(), "comments": comments, "next_page": null}))
        .into_response()
}

/// The API user, author of every note (Show Self, `GET /api/v2/users/me.json`).
const API_USER_ID: u64 = 9000;

async fn show_self() -> Response {
    Json(serde_json::json!({"user": {"id": API_USER_ID}})).into_response()
}

async fn stats(State(fake): State<FakeHelpdesk>) -> Response {
    let notes = fake.lock();
    Json(serde_json::json!({
        "notes": notes.count,
        "tickets": notes.first_at.len(),
        "first_note_unix_us": notes.first_at,
    }))
    .into_response()
}

pub async fn run(args: FakeArgs) -> anyhow::Result<()> {
    let (_fake, addr) =
        FakeHelpdesk::start(args.listen, Duration::from_millis(args.delay_ms)).await?;
    println!("fake helpdesk on http://{addr} (GET /stats); Ctrl-C stops it");
    crate::procs::stop_signal().await;
    Ok(())
}
