//! `console`: the review console's pages over a store holding 100,000 tickets, 100,000 shadow
//! notes and 100,000 trail records (written through the store's own group committer, so the
//! rows and the hash chain are the real ones), served by the real `onbehalf serve` and read
//! through its login. Each page is requested 20 times after one warm-up; the median and the
//! slowest answer are the figures. "Deep" pages start at the far end of the keyset (the oldest
//! rows), where an `OFFSET` pagination would be slowest.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use onbehalf::store::{Decide, EventToApply, GroupCommitter, NoteStatus, Store, StoreOptions};
use onbehalf::workflow::{
    Category, ConfirmationDraft, ConsentVerdict, Decision, EventKind, NoteDraft, NoteStep,
    TicketEvent, TicketSnapshot,
};
use time::OffsetDateTime;

use crate::procs::{self, Launch, Proc};
use crate::report::{Table, Target};

pub const TICKETS: u64 = 100_000;
const RUNS: usize = 20;
const ADMIN_TOKEN: &str = "bench-console-admin-token";
const SECRET: &str = "bench-signing-secret";

/// How long the bench waits for "verify now" to finish.
const VERIFY_LIMIT: Duration = Duration::from_secs(600);

/// What a page must stay under with 100,000 tickets and records.
const PAGE_TARGET_MS: f64 = 200.0;

fn note_body(ticket: u64) -> String {
    format!(
        "<p><strong>onbehalf · Triage</strong></p><p>Category: account access (2FA reset) for ticket #{ticket}.</p>\
         <ul><li>Verify ownership (tag <code>account_ownership_verified</code>)</li>\
         <li>Ask for explicit permission</li><li>Wait for the reply</li></ul>\
         <p>Next step: <strong>verify the requester owns the account</strong>.</p><p>onbehalf:zendesk:{ticket}:triage</p>"
    )
}

fn event(ticket: u64) -> TicketEvent {
    TicketEvent {
        event_id: format!("bench-console-{ticket}"),
        occurred_at: OffsetDateTime::now_utc(),
        ticket: TicketSnapshot {
            id: ticket.to_string().into(),
            requester_id: "1001".into(),
            status: "open".into(),
            ..TicketSnapshot::default()
        },
        kind: EventKind::TicketCreated,
    }
}

fn decide(ticket: u64) -> Decide {
    let category = match ticket % 3 {
        0 => Category::AccountAccess,
        1 => Category::ProjectGroupChange,
        _ => Category::Other,
    };
    let decided_at = OffsetDateTime::now_utc() - time::Duration::seconds(ticket as i64);
    Box::new(move |prev| {
        let mut state = prev.cloned().unwrap_or_default();
        state.category = Some(category);
        state.reasons = vec!["bench: 2fa reset".into()];
        Decision {
            state,
            notes: vec![NoteDraft {
                step: NoteStep::Triage,
                html_body: note_body(ticket),
            }],
            confirmations: vec![ConfirmationDraft {
                ticket_id: ticket.to_string().into(),
                requester_id: "1001".into(),
                category,
                action: "disable two-factor authentication on your account".into(),
                verdict: if ticket.is_multiple_of(4) {
                    ConsentVerdict::Declined
                } else {
                    ConsentVerdict::Granted
                },
                quote: "Yes, please go ahead.".into(),
                request_comment_id: format!("{ticket}1").into(),
                reply_comment_id: format!("{ticket}2").into(),
                decided_at,
                channel: Some("web".into()),
                body_sha256: String::new(),
                withdraws_reply_comment_id: None,
            }],
        }
    })
}

/// Where the deep pages start: 50 rows before the oldest ticket and the oldest note.
struct FarEnd {
    ticket: String,
    note: String,
}

async fn far_end(url: &str) -> Result<FarEnd, sqlx::Error> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    let ticket = sqlx::query(
        "SELECT updated_at, source, ticket_id FROM tickets
         ORDER BY updated_at, source, ticket_id LIMIT 1 OFFSET 50",
    )
    .fetch_one(&mut conn)
    .await?;
    let note = sqlx::query(
        "SELECT created_at, reference FROM notes ORDER BY created_at, reference LIMIT 1 OFFSET 50",
    )
    .fetch_one(&mut conn)
    .await?;
    let far = FarEnd {
        ticket: format!(
            "{}:{}:{}",
            ticket.try_get::<i64, _>("updated_at")?,
            ticket.try_get::<String, _>("source")?,
            ticket.try_get::<String, _>("ticket_id")?
        ),
        // The page's own cursor (opaque to clients, as the feed's `next`).
        note: onbehalf::store::NoteCursor::new(
            note.try_get::<i64, _>("created_at")?,
            note.try_get::<String, _>("reference")?,
        )
        .encode(),
    };
    conn.close().await?;
    Ok(far)
}

