//! `onbehalf dead-letters`: the events the workers gave up on, and sending them back.
//!
//! The queue is read directly when this process may open it (RabbitMQ; the embedded queue
//! while no server runs). A running `serve` holds the embedded queue locked, so then the
//! command asks that server through its admin API (`/api/dead-letters`), with the listener
//! address and admin token of the same configuration, and says so in one line on stderr.

use std::io::Write;
use std::sync::Arc;

use super::server::{ServerApi, ServerError};
use crate::app::{self, AppError};
use crate::config::Config;
use crate::ingest::operations::{MAX_LIMIT, Requeued};
use crate::queue::{DeadLetterQuery, Queue, QueueError};

#[derive(clap::Subcommand)]
pub enum DeadLetterCommand {
    /// List dead-lettered events, oldest first: event id, ticket, attempts, first and last
    /// attempt (RFC 3339) and the reason; then how many.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
        /// One JSON object per line (the objects of GET /api/dead-letters); the count goes to
        /// stderr.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Move dead-lettered events back to the queue as fresh events (all, or one with
    /// --event-id).
    Requeue {
        #[arg(long)]
        event_id: Option<String>,
        #[command(flatten)]
        server: ServerArg,
    },
}

#[derive(clap::Args)]
pub struct ServerArg {
    /// Ask this running server's API instead of opening the queue (default: open the queue,
    /// and ask http://<ONBEHALF_LISTEN> when a running `serve` holds the embedded queue).
    #[arg(long, value_name = "URL")]
    server: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("{0}")]
    Open(#[source] AppError),
    #[error("{0}")]
    Queue(#[source] QueueError),
    #[error("{0}")]
    Server(#[source] ServerError),
    #[error(
        "the embedded queue belongs to {who}; to ask it at {base}, set ONBEHALF_ADMIN_TOKEN as that server has it"
    )]
    NoToken { who: String, base: String },
    #[error(
        "there is no embedded queue at {0} (nothing was created): has `serve` run with this ONBEHALF_DATA_DIR?"
    )]
    NoQueue(String),
    #[error("no dead letter has event id {0:?}")]
    NotFound(String),
    #[error("{0}")]
    Output(#[from] std::io::Error),
}

/// Where the dead letters are read: the queue itself, or the server that holds it.
enum Source {
    Queue(Arc<dyn Queue>),
    Server(ServerApi),
}

impl Source {
    async fn open(
        config: &Config,
        server: Option<&str>,
        err: &mut impl Write,
    ) -> Result<Source, DeadLetterError> {
        if server.is_some() {
            return Ok(Source::Server(
                ServerApi::new(config, server).map_err(DeadLetterError::Server)?,
            ));
        }
        // Inspecting must not leave an empty queue behind (a command run from the wrong
        // folder, or before the first `serve`).
        let file = crate::queue::embedded::EmbeddedQueue::file(&config.data_dir);
        if config.is_embedded_queue() && !file.is_file() {
            return Err(DeadLetterError::NoQueue(
                std::path::absolute(&file)
                    .unwrap_or(file)
                    .display()
                    .to_string(),
            ));
        }
        match app::open_queue(config).await {
            Ok(queue) => Ok(Source::Queue(queue)),
            Err(AppError::Queue(QueueError::Locked { holder, .. })) => {
                let who = holder.map_or("a running server".to_owned(), |pid| {
                    format!("the running server (process {pid})")
                });
                let api = match ServerApi::new(config, None) {
                    Ok(api) => api,
                    Err(ServerError::NoToken { base }) => {
                        return Err(DeadLetterError::NoToken { who, base });
                    }
                    Err(e) => return Err(DeadLetterError::Server(e)),
                };
                writeln!(
                    err,
                    "the embedded queue belongs to {who}: asking it at {}",
                    api.base()
                )?;
                Ok(Source::Server(api))
            }
            Err(e) => Err(DeadLetterError::Open(e)),
        }
    }

    /// One page as JSON objects (the API's form, which both sources share) and the next
    /// position.
    async fn page(&self, query: DeadLetterQuery) -> Result<Listed, DeadLetterError> {
        match self {
            Source::Queue(queue) => {
                let page = queue
                    .dead_letter_page(query)
                    .await
                    .map_err(DeadLetterError::Queue)?;
                let dead_letters = page
                    .dead_letters
                    .iter()
                    .map(serde_json::to_value)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(std::io::Error::other)?;
                Ok(Listed {
                    dead_letters,
                    next: page.next,
                })
            }
            Source::Server(api) => {
                let mut path = format!("/api/dead-letters?limit={}", query.limit);
                if let Some(after) = &query.after {
                    path.push_str(&format!("&after={}", urlencode(after)));
                }
                api.get(&path).await.map_err(DeadLetterError::Server)
            }
        }
    }

