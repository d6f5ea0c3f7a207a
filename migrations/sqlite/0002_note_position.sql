-- The order in which one decision listed its notes: they are posted in that order.
ALTER TABLE notes ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
