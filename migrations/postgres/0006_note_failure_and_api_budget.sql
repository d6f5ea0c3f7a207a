-- A note the helpdesk refused for good (ticket deleted, comment limit): status `failed` and
-- the helpdesk's reason.
ALTER TABLE notes ADD COLUMN error TEXT;

-- The helpdesk account's API budget, shared by every `work` process on this database: a token
-- bucket (tokens refill at the configured rate, measured by the database's clock) and the
-- point before which nobody calls (the latest `Retry-After` any process was given).
CREATE TABLE api_budget (
    account     TEXT             NOT NULL PRIMARY KEY,
    tokens      DOUBLE PRECISION NOT NULL,
    refilled_at TIMESTAMPTZ      NOT NULL,
    hold_until  TIMESTAMPTZ      NOT NULL
);

-- As 0005, with the budget table.
CREATE OR REPLACE FUNCTION onbehalf_grant_app_role(app_role TEXT) RETURNS void AS $$
BEGIN
    EXECUTE format('REVOKE ALL ON processed_events, tickets, notes, confirmations, api_budget, _sqlx_migrations FROM %I', app_role);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), app_role);
    -- Dedupe inserts (ON CONFLICT DO NOTHING RETURNING reads the keys back).
    EXECUTE format('GRANT SELECT, INSERT ON processed_events TO %I', app_role);
    -- Workflow state and note intents are rewritten as events move them on.
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON tickets, notes TO %I', app_role);
    -- The trail: read and append only.
    EXECUTE format('GRANT SELECT, INSERT ON confirmations TO %I', app_role);
    -- Workers take API tokens and record Retry-After holds.
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON api_budget TO %I', app_role);
    -- Start-up checks the schema is current before deciding whether to migrate.
    EXECUTE format('GRANT SELECT ON _sqlx_migrations TO %I', app_role);
END;
$$ LANGUAGE plpgsql;
