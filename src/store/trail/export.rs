//! Exports: the trail as JSON Lines ending in a trailer line, and checking one without the
//! database (`onbehalf audit verify --file`).
//!
//! The trailer, `{"trail_head": {"seq": N, "hash": "…"}, "count": N}`, names the trail's last
//! record when the export was made and how many record lines precede it: an export cut short
//! (a dropped connection, a truncated file) has no trailer or the wrong count.

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use super::{ChainVerifier, ConfirmationRecord, Head, TrailReport, VerifyOptions};

/// The last line of every export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trailer {
    pub trail_head: Head,
    /// Record lines in this export.
    pub count: u64,
}

/// What checking an export found.
#[derive(Debug, Clone)]
pub struct ExportReport {
    pub trail: TrailReport,
    pub trailer: Option<Trailer>,
    /// Record lines read.
    pub records: u64,
    pub first_seq: Option<i64>,
    /// Failures of the export as a whole (no trailer, wrong count, lines after the trailer).
    pub problems: Vec<String>,
    /// What the export does not cover, stated so nobody takes it for more than it is.
    pub notes: Vec<String>,
}

impl ExportReport {
    pub fn intact(&self) -> bool {
        self.trail.intact() && self.problems.is_empty()
    }
}

/// Reads an export line by line (it is never held whole) and checks its chain, its trailer and
/// the expectations in `options`.
pub fn verify_export(
    reader: impl BufRead,
    options: VerifyOptions,
) -> std::io::Result<ExportReport> {
    let mut verifier: Option<ChainVerifier> = None;
    let mut pending_options = Some(options);
    let mut trailer: Option<Trailer> = None;
    let mut problems = vec![];
    let mut notes = vec![];
    let (mut records, mut first_seq, mut last_seq) = (0u64, None, None);
    for (index, line) in reader.lines().enumerate() {
        let line = line?;
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        if trailer.is_some() {
            problems.push(format!("line {number} follows the trailer"));
            break;
        }
        let value: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("line {number} is not JSON: {e}"));
                break;
            }
        };
        if value.get("trail_head").is_some() {
            match serde_json::from_value::<Trailer>(value) {
                Ok(t) => trailer = Some(t),
                Err(e) => {
                    problems.push(format!("line {number}: unreadable trailer: {e}"));
                    break;
                }
            }
            continue;
        }
        let record = match serde_json::from_value::<ConfirmationRecord>(value) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("line {number} is not a trail record: {e}"));
                break;
            }
        };
        let verifier = verifier.get_or_insert_with(|| {
            let options = pending_options.take().unwrap_or_default();
            if record.seq <= 1 {
                ChainVerifier::new(options)
            } else {
                notes.push(format!(
                    "the export starts at seq {}: records before it are not in this file, so its first link is taken on trust",
                    record.seq
                ));
                ChainVerifier::after(
                    Head {
                        seq: record.seq - 1,
                        hash: record.prev_hash.clone(),
                    },
                    options,
                )
            }
        });
        records += 1;
        first_seq.get_or_insert(record.seq);
        last_seq = Some(record.seq);
        if verifier.check(&record).is_err() {
            break;
        }
    }
    let verifier =
        verifier.unwrap_or_else(|| ChainVerifier::new(pending_options.take().unwrap_or_default()));
    let trail = verifier.finish();
    if trail.first_break.is_none() && problems.is_empty() {
        check_trailer(
            trailer.as_ref(),
            records,
            &trail,
            last_seq,
            &mut problems,
            &mut notes,
        );
    }
    Ok(ExportReport {
        trail,
        trailer,
        records,
        first_seq,
        problems,
        notes,
    })
}

fn check_trailer(
    trailer: Option<&Trailer>,
    records: u64,
    trail: &TrailReport,
    last_seq: Option<i64>,
    problems: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let Some(trailer) = trailer else {
        problems.push(
            "no trailer line: the export is incomplete (cut short in transit or on disk)".into(),
        );
        return;
    };
    if trailer.count != records {
        problems.push(format!(
            "the trailer counts {} record(s) but the export holds {records}: lines were added or removed",
            trailer.count
        ));
    }
    let head = &trailer.trail_head;
    match last_seq {
        Some(last) if last == head.seq && trail.head.hash != head.hash => {
            problems.push(format!(
                "the trailer names head {head} but record {last} has hash {}",
                trail.head.hash
            ));
        }
        Some(last) if last == head.seq => {}
        Some(last) if last > head.seq => problems.push(format!(
            "record {last} is past the trailer's head {head}"
        )),
        Some(last) => notes.push(format!(
            "the trail continued to seq {} when this was exported: this export is one page (records {}..{} are not in it)",
            head.seq,
            last + 1,
            head.seq
        )),
        None if head.seq > 0 => notes.push(format!(
            "no records in this export; the trail's head was {head}"
        )),
        None => {}
    }
}
