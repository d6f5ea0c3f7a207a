-- Record format 2 (see src/store/trail.rs): the fields a record gained. Rows written before
-- keep format 1 and their hash over the original fields.
ALTER TABLE confirmations ADD COLUMN format BIGINT NOT NULL DEFAULT 1;
ALTER TABLE confirmations ADD COLUMN channel TEXT;
ALTER TABLE confirmations ADD COLUMN body_sha256 TEXT;
ALTER TABLE confirmations ADD COLUMN withdraws_seq BIGINT;
-- JSON list of {field, replaced, with, count}; NULL for format 1.
ALTER TABLE confirmations ADD COLUMN altered_for_storage TEXT;
ALTER TABLE confirmations ADD COLUMN hmac TEXT;

-- Row triggers do not fire on TRUNCATE, which would empty the trail in one statement.
CREATE TRIGGER confirmations_no_truncate BEFORE TRUNCATE ON confirmations
    FOR EACH STATEMENT EXECUTE FUNCTION onbehalf_append_only();
