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
