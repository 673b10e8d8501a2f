-- The id an event carries itself, in the event-id field the outbox is
-- told (`--event-id-field`): an append of an id the meter already holds is
-- skipped, so a producer's retry never bills twice. Null for events whose
-- id the outbox wrote (never repeated), and for rows appended before.
-- The window is the log's: an id is held until retention removes its event.
ALTER TABLE outbox_log ADD COLUMN own_id TEXT;
CREATE UNIQUE INDEX outbox_log_own_id ON outbox_log (meter, own_id) WHERE own_id IS NOT NULL;
