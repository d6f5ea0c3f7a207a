-- A note the helpdesk refused for good (ticket deleted, comment limit): status `failed` and
-- the helpdesk's reason.
ALTER TABLE notes ADD COLUMN error TEXT;
