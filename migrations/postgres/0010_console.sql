-- The review console (src/console/): login sessions, shadow-note reviews, and the indexes its
-- paginated pages walk (newest first) so 100,000 tickets or records stay one index range.

-- A console login: only the SHA-256 of the session id is kept (a database read gives no
-- usable cookie). Unix ms.
CREATE TABLE console_sessions (
    id_sha256  TEXT   PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- A reviewer's judgement of a shadow note ("wrong", and why); the latest one per note counts.
CREATE TABLE note_reviews (
    reference  TEXT   NOT NULL PRIMARY KEY,
    verdict    TEXT   NOT NULL,
    reason     TEXT   NOT NULL,
    marked_at  BIGINT NOT NULL
);

-- Lists, newest first, and the search by id (whatever the helpdesk); notes by status use
-- notes_status_recent (migration notes_recent).
CREATE INDEX tickets_updated ON tickets (updated_at, source, ticket_id);
CREATE INDEX tickets_stage_updated ON tickets (stage, updated_at, source, ticket_id);
CREATE INDEX tickets_ticket_id ON tickets (ticket_id);
-- The overview's counts read these indexes alone, never the rows (state, bodies, quotes).
CREATE INDEX tickets_stage_category ON tickets (stage, category);
CREATE INDEX notes_created ON notes (created_at, step, source, ticket_id);
CREATE INDEX processed_events_processed ON processed_events (processed_at);
CREATE INDEX confirmations_decided_verdict ON confirmations (decided_at_ms, verdict);

-- As before, with the console's tables. Numbered after the GitLab facts migration (0009), whose
-- table is granted here too when it exists (a branch without it still migrates).
CREATE OR REPLACE FUNCTION onbehalf_grant_app_role(app_role TEXT) RETURNS void AS $$
BEGIN
    EXECUTE format('REVOKE ALL ON processed_events, tickets, notes, confirmations, api_budget, sync_cursors, console_sessions, note_reviews, _sqlx_migrations FROM %I', app_role);
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
    IF to_regclass('gitlab_facts') IS NOT NULL THEN
        EXECUTE format('REVOKE ALL ON gitlab_facts FROM %I', app_role);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON gitlab_facts TO %I', app_role);
    END IF;
    -- Console logins (logout and expiry delete them) and reviews (a new mark replaces one).
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON console_sessions TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON note_reviews TO %I', app_role);
    -- Start-up checks the schema is current before deciding whether to migrate.
    EXECUTE format('GRANT SELECT ON _sqlx_migrations TO %I', app_role);
END;
$$ LANGUAGE plpgsql;
