//! The group commit's transaction: dedupe, ticket locks, each event's decision on the ticket's
//! latest state, then the ticket rows, notes and confirmations in multi-row statements.

use std::collections::{HashMap, HashSet};

use sqlx::{AssertSqlSafe, Row};

use super::batch::Applying;
use super::notes::{NoteRecord, NoteStatus, note_reference};
use super::storable::stored;
use super::tickets::WAITING_NOTES;
use super::trail::fill_anchors;
use super::{Applied, Backend, Store, StoreError, now_ms};
use crate::workflow::{CommentId, Decision, TicketState};

/// `$first, $first+1, ...` for one row of `width` values.
fn row(first: usize, width: usize) -> String {
    let cells: Vec<String> = (first..first + width).map(|i| format!("${i}")).collect();
    format!("({})", cells.join(", "))
}

fn rows(count: usize, width: usize) -> String {
    (0..count)
        .map(|r| row(r * width + 1, width))
        .collect::<Vec<_>>()
        .join(", ")
}

/// (source, ticket id), as stored.
type TicketKey = (String, String);

fn ticket_key(item: &Applying) -> TicketKey {
    (stored(item.source), stored(item.event.ticket.id.as_str()))
}

/// A ticket as the batch sees it: locked, with its state as the batch's decisions move it on.
struct LockedTicket {
    state: Option<TicketState>,
    /// Notes recorded before this batch and still pending.
    waiting: usize,
    changed: bool,
    /// Has a row (locked by this batch); otherwise the batch inserts it.
    stored: bool,
}

impl Store {
    /// Applies `items` in one transaction; a lost race is a conflict error (`is_conflict`).
    pub(super) async fn apply_batch(
        &self,
        items: &[Applying<'_>],
    ) -> Result<Vec<Applied>, StoreError> {
        let now = now_ms();
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };

        // Dedupe: only the first delivery of an event id is fresh.
        let sql = format!(
            "INSERT INTO processed_events (source, event_id, ticket_id, processed_at) VALUES {}
             ON CONFLICT DO NOTHING RETURNING source, event_id",
            rows(items.len(), 4)
        );
        let mut insert = sqlx::query(AssertSqlSafe(sql));
        for item in items {
            insert = insert
                .bind(stored(item.source))
                .bind(stored(&item.event.event_id))
                .bind(stored(item.event.ticket.id.as_str()))
                .bind(now);
        }
        let mut unclaimed: HashSet<TicketKey> = insert
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("source")?, r.try_get("event_id")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let fresh: Vec<bool> = items
            .iter()
            .map(|i| unclaimed.remove(&(stored(i.source), stored(&i.event.event_id))))
            .collect();

        // Lock the tickets in one order, so two batches never wait on each other in a cycle.
        let mut keys: Vec<TicketKey> = items
            .iter()
            .zip(&fresh)
            .filter(|(_, f)| **f)
            .map(|(i, _)| ticket_key(i))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        keys.sort();
        let mut tickets = self.lock_tickets(&mut tx, &keys).await?;

        let mut decisions: Vec<Option<Decision>> = Vec::with_capacity(items.len());
        for (item, fresh) in items.iter().zip(&fresh) {
            if !fresh {
                decisions.push(None);
                continue;
            }
            let key = ticket_key(item);
            let ticket = tickets.get_mut(&key).ok_or_else(|| {
                StoreError::Corrupt(format!("ticket {}/{} was not locked", key.0, key.1))
            })?;
            let decision = (item.decide)(ticket.state.as_ref());
            ticket.state = Some(decision.state.clone());
            ticket.changed = true;
            decisions.push(Some(decision));
        }
        self.write_tickets(&mut tx, &tickets, now).await?;
        // Records first: a verdict note carries its record's seq and hash.
        let mut verdicts = Vec::with_capacity(items.len());
        for (item, decision) in items.iter().zip(&mut decisions) {
            let Some(decision) = decision else {
                verdicts.push(vec![]);
                continue;
            };
            let appended = self
                .append_confirmations(&mut tx, item.source, &decision.confirmations)
                .await?;
            fill_anchors(
                decision.notes.iter_mut().map(|n| &mut n.html_body),
                &appended.anchors,
            );
            verdicts.push(appended.verdicts);
        }
        let inserted = insert_notes(&mut tx, items, &decisions, now).await?;
        tx.commit().await?;

        let mut results = Vec::with_capacity(items.len());
        for ((item, decision), verdicts) in items.iter().zip(decisions).zip(verdicts) {
            let Some(decision) = decision else {
                results.push(Applied::Duplicate);
                continue;
            };
            let key = ticket_key(item);
            let waiting = tickets.get(&key).map_or(0, |t| t.waiting);
            let (mut notes, mut claimed) = (vec![], vec![]);
            for note in decision.notes {
                let reference =
                    note_reference(item.source, &item.event.ticket.id, &note.step.key());
                if !inserted.contains(&reference) {
                    continue;
                }
                if item.hold.is_some() {
                    claimed.push(NoteRecord {
                        step: note.step.key(),
                        reference,
                        body: stored(&note.html_body),
                        status: item.note_status,
                        remote_id: None,
                        created_at: now,
                        attempts: 1,
                        error: None,
                    });
                }
                notes.push(note.step.key());
            }
            results.push(Applied::Committed {
                notes,
                confirmations: verdicts,
                claimed,
                waiting,
            });
        }
        Ok(results)
    }

