//! The GitLab facts of each ticket's requester, cached: one row per (ticket, requester), with
//! the category it was looked up for (a recategorised ticket needs other facts). Failures are
//! kept too, so a ticket's every event does not ask a GitLab that is down; the lookup decides
//! when they are stale.

use sqlx::Row;

use super::storable::stored;
use super::{Store, StoreError};
use crate::workflow::gitlab::GitLabFacts;
use crate::workflow::{Category, TicketId, TicketState};

impl Store {
    /// The ticket's workflow state as last committed (`None`: never seen).
    pub async fn ticket_state(
        &self,
        source: &str,
        ticket_id: &TicketId,
    ) -> Result<Option<TicketState>, StoreError> {
        let row = sqlx::query("SELECT state FROM tickets WHERE source = $1 AND ticket_id = $2")
            .bind(stored(source))
            .bind(stored(ticket_id.as_str()))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let state: String = row.try_get("state")?;
        serde_json::from_str(&state)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("ticket state: {e}")))
    }

    /// The facts cached for this requester of the ticket, when looked up for `category`.
    pub async fn cached_gitlab_facts(
        &self,
        source: &str,
        ticket_id: &TicketId,
        requester_id: &str,
        category: Category,
    ) -> Result<Option<GitLabFacts>, StoreError> {
        let row = sqlx::query(
            "SELECT facts FROM gitlab_facts
             WHERE source = $1 AND ticket_id = $2 AND requester_id = $3 AND category = $4",
        )
        .bind(stored(source))
        .bind(stored(ticket_id.as_str()))
        .bind(stored(requester_id))
        .bind(category.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let facts: String = row.try_get("facts")?;
        // A row an older release wrote in another shape is looked up again.
        Ok(serde_json::from_str(&facts).ok())
    }

    /// Keeps (or replaces) the facts of the ticket's requester.
    pub async fn save_gitlab_facts(
        &self,
        source: &str,
        ticket_id: &TicketId,
        category: Category,
        facts: &GitLabFacts,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(facts)
            .map_err(|e| StoreError::Corrupt(format!("GitLab facts: {e}")))?;
        let read_at_ms =
            i64::try_from(facts.read_at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO gitlab_facts (source, ticket_id, requester_id, category, facts, failed, read_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (source, ticket_id, requester_id) DO UPDATE SET
                 category = excluded.category, facts = excluded.facts,
                 failed = excluded.failed, read_at_ms = excluded.read_at_ms",
        )
        .bind(stored(source))
        .bind(stored(ticket_id.as_str()))
        .bind(stored(&facts.requester_id))
        .bind(category.as_str())
        .bind(json)
        .bind(i64::from(facts.failed()))
        .bind(read_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every lookup kept for the ticket, newest first (for `/api/tickets/…`).
    pub async fn gitlab_facts_of(
        &self,
        source: &str,
        ticket_id: &TicketId,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows = sqlx::query(
            "SELECT facts FROM gitlab_facts WHERE source = $1 AND ticket_id = $2
             ORDER BY read_at_ms DESC",
        )
        .bind(stored(source))
        .bind(stored(ticket_id.as_str()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let facts: String = row.try_get("facts")?;
                Ok(serde_json::from_str(&facts).unwrap_or(serde_json::Value::Null))
            })
            .collect()
    }
}
