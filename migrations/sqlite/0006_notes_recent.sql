-- Recent notes across tickets, newest first (GET /api/notes, `onbehalf notes`): all of them, or
-- those of one status (shadow mode), without reading the whole table.
CREATE INDEX notes_recent ON notes (created_at, reference);
CREATE INDEX notes_status_recent ON notes (status, created_at, reference);