    /// Marks notes as posted, with their helpdesk ids, in one statement.
    pub(super) async fn settle_posted(
        &self,
        posted: &[(String, Option<CommentId>)],
    ) -> Result<(), StoreError> {
        let cases: Vec<String> = (0..posted.len())
            .map(|i| format!("WHEN ${} THEN ${}", 2 * i + 3, 2 * i + 4))
            .collect();
        let references: Vec<String> = (0..posted.len())
            .map(|i| format!("${}", 2 * i + 3))
            .collect();
        let sql = format!(
            "UPDATE notes SET status = $1, settled_at = $2, claimed_until = NULL,
             remote_id = CASE reference {} END WHERE reference IN ({})",
            cases.join(" "),
            references.join(", ")
        );
        let mut update = sqlx::query(AssertSqlSafe(sql))
            .bind(NoteStatus::Posted.as_str())
            .bind(now_ms());
        for (reference, remote_id) in posted {
            update = update
                .bind(reference.as_str())
                .bind(remote_id.as_ref().map(CommentId::as_str));
        }
        update.execute(&self.pool).await?;
        Ok(())
    }

    /// Locks and reads the tickets that have a row; the others start with no state.
    ///
    /// A new ticket is not given a placeholder row to lock: its row is inserted once, with
    /// the state decided here. Should another transaction insert it first, that insert fails
    /// on the primary key and the batch is re-run as a lost race, on the row it then finds.
    async fn lock_tickets(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        keys: &[TicketKey],
    ) -> Result<HashMap<TicketKey, LockedTicket>, StoreError> {
        let mut tickets = HashMap::with_capacity(keys.len());
        if keys.is_empty() {
            return Ok(tickets);
        }
        let lock = self.ticket_lock();
        let sql = format!(
            "SELECT t.source, t.ticket_id, t.state, {WAITING_NOTES}
             FROM tickets t WHERE (t.source, t.ticket_id) IN (VALUES {})
             ORDER BY t.source, t.ticket_id{lock}",
            rows(keys.len(), 2)
        );
        let mut select = sqlx::query(AssertSqlSafe(sql));
        for (source, ticket_id) in keys {
            select = select.bind(source).bind(ticket_id);
        }
        for r in select.fetch_all(&mut **tx).await? {
            let key: TicketKey = (r.try_get("source")?, r.try_get("ticket_id")?);
            let stored: String = r.try_get("state")?;
            let state = if stored.is_empty() {
                None
            } else {
                Some(serde_json::from_str::<TicketState>(&stored).map_err(|e| {
                    StoreError::Corrupt(format!("state of ticket {}/{}: {e}", key.0, key.1))
                })?)
            };
            let waiting: i64 = r.try_get("waiting")?;
            tickets.insert(
                key,
                LockedTicket {
                    state,
                    waiting: usize::try_from(waiting).unwrap_or(0),
                    changed: false,
                    stored: true,
                },
            );
        }
        for key in keys {
            tickets.entry(key.clone()).or_insert(LockedTicket {
                state: None,
                waiting: 0,
                changed: false,
                stored: false,
            });
        }
        Ok(tickets)
    }

