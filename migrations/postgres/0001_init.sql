-- Events whose effects are committed (dedupe across redeliveries and duplicate webhooks).
CREATE TABLE processed_events (
    source       TEXT   NOT NULL,
    event_id     TEXT   NOT NULL,
    ticket_id    TEXT   NOT NULL,
    processed_at BIGINT NOT NULL,
    PRIMARY KEY (source, event_id)
);

-- One row per ticket: the workflow state as JSON, with an optimistic version.
CREATE TABLE tickets (
    source     TEXT   NOT NULL,
    ticket_id  TEXT   NOT NULL,
    category   TEXT,
    stage      TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (source, ticket_id)
);

-- At most one note per (ticket, step): the key that makes notes exactly-once.
CREATE TABLE notes (
    source        TEXT   NOT NULL,
    ticket_id     TEXT   NOT NULL,
    step          TEXT   NOT NULL,
    reference     TEXT   NOT NULL UNIQUE,
    body          TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    remote_id     TEXT,
    claimed_until BIGINT,
    attempts      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    settled_at    BIGINT,
    PRIMARY KEY (source, ticket_id, step)
);

-- The confirmation trail: append-only, hash-chained.
CREATE TABLE confirmations (
    seq                BIGINT NOT NULL PRIMARY KEY,
    source             TEXT   NOT NULL,
    ticket_id          TEXT   NOT NULL,
    requester_id       TEXT   NOT NULL,
    category           TEXT   NOT NULL,
    action             TEXT   NOT NULL,
    verdict            TEXT   NOT NULL,
    quote              TEXT   NOT NULL,
    request_comment_id TEXT   NOT NULL,
    reply_comment_id   TEXT   NOT NULL,
    decided_at         TEXT   NOT NULL,
    decided_at_ms      BIGINT NOT NULL,
    prev_hash          TEXT   NOT NULL UNIQUE,
    hash               TEXT   NOT NULL UNIQUE,
    UNIQUE (source, ticket_id, reply_comment_id)
);
CREATE INDEX confirmations_ticket ON confirmations (source, ticket_id);
CREATE INDEX confirmations_decided ON confirmations (decided_at_ms);

CREATE FUNCTION onbehalf_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the confirmation trail is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER confirmations_append_only BEFORE UPDATE OR DELETE ON confirmations
    FOR EACH ROW EXECUTE FUNCTION onbehalf_append_only();
