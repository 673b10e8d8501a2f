-- Dead letters an operator can work with.
--
-- tries: the requests that carried the event, whatever their answer (a
-- rate limit, a "retry later", a bisection half, a failure): what a dead
-- letter shows as its attempts. `attempts` stays what --max-attempts
-- counts (the failures that were the event's own). Rows written before
-- knew only that count: it is their best lower bound.
ALTER TABLE outbox_retries ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
UPDATE outbox_retries SET tries = attempts;
