-- The outbox: one row per usage event, from append until it is purged.
--
-- state: 0 pending (never tried), 1 inflight (claimed under a lease),
--        2 failed (waiting for a retry), 3 sent (Zuora accepted it),
--        4 dead (Zuora rejected it; an operator decides).
CREATE TABLE outbox_events (
    id              INTEGER PRIMARY KEY,         -- insertion order
    event_id        TEXT    NOT NULL,            -- UUIDv7: the stable public id
    meter           TEXT    NOT NULL,            -- Zuora meter global id
    body            BLOB    NOT NULL,            -- the event's JSON text, exactly as given
    state           INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,  -- retry attempts spent on transient failures
    next_attempt_at INTEGER NOT NULL,            -- unix ms; for inflight rows, when the lease ends
    lease_owner     TEXT,                        -- the dispatcher holding the claim
    claimed_from    INTEGER,                     -- the state a claim took the row from
    last_status     INTEGER,                     -- last HTTP status, when there was one
    last_error      TEXT,                        -- last failure or rejection reason
    response_body   TEXT,                        -- Zuora's body for a dead letter
    track_id        TEXT,                        -- Zuora-Track-Id of the last request carrying it
    created_at      INTEGER NOT NULL,            -- unix ms
    updated_at      INTEGER NOT NULL,            -- unix ms
    sent_at         INTEGER,                     -- unix ms
    dead_at         INTEGER                      -- unix ms
);

-- Claims read this index only: it holds the rows still to deliver, ordered by
-- when they are due, so a claim costs the same with 1k or 1M rows waiting.
-- An inflight row's next_attempt_at is its lease expiry, so expired leases are
-- found by the same range scan. "state < 3" (pending, inflight, failed) rather
-- than "state IN (0, 1, 2)": SQLite evaluates a 3-element IN list through an
-- ephemeral table on every insert, which cost a third of the append time.
CREATE INDEX outbox_events_due ON outbox_events (meter, next_attempt_at) WHERE state < 3;

-- Dead letters are few; these keep the operator's queries off the big table.
CREATE INDEX outbox_events_dead ON outbox_events (meter, dead_at) WHERE state = 4;
CREATE INDEX outbox_events_dead_by_event_id ON outbox_events (event_id) WHERE state = 4;

-- Per-meter counters, kept as events move between states, so `status` is
-- instant and `verify` can check conservation:
--   appended = pending + inflight + failed + sent + dead + purged
CREATE TABLE outbox_meters (
    meter           TEXT    PRIMARY KEY,
    appended        INTEGER NOT NULL DEFAULT 0,
    pending         INTEGER NOT NULL DEFAULT 0,
    inflight        INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    sent            INTEGER NOT NULL DEFAULT 0,
    dead            INTEGER NOT NULL DEFAULT 0,
    purged          INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER,                     -- the last failure's HTTP status
    last_error      TEXT,                        -- the last failure's reason
    last_error_at   INTEGER,                     -- unix ms of the last failure
    last_success_at INTEGER                      -- unix ms of the last accepted batch
) WITHOUT ROWID;
