-- A note is inserted and, moments later, marked posted; a ticket's row is rewritten by every
-- event. With full pages each of those updates moves the row to another page and writes new
-- index entries; with room left on the page PostgreSQL updates it in place (a HOT update, no
-- index work, less WAL). Applies to pages written from now on.
ALTER TABLE notes SET (fillfactor = 70);
ALTER TABLE tickets SET (fillfactor = 70);
