-- The privileges `receive` and `work` need, granted to the role they connect as (named by
-- ONBEHALF_DATABASE_APP_ROLE; `onbehalf migrate`, run as the owner, calls this after every
-- migration). Exactly these: the trail can be read and appended to, never updated, deleted or
-- truncated, and nothing can be created or dropped. A later migration that adds a table
-- replaces this function with one that grants it too.
CREATE FUNCTION onbehalf_grant_app_role(app_role TEXT) RETURNS void AS $$
BEGIN
    EXECUTE format('REVOKE ALL ON processed_events, tickets, notes, confirmations, _sqlx_migrations FROM %I', app_role);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), app_role);
    -- Dedupe inserts (ON CONFLICT DO NOTHING RETURNING reads the keys back).
    EXECUTE format('GRANT SELECT, INSERT ON processed_events TO %I', app_role);
    -- Workflow state and note intents are rewritten as events move them on.
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON tickets, notes TO %I', app_role);
    -- The trail: read and append only.
    EXECUTE format('GRANT SELECT, INSERT ON confirmations TO %I', app_role);
    -- Start-up checks the schema is current before deciding whether to migrate.
    EXECUTE format('GRANT SELECT ON _sqlx_migrations TO %I', app_role);
END;
$$ LANGUAGE plpgsql;
