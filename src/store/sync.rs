//! What the ticket sync and the reconciler keep: the events of a ticket already handled (read
//! back so a sync feeds only what is new), the incremental export's cursor, and the lease that
//! makes one instance the reconciler.

use sqlx::Row;
use std::collections::HashSet;
use std::time::Duration;

use super::storable::stored;
use super::{Store, StoreError, now_ms};
use crate::workflow::TicketId;

impl Store {
    /// The ids of the ticket's events whose effects are committed (webhook ids and the sync's
    /// own keys alike).
    pub async fn handled_event_ids(
        &self,
        source: &str,
        ticket_id: &TicketId,
    ) -> Result<HashSet<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT event_id FROM processed_events WHERE source = $1 AND ticket_id = $2",
        )
        .bind(stored(source))
        .bind(stored(ticket_id.as_str()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("event_id").map_err(Into::into))
            .collect()
    }

    /// Where the export named `name` left off.
    pub async fn sync_cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT cursor FROM sync_cursors WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get::<Option<String>, _>("cursor")?,
            None => None,
        })
    }

    /// Records where the export left off, if `owner` still holds its lease.
    pub async fn save_sync_cursor(
        &self,
        name: &str,
        owner: &str,
        cursor: &str,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE sync_cursors SET cursor = $1, updated_at = $2 WHERE name = $3 AND lease_owner = $4",
        )
        .bind(cursor)
        .bind(now_ms())
        .bind(name)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// Takes or renews the lease on `name` for `ttl`: true when `owner` holds it now. Another
    /// owner's lease is taken over only once it has run out (that instance stopped or hangs).
    pub async fn take_sync_lease(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let until = now + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        sqlx::query(
            "INSERT INTO sync_cursors (name, cursor, lease_owner, lease_until, updated_at)
             VALUES ($1, NULL, NULL, 0, $2) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let taken = sqlx::query(
            "UPDATE sync_cursors SET lease_owner = $1, lease_until = $2
             WHERE name = $3 AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until < $4)",
        )
        .bind(owner)
        .bind(until)
        .bind(name)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(taken == 1)
    }

    /// Gives the lease up (at shutdown), so another instance need not wait for it to run out.
    pub async fn release_sync_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sync_cursors SET lease_owner = NULL, lease_until = 0
             WHERE name = $1 AND lease_owner = $2",
        )
        .bind(name)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
