-- GitLab facts per ticket and requester (src/store/gitlab.rs): the cache of the lookups, and
-- what `/api/tickets/…` shows with the time read and the source.
CREATE TABLE gitlab_facts (
    source       TEXT   NOT NULL,
    ticket_id    TEXT   NOT NULL,
    requester_id TEXT   NOT NULL,
    category     TEXT   NOT NULL,
    facts        TEXT   NOT NULL,
    failed       BIGINT NOT NULL DEFAULT 0,
    read_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (source, ticket_id, requester_id)
);

-- As 0007, with the GitLab facts table.
CREATE OR REPLACE FUNCTION onbehalf_grant_app_role(app_role TEXT) RETURNS void AS $$
BEGIN
    EXECUTE format('REVOKE ALL ON processed_events, tickets, notes, confirmations, api_budget, sync_cursors, gitlab_facts, _sqlx_migrations FROM %I', app_role);
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
    -- The GitLab facts cache: written and rewritten by the workers.
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON gitlab_facts TO %I', app_role);
    -- Start-up checks the schema is current before deciding whether to migrate.
    EXECUTE format('GRANT SELECT ON _sqlx_migrations TO %I', app_role);
END;
$$ LANGUAGE plpgsql;
