-- Delivery tracked like a log, not like a job table: the events are an
-- append-only log; each meter hands its events out in insertion order, as
-- ranges, each under one claim (a row of its own with the claim's token);
-- only events that fail or die get rows of their own (retries, dead letters).
-- A delivered event is written once: when it is appended.

CREATE TABLE outbox_log (
    id         INTEGER PRIMARY KEY,   -- insertion order, shared by all meters
    event_id   TEXT    NOT NULL,      -- UUIDv7: the stable public id
    meter      TEXT    NOT NULL,      -- Zuora meter global id
    body       BLOB    NOT NULL,      -- the event's JSON text, exactly as given
    created_at INTEGER NOT NULL       -- unix ms
);

-- A meter's events in order: what claims read, a range at a time.
CREATE INDEX outbox_log_meter ON outbox_log (meter, id);

-- Ranges of a meter's events handed out by claims. A range is open while
-- a claim holds it (token, lease_until) and settled once every event in it
-- was sent or given a row of its own (retry, dead letter). A settlement of
-- part of a range (a bisection half) splits it.
CREATE TABLE outbox_ranges (
    meter       TEXT    NOT NULL,
    first_id    INTEGER NOT NULL,
    last_id     INTEGER NOT NULL,
    events      INTEGER NOT NULL,      -- the meter's events in [first_id, last_id]
    token       TEXT,                  -- the claim's token, while open
    lease_until INTEGER,               -- unix ms, while open
    settled_at  INTEGER,               -- unix ms, once settled
    PRIMARY KEY (meter, first_id)
) WITHOUT ROWID;

-- Open ranges by lease: how a claim finds one to take over.
CREATE INDEX outbox_ranges_open ON outbox_ranges (meter, lease_until) WHERE settled_at IS NULL;
-- Settled ranges by age: what retention purges.
CREATE INDEX outbox_ranges_settled ON outbox_ranges (settled_at) WHERE settled_at IS NOT NULL;

-- Events waiting for another try (or put back by an operator): rows of
-- their own, claimed one by one like a job table, fenced by the token.
-- state: 0 pending, 1 inflight (claimed), 2 failed (waiting for its retry).
CREATE TABLE outbox_retries (
    id           INTEGER PRIMARY KEY,   -- the event's outbox_log id
    meter        TEXT    NOT NULL,
    state        INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    due_at       INTEGER NOT NULL,      -- unix ms; for inflight rows, when the lease ends
    token        TEXT,
    claimed_from INTEGER,
    last_status  INTEGER,
    last_error   TEXT,
    track_id     TEXT,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX outbox_retries_due ON outbox_retries (meter, due_at);

-- Dead letters: events Zuora rejected, kept with its answer until an
-- operator retries or purges them. The body stays in outbox_log.
CREATE TABLE outbox_dead (
    id            INTEGER PRIMARY KEY,  -- the event's outbox_log id
    meter         TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    attempts      INTEGER NOT NULL,
    last_status   INTEGER,
    reason        TEXT    NOT NULL,
    response_body TEXT,
    track_id      TEXT,
    dead_at       INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX outbox_dead_meter ON outbox_dead (meter, dead_at);
CREATE INDEX outbox_dead_event_id ON outbox_dead (event_id);

-- Each meter's position in its log: events up to claimed_through were
-- handed out; every range up to delivered_through is settled.
ALTER TABLE outbox_meters ADD COLUMN claimed_through INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox_meters ADD COLUMN delivered_through INTEGER NOT NULL DEFAULT 0;

-- Upgrading: every event of the old table moves to the log; what was sent
-- becomes settled ranges (runs of a meter's consecutive sent events); dead
-- letters keep their answer. A meter's trailing run of never-tried events
-- (the usual backlog) stays past the meter's position, to be claimed as
-- ranges like new appends; what waited before it (pending, inflight,
-- failed) becomes a retry row, due as it was (an inflight one goes back to
-- what it was claimed from, due now).
CREATE TEMP TABLE upgrade_positions AS
    SELECT meter, coalesce(max(CASE WHEN state = 0 AND attempts = 0 THEN NULL ELSE id END), 0) AS claimed_through
    FROM outbox_events GROUP BY meter;
CREATE TEMP TABLE upgrade_backlogs AS
    SELECT e.meter, count(*) AS events
    FROM outbox_events e JOIN upgrade_positions p ON p.meter = e.meter
    WHERE e.id > p.claimed_through GROUP BY e.meter;

INSERT INTO outbox_log (id, event_id, meter, body, created_at)
    SELECT id, event_id, meter, body, created_at FROM outbox_events;

INSERT INTO outbox_ranges (meter, first_id, last_id, events, settled_at)
    SELECT meter, min(id), max(id), count(*), max(coalesce(sent_at, updated_at))
    FROM (SELECT id, meter, state, sent_at, updated_at,
                 row_number() OVER (PARTITION BY meter ORDER BY id)
                 - row_number() OVER (PARTITION BY meter, state = 3 ORDER BY id) AS run
          FROM outbox_events)
    WHERE state = 3
    GROUP BY meter, run;

INSERT INTO outbox_retries (id, meter, state, attempts, due_at, claimed_from, last_status, last_error, track_id, updated_at)
    SELECT id, meter,
           CASE WHEN state = 1 THEN (CASE WHEN claimed_from = 2 THEN 2 ELSE 0 END) ELSE state END,
           attempts,
           CASE WHEN state = 1 THEN updated_at ELSE next_attempt_at END,
           NULL, last_status, last_error, track_id, updated_at
    FROM outbox_events e
    WHERE state < 3 AND id <= (SELECT claimed_through FROM upgrade_positions p WHERE p.meter = e.meter);

INSERT INTO outbox_dead (id, meter, event_id, attempts, last_status, reason, response_body, track_id, dead_at, updated_at)
    SELECT id, meter, event_id, attempts, last_status, coalesce(last_error, ''), response_body, track_id,
           coalesce(dead_at, updated_at), updated_at
    FROM outbox_events WHERE state = 4;

-- The log continues after the old table: each meter's position is where
-- its backlog of never-tried events begins.
UPDATE outbox_meters SET
    claimed_through = coalesce((SELECT claimed_through FROM upgrade_positions p WHERE p.meter = outbox_meters.meter), 0),
    delivered_through = coalesce((SELECT claimed_through FROM upgrade_positions p WHERE p.meter = outbox_meters.meter), 0),
    pending = (SELECT count(*) FROM outbox_retries r WHERE r.meter = outbox_meters.meter AND r.state = 0)
        + coalesce((SELECT events FROM upgrade_backlogs b WHERE b.meter = outbox_meters.meter), 0),
    inflight = 0,
    failed = (SELECT count(*) FROM outbox_retries r WHERE r.meter = outbox_meters.meter AND r.state = 2);

DROP TABLE upgrade_positions;
DROP TABLE upgrade_backlogs;
DROP TABLE outbox_events;
