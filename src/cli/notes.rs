//! `onbehalf notes`: the notes recorded across tickets, in a terminal: the first thing a team
//! reads in shadow mode.
//!
//! It reads the database directly (the one the configuration names; never created), which a
//! running server does not lock: SQLite lets readers in beside the writer, PostgreSQL is shared
//! anyway. So it needs neither the server nor the admin token, like `audit`.

use std::io::Write;
use std::time::Duration;

use time::OffsetDateTime;

use crate::config::Config;
use crate::store::{FeedNote, NoteFeedQuery, NoteStatus, Store, StoreError, database_label};

#[derive(clap::Args)]
pub struct NotesArgs {
    /// Notes recorded since: an RFC 3339 time (2026-12-01T09:00:00Z) or a time back from now
    /// (90s, 15m, 1h, 1h30m, 2d, 1w).
    #[arg(long, value_name = "TIME|DURATION")]
    since: String,
    /// Only notes in this status: shadow (recorded, never posted), posted, pending (recorded,
    /// not posted yet) or failed (the helpdesk refused it).
    #[arg(long, value_name = "STATUS")]
    status: Option<String>,
    /// The most recent this many.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
    /// One JSON object per line (the objects of GET /api/notes, newest first); the summary
    /// goes to stderr.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum NotesError {
    #[error("--since {0}")]
    Since(String),
    #[error("--status {0:?} is not a note status (pending, posted, shadow, failed)")]
    Status(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Output(#[from] std::io::Error),
}

/// Rows read per query while filling `--limit`.
const PAGE: u32 = 200;

/// Prints the notes: in a terminal the most recent `--limit`, oldest first so the newest is
/// next to the prompt, each as a header line and its plain text; then a summary line.
pub async fn run(
    args: NotesArgs,
    config: &Config,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<(), NotesError> {
    let since = parse_since(&args.since, OffsetDateTime::now_utc()).map_err(NotesError::Since)?;
    let status = match args.status.as_deref() {
        None => None,
        Some(name) => {
            Some(NoteStatus::from_name(name).ok_or_else(|| NotesError::Status(name.into()))?)
        }
    };
    let store = Store::open_existing(&crate::app::store_options(config)).await?;
    let read = read_notes(&store, status, since, args.limit).await;
    store.close().await;
    let (notes, more) = read?;
    let what = match status {
        Some(status) => format!("{} note", status.as_str()),
        None => "note".to_owned(),
    };
    let plural = if notes.len() == 1 { "" } else { "s" };
    let mut summary = format!(
        "{} {what}{plural} since {} in {}",
        notes.len(),
        crate::rfc3339::from_ms(crate::rfc3339::to_ms(since)),
        database_label(&config.database_url)
    );
    if more {
        summary.push_str(&format!(
            " (the most recent {}; more with a larger --limit or a later --since)",
            notes.len()
        ));
    }
    if args.json {
        for note in &notes {
            writeln!(
                out,
                "{}",
                serde_json::to_string(note).map_err(std::io::Error::other)?
            )?;
        }
        writeln!(err, "{summary}")?;
    } else {
        for note in notes.iter().rev() {
            write_note(out, note)?;
        }
        writeln!(out, "{summary}")?;
    }
    Ok(())
}

/// Newest first, up to `limit`; and whether older ones were left out.
async fn read_notes(
    store: &Store,
    status: Option<NoteStatus>,
    since: OffsetDateTime,
    limit: u32,
) -> Result<(Vec<FeedNote>, bool), StoreError> {
    let mut notes = Vec::new();
    let mut after = None;
    loop {
        let want = (limit - notes.len() as u32).min(PAGE);
        if want == 0 {
            return Ok((notes, after.is_some()));
        }
        let page = store
            .recent_notes(&NoteFeedQuery {
                status,
                since_ms: Some(crate::rfc3339::to_ms(since)),
                after,
                limit: want,
                ..NoteFeedQuery::default()
            })
            .await?;
        notes.extend(page.notes);
        match page.next {
            Some(next) => {
                after = Some(crate::store::NoteCursor::parse(&next).map_err(StoreError::Corrupt)?)
            }
            None => return Ok((notes, false)),
        }
    }
}

fn write_note(out: &mut impl Write, note: &FeedNote) -> std::io::Result<()> {
    writeln!(
        out,
        "── {}  {} ticket {}  {} ({})  {}",
        crate::rfc3339::from_ms(note.created_at),
        note.helpdesk,
        note.ticket_id,
        note.kind,
        note.step,
        note.status.as_str()
    )?;
    if let Some(error) = &note.error {
        writeln!(out, "   refused by the helpdesk: {error}")?;
    }
    for line in note.text.lines() {
        if line.is_empty() {
            writeln!(out)?;
        } else {
            writeln!(out, "   {line}")?;
        }
    }
    writeln!(out)
}

/// `--since`: an RFC 3339 time, or a duration back from `now` such as `90s`, `15m`, `1h30m`,
/// `2d`, `1w` (units s, m, h, d, w; at least one).
pub fn parse_since(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    if text.contains('T') || text.contains('-') {
        return crate::rfc3339::parse(text);
    }
    let back = parse_duration(text).ok_or_else(|| {
        format!("{text:?} is neither an RFC 3339 time (2026-12-01T09:00:00Z) nor a duration such as 90s, 15m, 1h30m, 2d or 1w")
    })?;
    Ok(now - back)
}

fn parse_duration(text: &str) -> Option<Duration> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut units = 0;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return None,
        };
        let n: u64 = std::mem::take(&mut digits).parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        units += 1;
    }
    // A trailing number without a unit, or no unit at all, is not a duration.
    (digits.is_empty() && units > 0).then(|| Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn since_takes_a_time_or_a_duration_back_from_now() {
        let now = datetime!(2026-12-01 16:00 UTC);
        assert_eq!(parse_since("1h", now), Ok(datetime!(2026-12-01 15:00 UTC)));
        assert_eq!(
            parse_since("1h30m", now),
            Ok(datetime!(2026-12-01 14:30 UTC))
        );
        assert_eq!(
            parse_since("90s", now),
            Ok(datetime!(2026-12-01 15:58:30 UTC))
        );
        assert_eq!(parse_since("2d", now), Ok(datetime!(2026-11-29 16:00 UTC)));
        assert_eq!(parse_since("1w", now), Ok(datetime!(2026-11-24 16:00 UTC)));
        assert_eq!(
            parse_since("2026-12-01T09:00:00Z", now),
            Ok(datetime!(2026-12-01 09:00 UTC))
        );
        for bad in ["", "1", "h", "1y", "yesterday", "1h30", "2026-12-01"] {
            let e = parse_since(bad, now).unwrap_err();
            assert!(e.contains("RFC 3339"), "{bad:?}: {e}");
        }
    }
}
