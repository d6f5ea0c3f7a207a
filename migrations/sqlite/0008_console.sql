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