    async fn write_tickets(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        tickets: &HashMap<TicketKey, LockedTicket>,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut changed: Vec<(&TicketKey, &LockedTicket, &TicketState)> = tickets
            .iter()
            .filter(|(_, t)| t.changed)
            .filter_map(|(k, t)| Some((k, t, t.state.as_ref()?)))
            .collect();
        changed.sort_by(|a, b| a.0.cmp(b.0));
        let rows = |stored: bool| -> Vec<(&TicketKey, &TicketState)> {
            changed
                .iter()
                .filter(|(_, t, _)| t.stored == stored)
                .map(|&(k, _, state)| (k, state))
                .collect()
        };
        let (stored, new) = (rows(true), rows(false));
        // Rows that exist are locked: the upsert always takes its update branch. `version`
        // moves once per batch, not per event: it only has to change whenever the state does,
        // for the one-event path's optimistic check.
        write_ticket_rows(
            tx,
            &stored,
            now,
            "ON CONFLICT (source, ticket_id) DO UPDATE SET
             category = excluded.category, stage = excluded.stage, state = excluded.state,
             version = tickets.version + 1, updated_at = excluded.updated_at",
        )
        .await?;
        // No conflict clause: a row another transaction inserted meanwhile is a lost race.
        write_ticket_rows(tx, &new, now, "").await
    }
}

async fn write_ticket_rows(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    rows_to_write: &[(&TicketKey, &TicketState)],
    now: i64,
    on_conflict: &str,
) -> Result<(), StoreError> {
    if rows_to_write.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO tickets (source, ticket_id, category, stage, state, version, updated_at)
         VALUES {} {on_conflict}",
        (0..rows_to_write.len())
            .map(|r| {
                let b = 6 * r;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, 1, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut insert = sqlx::query(AssertSqlSafe(sql));
    for ((source, ticket_id), state) in rows_to_write {
        let json = serde_json::to_string(state)
            .map_err(|e| StoreError::Corrupt(format!("cannot serialise state: {e}")))?;
        insert = insert
            .bind(source.clone())
            .bind(ticket_id.clone())
            .bind(state.category().map(|c| c.as_str()))
            .bind(state.stage_name())
            // serde_json writes U+0000 as `\u0000`: the JSON text itself never holds one.
            .bind(json)
            .bind(now);
    }
    insert.execute(&mut **tx).await?;
    Ok(())
}

/// Records every decision's notes (a step already on record is not repeated); returns the
/// references of the notes inserted now.
async fn insert_notes(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    items: &[Applying<'_>],
    decisions: &[Option<Decision>],
    now: i64,
) -> Result<HashSet<String>, StoreError> {
    let mut seen = HashSet::new();
    let mut rows_to_insert = vec![];
    for (item, decision) in items.iter().zip(decisions) {
        let Some(decision) = decision else { continue };
        let claimed_until = item.hold.map(|h| now + h.as_millis() as i64);
        for (position, note) in (0_i64..).zip(&decision.notes) {
            let reference = note_reference(item.source, &item.event.ticket.id, &note.step.key());
            if seen.insert(reference.clone()) {
                rows_to_insert.push((item, note, reference, position, claimed_until));
            }
        }
    }
    if rows_to_insert.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "INSERT INTO notes (source, ticket_id, step, reference, body, status, created_at,
         position, claimed_until, attempts) VALUES {} ON CONFLICT DO NOTHING RETURNING reference",
        rows(rows_to_insert.len(), 10)
    );
    let mut insert = sqlx::query(AssertSqlSafe(sql));
    for (item, note, reference, position, claimed_until) in rows_to_insert {
        insert = insert
            .bind(stored(item.source))
            .bind(stored(item.event.ticket.id.as_str()))
            .bind(stored(&note.step.key()))
            .bind(reference)
            .bind(stored(&note.html_body))
            .bind(item.note_status.as_str())
            .bind(now)
            .bind(position)
            .bind(claimed_until)
            .bind(i64::from(claimed_until.is_some()));
    }
    Ok(insert
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get("reference"))
        .collect::<Result<_, _>>()?)
}