/// Writes the tickets, notes and records through the group committer.
pub async fn fill(url: &str) -> Result<Duration, String> {
    let store = Store::open(&StoreOptions {
        url: url.to_string(),
        max_connections: 8,
        acquire_timeout: Duration::from_secs(30),
    })
    .await
    .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let committer = Arc::new(GroupCommitter::start(store.clone(), 500, 2));
    let results: Vec<Result<(), String>> = futures::stream::iter(1..=TICKETS)
        .map(|ticket| {
            let committer = committer.clone();
            async move {
                committer
                    .apply(EventToApply {
                        source: "zendesk".into(),
                        event: Arc::new(event(ticket)),
                        note_status: NoteStatus::Shadow,
                        hold: None,
                        decide: decide(ticket),
                    })
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
        .buffer_unordered(1000)
        .collect()
        .await;
    let elapsed = started.elapsed();
    store.close().await;
    results.into_iter().collect::<Result<(), String>>()?;
    analyze(url).await.map_err(|e| format!("ANALYZE: {e}"))?;
    Ok(elapsed)
}

/// PostgreSQL's autovacuum analyzes tables within a minute or so of a fill this size; until
/// then the planner believes the tables hold a few rows (and picks, e.g., a bitmap scan and a
/// sort of 33,000 tickets for a filtered page). The pages are timed with the statistics a
/// running service has. SQLite keeps no statistics unless asked, and the store never asks.
async fn analyze(url: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    if !url.starts_with("postgres") {
        return Ok(());
    }
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    sqlx::query("ANALYZE").execute(&mut conn).await?;
    conn.close().await
}

struct Timing {
    median_ms: f64,
    slowest_ms: f64,
    /// The warm-up request (not in the figures above): for the overview, the one that counts.
    first_ms: f64,
}

async fn time_page(
    http: &reqwest::Client,
    cookie: &str,
    url: &str,
    form: Option<String>,
) -> Result<Timing, String> {
    let mut times = Vec::with_capacity(RUNS);
    let mut first_ms = 0.0;
    for run in 0..=RUNS {
        let started = Instant::now();
        let request = match &form {
            Some(body) => http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone()),
            None => http.get(url),
        };
        let response = request
            .header("cookie", cookie)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.text().await.map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("{url}: {status}: {}", &body[..body.len().min(200)]));
        }
        let took = started.elapsed().as_secs_f64() * 1000.0;
        if run > 0 {
            times.push(took);
        } else {
            first_ms = took;
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(Timing {
        median_ms: times[times.len() / 2],
        slowest_ms: times[times.len() - 1],
        first_ms,
    })
}

async fn login(http: &reqwest::Client, proc: &Proc) -> Result<String, String> {
    let response = http
        .post(proc.url("/console/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={ADMIN_TOKEN}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| format!("login answered {} without a cookie", response.status()))?;
    Ok(cookie.to_string())
}

fn csrf_of(html: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker)? + marker.len();
    html.get(start..start + 64).map(str::to_string)
}

/// Fills a store at `database_url`, starts `serve` on it and times the pages.
pub async fn run(
    table: &mut Table,
    scenario: &str,
    bin: &Path,
    data_dir: &Path,
    database_url: &str,
) {
    eprintln!("== {scenario}");
    let _ = std::fs::create_dir_all(data_dir);
    match fill(database_url).await {
        Ok(took) => table.add(
            scenario,
            "writing 100k tickets + notes + trail records (group commit)",
            Ok(took.as_secs_f64()),
            "s",
            None,
        ),
        Err(e) => {
            table.add(scenario, "filling the store", Err(e), "", None);
            return;
        }
    }
    let addr = match procs::free_addr() {
        Ok(addr) => addr,
        Err(e) => return table.add(scenario, "`serve`", Err(e.to_string()), "", None),
    };
    let env: Vec<(String, String)> = [
        ("ONBEHALF_LISTEN", addr.to_string()),
        ("ONBEHALF_DATA_DIR", data_dir.display().to_string()),
        ("ONBEHALF_DATABASE_URL", database_url.to_string()),
        ("ONBEHALF_QUEUE_URL", "embedded".into()),
        ("ONBEHALF_ZENDESK_SIGNING_SECRETS", SECRET.into()),
        ("ONBEHALF_ADMIN_TOKEN", ADMIN_TOKEN.into()),
        ("ONBEHALF_LOG", "warn".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let proc = match Proc::start(
        Launch {
            name: "console-serve",
            program: bin,
            args: &["serve"],
            env: &env,
            log: data_dir.join("serve.log"),
            addr,
        },
        Duration::from_secs(30),
    )
    .await
    {
        Ok(proc) => proc,
        Err(e) => return table.add(scenario, "`serve`", Err(e.to_string()), "", None),
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    let cookie = match login(&http, &proc).await {
        Ok(cookie) => cookie,
        Err(e) => {
            table.add(scenario, "console login", Err(e), "", None);
            proc.stop(Duration::from_secs(5)).await;
            return;
        }
    };
    let far = match far_end(database_url).await {
        Ok(far) => far,
        Err(e) => {
            table.add(
                scenario,
                "reading the far end",
                Err(e.to_string()),
                "",
                None,
            );
            proc.stop(Duration::from_secs(5)).await;
            return;
        }
    };
    let pages: Vec<(&str, String)> = vec![
        ("overview", "/console".into()),
        ("tickets, first page", "/console/tickets".into()),
        (
            "tickets, filtered by stage and category",
            "/console/tickets?stage=verify_ownership&category=account_access".into(),
        ),
        (
            "tickets, deep page",
            format!("/console/tickets?after={}", far.ticket.replace(':', "%3A")),
        ),
        ("ticket search by id", "/console/tickets?id=54321".into()),
        ("ticket timeline", "/console/tickets/zendesk/54321".into()),
        ("trail, newest page", "/console/trail".into()),
        ("trail, oldest page", "/console/trail?before=51".into()),
        ("shadow review, newest", "/console/shadow".into()),
        (
            "shadow review, filtered",
            "/console/shadow?kind=triage&category=project_group_change".into(),
        ),
        (
            "shadow review, deep page",
            format!("/console/shadow?after={}", far.note),
        ),
    ];
    for (name, path) in pages {
        let timing = time_page(&http, &cookie, &proc.url(&path), None).await;
        if name == "overview"
            && let Ok(t) = &timing
        {
            // The overview counts at most every 15 s and shows the counts' age; the first
            // view after start is the one that counts 100k rows.
            table.add(
                scenario,
                "overview, first view (counting)",
                Ok(t.first_ms),
                "ms",
                None,
            );
        }
        add_timing(table, scenario, name, timing);
    }
    // "Verify now" re-checks the whole chain: the one console action that reads every record.
    let trail = http
        .get(proc.url("/console/trail"))
        .header("cookie", &cookie)
        .send()
        .await;
    let csrf = match trail {
        Ok(r) => csrf_of(&r.text().await.unwrap_or_default()),
        Err(_) => None,
    };
    match csrf {
        Some(csrf) => {
            let started = Instant::now();
            let verified = http
                .post(proc.url("/console/trail/verify"))
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("csrf={csrf}"))
                .send()
                .await;
            // Past 20 s the page says the check goes on: follow the trail page until it shows
            // the result.
            let value = match verified {
                Ok(r) if r.status() == 200 => {
                    let mut body = r.text().await.unwrap_or_default();
                    while body.contains("Verifying the whole trail")
                        && started.elapsed() < VERIFY_LIMIT
                    {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        body = match http
                            .get(proc.url("/console/trail"))
                            .header("cookie", &cookie)
                            .send()
                            .await
                        {
                            Ok(r) => r.text().await.unwrap_or_default(),
                            Err(_) => String::new(),
                        };
                    }
                    if body.contains(&format!("<strong>Intact.</strong> {TICKETS} records")) {
                        Ok(started.elapsed().as_secs_f64())
                    } else {
                        Err("the verification did not report an intact chain".to_string())
                    }
                }
                Ok(r) => Err(format!("verify answered {}", r.status())),
                Err(e) => Err(e.to_string()),
            };
            table.add(
                scenario,
                "trail \"verify now\" (100k records)",
                value,
                "s",
                None,
            );
        }
        None => table.add(
            scenario,
            "trail \"verify now\"",
            Err("no CSRF token on the trail page".into()),
            "",
            None,
        ),
    }
    proc.stop(Duration::from_secs(5)).await;
}

fn add_timing(table: &mut Table, scenario: &str, name: &str, timing: Result<Timing, String>) {
    match timing {
        Ok(t) => {
            table.add(
                scenario,
                &format!("{name}, p50"),
                Ok(t.median_ms),
                "ms",
                None,
            );
            table.add(
                scenario,
                &format!("{name}, slowest of {RUNS}"),
                Ok(t.slowest_ms),
                "ms",
                Some(Target::Below(PAGE_TARGET_MS)),
            );
        }
        Err(e) => table.add(scenario, name, Err(e), "", None),
    }
}
