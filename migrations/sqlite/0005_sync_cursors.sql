-- Reconciliation (src/sync/): where the incremental ticket export left off, and which instance
-- is the one reconciler (a lease: owner and until when, unix ms).
CREATE TABLE sync_cursors (
    name        TEXT   PRIMARY KEY,
    cursor      TEXT,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL DEFAULT 0
);

-- A ticket's sync reads back what was already handled of it.
CREATE INDEX processed_events_ticket ON processed_events (source, ticket_id);
