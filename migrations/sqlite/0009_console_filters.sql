-- The note kind as a column, so the note feed (GET /api/notes, the console's shadow review) can
-- filter by kind through an index: a rare kind (escalated, reopened) among 100,000 shadow
-- notes is then one index range, not a walk over every note of the status.
--
-- Generated from the step key, mirroring NoteStep::kind (src/workflow/note_step.rs); the store
-- tests check both agree for every step a release writes. A key no release wrote is 'other'.
-- VIRTUAL: SQLite computes it on read; the index keeps its own copy (ADD COLUMN allows only VIRTUAL).
ALTER TABLE notes ADD COLUMN kind TEXT GENERATED ALWAYS AS (
    CASE
        WHEN step = 'triage' THEN 'triage'
        WHEN step = 'escalated' THEN 'escalated'
        WHEN step = 'ownership-verified' THEN 'ownership_verified'
        WHEN step = 'role-verified' THEN 'role_verified'
        WHEN step LIKE 'warning-unverified-_%' THEN 'warning_unverified'
        WHEN step LIKE 'question-_%' THEN 'question'
        WHEN step LIKE 'verdict-_%' THEN 'verdict'
        WHEN step LIKE 'requester-changed-_%' THEN 'requester_changed'
        WHEN step LIKE 'reopened-_%' THEN 'reopened'
        WHEN step LIKE 'gitlab-_%' THEN 'gitlab'
        WHEN step LIKE 'recategorised-_%' THEN 'recategorised'
        ELSE 'other'
    END
) VIRTUAL;

-- The shadow review lists one status (shadow), newest first, optionally of one kind.
CREATE INDEX notes_status_kind_recent ON notes (status, kind, created_at, reference);

-- The tickets list filtered by stage and category, newest change first: one index range read
-- backwards. It also serves the overview's count by stage and category, so it replaces the
-- (stage, category) index of migration console.
CREATE INDEX tickets_stage_category_updated ON tickets (stage, category, updated_at, source, ticket_id);
DROP INDEX tickets_stage_category;
