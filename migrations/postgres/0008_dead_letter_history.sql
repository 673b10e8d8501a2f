-- Dead letters an operator can work with.
--
-- tries: the requests that carried the event, whatever their answer (a
-- rate limit, a "retry later", a bisection half, a failure): what a dead
-- letter shows as its attempts. `attempts` stays what --max-attempts
-- counts (the failures that were the event's own). Rows written before
-- knew only that count: it is their best lower bound.
ALTER TABLE outbox_retries ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
UPDATE outbox_retries SET tries = attempts;

-- Each event's history: the answers of its failed, deferred (when Zuora
-- answered) and dead settlements, the last 20 per event (n counts them
-- from 1), each reason cut to 200 bytes. Only events that are not simply
-- sent have any: a 2xx settlement of a range never writes here, an
-- event's history goes when it is sent from a retry row, and with its
-- dead letter when that is purged.
CREATE TABLE outbox_answers (
    id         BIGINT  NOT NULL,   -- the event's outbox_log id
    n          INTEGER NOT NULL,
    at         BIGINT  NOT NULL,   -- unix ms, the server's clock
    status     INTEGER,            -- Zuora's HTTP status; NULL: no answer came, or a late rejection
    request_id TEXT,
    reason     TEXT    NOT NULL,
    PRIMARY KEY (id, n)
);

-- Purged events told apart: purged_dead counts the dead letters purged
-- (never billed), the rest of `purged` was sent. Purges before this
-- schema were not told apart: purged_unsplit keeps how many there were.
ALTER TABLE outbox_meter_counters ADD COLUMN purged_dead BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox_meter_counters ADD COLUMN purged_unsplit BIGINT NOT NULL DEFAULT 0;
UPDATE outbox_meter_counters SET purged_unsplit = purged;
