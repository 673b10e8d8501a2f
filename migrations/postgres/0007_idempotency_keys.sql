-- Idempotency keys (the `Idempotency-Key` of each usage request) come from
-- what the store records, so that any process re-sending the same events
-- after an answer that never came sends the same key.
--
-- This outbox's own id, drawn once: keys of two outboxes never meet, even
-- where their row ids do. A copy (a restore) keeps it, and with it the keys
-- of the requests it re-sends.
CREATE TABLE outbox_identity (
    singleton SMALLINT PRIMARY KEY CHECK (singleton = 1),
    outbox_id TEXT NOT NULL
);
INSERT INTO outbox_identity (singleton, outbox_id) VALUES (1, replace(gen_random_uuid()::text, '-', ''));
-- key_seed: drawn afresh whenever Zuora answers a request that carried the
-- event, so the next request gets a new key (0 until then).
-- unanswered_key: the key of the request that carried the event and got
-- no answer (a timeout, a lost connection); the events that share it are
-- re-sent together under it. Null once answered.
ALTER TABLE outbox_retries ADD COLUMN key_seed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox_retries ADD COLUMN unanswered_key TEXT;
-- A retry claim takes one group (see RetryClaims): the rows re-sent under
-- one unanswered key, a lapsed claim's rows, or rows free to go with any.
CREATE INDEX outbox_retries_unanswered ON outbox_retries (meter, unanswered_key) WHERE unanswered_key IS NOT NULL;
CREATE INDEX outbox_retries_token ON outbox_retries (token) WHERE token IS NOT NULL;
CREATE INDEX outbox_retries_free ON outbox_retries (meter, due_at) WHERE unanswered_key IS NULL;
