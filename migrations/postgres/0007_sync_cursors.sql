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

-- As 0006, with the cursor table.
CREATE OR REPLACE FUNCTION onbehalf_grant_app_role(app_role TEXT) RETURNS void AS $$
BEGIN
    EXECUTE format('REVOKE ALL ON processed_events, tickets, notes, confirmations, api_budget, sync_cursors, _sqlx_migrations FROM %I', app_role);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), app_role);
    -- Dedupe inserts (ON CONFLICT DO NOTHING RETURNING reads the keys back).
    EXECUTE format('GRANT SELECT, INSERT ON processed_events TO %I', app_role);
    -- Workflow state and note intents are rewritten as events move them on.
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON tickets, notes TO %I', app_role);
    -- The trail: read and append only.
    EXECUTE format('GRANT SELECT, INSERT ON confirmations TO %I', app_role);
    -- Workers take API tokens and record Retry-After holds.
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON api_budget TO %I', app_role);
    -- The reconciler's cursor and lease.
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON sync_cursors TO %I', app_role);
    -- Start-up checks the schema is current before deciding whether to migrate.
    EXECUTE format('GRANT SELECT ON _sqlx_migrations TO %I', app_role);
END;
$$ LANGUAGE plpgsql;
