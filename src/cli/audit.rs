//! `onbehalf audit`: the confirmation trail as evidence.
//!
//! `verify` re-checks the chain (in the database, or in an export with `--file`), the HMACs
//! with the trail key, the heads an auditor kept (`--expect`) and, with `--against-helpdesk`,
//! the anchors the verdict notes left on the tickets. `head` prints the record to keep;
//! `export` writes the same JSON Lines as `GET /api/confirmations`. Every command names the
//! database it read, never creates one, and fails when there is none.

mod helpdesk;

use std::io::Write;
use std::path::PathBuf;

use futures::StreamExt;

use crate::config::Config;
use crate::store::trail::{ExportReport, TrailKeyError, verify_export};
use crate::store::{
    ExportQuery, Head, Store, StoreError, TrailKey, TrailReport, VerifyOptions, database_label,
};

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check the trail: exit 0 when intact, 1 naming what is broken, 2 when it could not be
    /// checked (no database, unreadable file).
    Verify(VerifyArgs),
    /// Print the trail's last record as SEQ:HASH. Keep it: `verify --expect SEQ:HASH` later
    /// proves that record is still there, unchanged (an emptied or cut-back trail fails).
    Head,
    /// Print the trail as JSON Lines ending with the trailer line
    /// {"trail_head": {"seq": N, "hash": "…"}, "count": N}, as GET /api/confirmations does.
    Export {
        /// Only records after this seq (the last seq of an earlier export).
        #[arg(long, default_value_t = 0, value_name = "N")]
        after_seq: i64,
        /// At most this many records.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// A record that must be in the chain exactly, as `onbehalf audit head` printed it
    /// (repeatable).
    #[arg(long, value_name = "SEQ:HASH")]
    expect: Vec<Head>,
    /// Check an export (from `audit export` or GET /api/confirmations; `-` for stdin) instead
    /// of the database: its chain, its trailer's count and head, --expect and HMACs.
    #[arg(long, value_name = "EXPORT")]
    file: Option<PathBuf>,
    /// File holding the trail key; without it, ONBEHALF_TRAIL_KEY is used when set. With a key
    /// every record's HMAC is checked.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Also re-read the tickets' comments from Zendesk and report any record missing from
    /// the trail or altered relative to the anchors its verdict note left there.
    #[arg(long)]
    against_helpdesk: bool,
    /// With --against-helpdesk: a ticket to read besides those the database names (e.g. from
    /// an earlier export; repeatable).
    #[arg(long = "ticket", value_name = "ID")]
    tickets: Vec<crate::workflow::TicketId>,
    /// With --against-helpdesk: read every ticket the database has seen, not only those with
    /// records or anchored notes.
    #[arg(long)]
    all_tickets: bool,
}