    async fn requeue(&self, event_id: Option<&str>) -> Result<u64, DeadLetterError> {
        match self {
            Source::Queue(queue) => queue
                .requeue_dead(event_id)
                .await
                .map_err(DeadLetterError::Queue),
            Source::Server(api) => {
                let path = match event_id {
                    Some(id) => format!("/api/dead-letters/{}/requeue", urlencode(id)),
                    None => "/api/dead-letters/requeue".to_owned(),
                };
                match api.post::<Requeued>(&path).await {
                    Ok(r) => Ok(r.requeued),
                    // The API's own 404 (no such dead letter), not a server without the route.
                    Err(ServerError::Refused {
                        status: 404, code, ..
                    }) if code == "not_found" => Ok(0),
                    Err(e) => Err(DeadLetterError::Server(e)),
                }
            }
        }
    }

    async fn close(self) {
        if let Source::Queue(queue) = self {
            queue.close().await;
        }
    }
}

/// A page as `GET /api/dead-letters` sends it.
#[derive(serde::Deserialize)]
struct Listed {
    dead_letters: Vec<serde_json::Value>,
    next: Option<String>,
}

pub async fn run(
    command: DeadLetterCommand,
    config: &Config,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<(), DeadLetterError> {
    match command {
        DeadLetterCommand::List {
            limit,
            json,
            server,
        } => {
            let source = Source::open(config, server.server.as_deref(), err).await?;
            let listed = list(&source, limit as usize, json, out).await;
            source.close().await;
            let (shown, more) = listed?;
            let summary = match (shown, more) {
                (1, false) => "1 dead letter".to_owned(),
                (n, false) => format!("{n} dead letters"),
                (n, true) => format!("{n} dead letters shown; there are more (--limit)"),
            };
            if json {
                writeln!(err, "{summary}")?;
            } else {
                writeln!(out, "{summary}")?;
            }
            Ok(())
        }
        DeadLetterCommand::Requeue { event_id, server } => {
            let source = Source::open(config, server.server.as_deref(), err).await?;
            let moved = source.requeue(event_id.as_deref()).await;
            source.close().await;
            let moved = moved?;
            match event_id {
                Some(id) if moved == 0 => Err(DeadLetterError::NotFound(id)),
                _ => {
                    writeln!(out, "requeued {moved} event(s)")?;
                    Ok(())
                }
            }
        }
    }
}

/// Prints up to `limit` dead letters; returns how many, and whether more are left.
async fn list(
    source: &Source,
    limit: usize,
    json: bool,
    out: &mut impl Write,
) -> Result<(usize, bool), DeadLetterError> {
    let mut shown = 0;
    let mut after = None;
    loop {
        let want = (limit - shown).min(MAX_LIMIT as usize);
        if want == 0 {
            return Ok((shown, after.is_some()));
        }
        let page = source.page(DeadLetterQuery { after, limit: want }).await?;
        let (items, next) = (page.dead_letters, page.next);
        for item in &items {
            if json {
                writeln!(out, "{item}")?;
            } else {
                writeln!(out, "{}", human_line(item))?;
            }
        }
        shown += items.len();
        match next {
            Some(next) => after = Some(next),
            None => return Ok((shown, false)),
        }
    }
}

/// `EVENT  ticket T (source)  N attempt(s), first …, last …: reason`, from the JSON form
/// both sources share.
fn human_line(item: &serde_json::Value) -> String {
    let text = |name: &str| item.get(name).and_then(|v| v.as_str()).unwrap_or("");
    let time = |name: &str| item.get(name).and_then(|v| v.as_str()).unwrap_or("unknown");
    let attempts = item.get("attempts").and_then(|v| v.as_u64()).unwrap_or(0);
    format!(
        "{}  ticket {} ({})  {attempts} attempt(s), first {}, last {}: {}",
        text("event_id"),
        text("ticket_id"),
        text("source"),
        time("first_attempt_at"),
        time("last_attempt_at"),
        text("reason"),
    )
}

/// Percent-encodes a path segment or query value (event ids are UUIDs and positions are
/// digits or ids, but nothing is assumed).
fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