/// What the command found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Intact,
    Broken,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] TrailKeyError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("helpdesk: {0}")]
    Helpdesk(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> AuditError {
    let what = what.into();
    move |source| AuditError::Io { what, source }
}

/// Runs one audit command; the report goes to `out`, the database's name for `head` and
/// `export` (whose output is data) to `err`.
pub async fn run(
    command: AuditCommand,
    config: &Config,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<Outcome, AuditError> {
    match command {
        AuditCommand::Verify(args) => verify(args, config, out).await,
        AuditCommand::Head => {
            let store = open(config, err).await?;
            let head = store.trail_head().await;
            store.close().await;
            writeln!(out, "{}", head?).map_err(io("writing the head"))?;
            Ok(Outcome::Intact)
        }
        AuditCommand::Export { after_seq, limit } => {
            let store = open(config, err).await?;
            let query = ExportQuery {
                since: None,
                after_seq,
                limit,
            };
            let written = export(&store, query, out).await;
            store.close().await;
            written.map(|()| Outcome::Intact)
        }
    }
}

/// Names the database, then opens it (existing, current schema, nothing created).
async fn open(config: &Config, err: &mut impl Write) -> Result<Store, AuditError> {
    writeln!(err, "database: {}", database_label(&config.database_url))
        .map_err(io("writing to stderr"))?;
    Ok(Store::open_existing(&crate::app::store_options(config)).await?)
}

async fn export(store: &Store, query: ExportQuery, out: &mut impl Write) -> Result<(), AuditError> {
    let mut chunks = Box::pin(store.export(query).await?);
    while let Some(chunk) = chunks.next().await {
        out.write_all(chunk?.as_bytes())
            .map_err(io("writing the export"))?;
    }
    out.flush().map_err(io("writing the export"))
}

async fn verify(
    args: VerifyArgs,
    config: &Config,
    out: &mut impl Write,
) -> Result<Outcome, AuditError> {
    let key = match &args.key_file {
        Some(path) => Some(TrailKey::from_file(path)?),
        None => config.trail_key(),
    };
    let keyed = key.is_some();
    let options = VerifyOptions {
        key,
        expect: args.expect.clone(),
    };
    if let Some(path) = &args.file {
        if args.against_helpdesk {
            return Err(AuditError::Usage(
                "--against-helpdesk reads the database's trail; check the export with --file alone, or the database without it".into(),
            ));
        }
        let report = verify_file(path, options)?;
        let name = if path.as_os_str() == "-" {
            "standard input".to_string()
        } else {
            std::path::absolute(path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string()
        };
        return print_export_report(&name, &report, keyed, out).map_err(io("writing the report"));
    }
    let client = if args.against_helpdesk {
        Some(
            crate::app::zendesk_client(config)
                .map_err(|e| AuditError::Helpdesk(e.to_string()))?
                .ok_or_else(|| {
                    AuditError::Usage(
                        "--against-helpdesk needs ONBEHALF_ZENDESK_URL, ONBEHALF_ZENDESK_EMAIL and ONBEHALF_ZENDESK_API_TOKEN".into(),
                    )
                })?,
        )
    } else {
        None
    };
    writeln!(out, "database: {}", database_label(&config.database_url))
        .map_err(io("writing the report"))?;
    let store = Store::open_existing(&crate::app::store_options(config)).await?;
    let report = store.verify_trail_with(options).await;
    let anchors = match (&client, &report) {
        (Some(client), Ok(_)) => {
            Some(helpdesk::reconcile(&store, client, &args.tickets, args.all_tickets).await)
        }
        _ => None,
    };
    store.close().await;
    let report = report?;
    let mut problems = print_trail_report(&report, keyed, out).map_err(io("writing the report"))?;
    if let Some(anchors) = anchors {
        problems += anchors?.print(out).map_err(io("writing the report"))?;
    }
    finish(&report, problems, out).map_err(io("writing the report"))
}

fn verify_file(path: &std::path::Path, options: VerifyOptions) -> Result<ExportReport, AuditError> {
    if path.as_os_str() == "-" {
        return verify_export(std::io::stdin().lock(), options)
            .map_err(io("reading standard input"));
    }
    let file = std::fs::File::open(path).map_err(io(format!("cannot open {}", path.display())))?;
    verify_export(std::io::BufReader::new(file), options)
        .map_err(io(format!("reading {}", path.display())))
}

fn print_export_report(
    name: &str,
    report: &ExportReport,
    keyed: bool,
    out: &mut impl Write,
) -> std::io::Result<Outcome> {
    let span = match (report.first_seq, report.records) {
        (Some(first), n) if n > 0 => format!(", seq {first}..{}", first + n as i64 - 1),
        _ => String::new(),
    };
    writeln!(
        out,
        "export: {name} ({} record line(s){span})",
        report.records
    )?;
    for note in &report.notes {
        writeln!(out, "note: {note}")?;
    }
    let mut problems = print_trail_report(&report.trail, keyed, out)?;
    for problem in &report.problems {
        writeln!(out, "BROKEN: {problem}")?;
        problems += 1;
    }
    finish(&report.trail, problems, out)
}

/// Prints what the chain check found; returns how many problems it printed (the first break
/// is printed by `finish`).
fn print_trail_report(
    report: &TrailReport,
    keyed: bool,
    out: &mut impl Write,
) -> std::io::Result<usize> {
    let mut broken = 0;
    writeln!(
        out,
        "records checked: {} (head {})",
        report.checked, report.head
    )?;
    if keyed {
        writeln!(
            out,
            "HMAC: {} record(s) signed with the trail key{}",
            report.hmac_checked,
            match report.unkeyed {
                0 => String::new(),
                n => format!("; {n} earlier record(s) were written before the key and carry none"),
            }
        )?;
    }
    for problem in &report.problems {
        writeln!(out, "BROKEN: {problem}")?;
        broken += 1;
    }
    for expectation in &report.expectations {
        let expected = &expectation.expected;
        match &expectation.found {
            _ if expectation.met() => writeln!(out, "expected {expected}: present")?,
            Some(other) => {
                broken += 1;
                writeln!(
                    out,
                    "BROKEN: expected {expected}, but record {} has hash {other}: the trail was rewritten from there on",
                    expected.seq
                )?;
            }
            None => {
                broken += 1;
                let why = match &report.first_break {
                    Some(b) if b.seq <= expected.seq => {
                        format!("the chain breaks at seq {}", b.seq)
                    }
                    _ => format!(
                        "the trail ends at seq {} (emptied, or its tail deleted)",
                        report.head.seq
                    ),
                };
                writeln!(
                    out,
                    "BROKEN: expected record {expected} is not in the chain: {why}"
                )?;
            }
        }
    }
    Ok(broken)
}

fn finish(report: &TrailReport, problems: usize, out: &mut impl Write) -> std::io::Result<Outcome> {
    match &report.first_break {
        Some(b) => {
            writeln!(
                out,
                "trail BROKEN at seq {}: {} ({} record(s) before it are intact)",
                b.seq, b.problem, report.checked
            )?;
            Ok(Outcome::Broken)
        }
        None if problems > 0 => {
            writeln!(
                out,
                "trail BROKEN: {problems} problem(s) above ({} record(s) checked)",
                report.checked
            )?;
            Ok(Outcome::Broken)
        }
        None => {
            writeln!(out, "trail intact: {} record(s)", report.checked)?;
            Ok(Outcome::Intact)
        }
    }
}
