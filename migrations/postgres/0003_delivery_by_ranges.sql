-- Delivery tracked like a log (see migrations/0003_delivery_by_ranges.sql):
-- an append-only log; each meter hands its events out in order, as ranges
-- under one claim each; only events that fail or die get rows of their own.
--
-- On PostgreSQL, ids are drawn when a row is inserted, not when it commits:
-- a transaction may commit id 100 after another committed id 101. So the
-- log's order is (xact, id): the appending transaction's id, then the row's.
-- Every transaction below the oldest one still running has finished, so the
-- events below that horizon are final, and a claim takes only those: no
-- event can appear behind a meter's position.
CREATE TABLE outbox_log (
    id         BIGSERIAL PRIMARY KEY,
    xact       xid8   NOT NULL DEFAULT pg_current_xact_id(),
    event_id   TEXT   NOT NULL,
    meter      TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_log_meter ON outbox_log (meter, xact, id);

-- Each meter's position in its log: events up to (claimed_xact, claimed_id)
-- were handed out. Claims take this row's lock for a moment: ranges are
-- handed out under it, never under per-event locks.
CREATE TABLE outbox_positions (
    meter        TEXT   PRIMARY KEY,
    claimed_xact xid8   NOT NULL DEFAULT '0',
    claimed_id   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE outbox_ranges (
    meter       TEXT   NOT NULL,
    first_xact  xid8   NOT NULL,
    first_id    BIGINT NOT NULL,
    last_xact   xid8   NOT NULL,
    last_id     BIGINT NOT NULL,
    events      INTEGER NOT NULL,
    token       TEXT,
    lease_until BIGINT,
    settled_at  BIGINT,
    PRIMARY KEY (meter, first_xact, first_id)
);
CREATE INDEX outbox_ranges_open ON outbox_ranges (meter, lease_until) WHERE settled_at IS NULL;
CREATE INDEX outbox_ranges_token ON outbox_ranges (token) WHERE settled_at IS NULL;
CREATE INDEX outbox_ranges_settled ON outbox_ranges (settled_at) WHERE settled_at IS NOT NULL;

-- state: 0 pending, 1 inflight (claimed), 2 failed (waiting for its retry).
CREATE TABLE outbox_retries (
    id           BIGINT   PRIMARY KEY,
    meter        TEXT     NOT NULL,
    state        SMALLINT NOT NULL,
    attempts     INTEGER  NOT NULL DEFAULT 0,
    due_at       BIGINT   NOT NULL,
    token        TEXT,
    claimed_from SMALLINT,
    last_status  INTEGER,
    last_error   TEXT,
    track_id     TEXT,
    updated_at   BIGINT   NOT NULL
);
CREATE INDEX outbox_retries_due ON outbox_retries (meter, due_at);

CREATE TABLE outbox_dead (
    id            BIGINT  PRIMARY KEY,
    meter         TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    attempts      INTEGER NOT NULL,
    last_status   INTEGER,
    reason        TEXT    NOT NULL,
    response_body TEXT,
    track_id      TEXT,
    dead_at       BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX outbox_dead_meter ON outbox_dead (meter, dead_at);
CREATE INDEX outbox_dead_event_id ON outbox_dead (event_id);

-- Upgrading. Producers of the previous release may still be inserting:
-- the old table is locked first, so every row they committed is copied
-- and none can be committed between the copy and the DROP (their inserts
-- wait, then fail once the table is gone: nothing acknowledged is lost).
LOCK TABLE outbox_events IN ACCESS EXCLUSIVE MODE;

-- The old rows join the log below every future transaction
-- (xact 0, in id order); sent runs become settled ranges; dead letters
-- keep their answer. A meter's trailing run of never-tried events (the
-- usual backlog) stays past the meter's position, to be claimed as ranges
-- like new appends; what waited before it becomes retry rows.
CREATE TEMP TABLE upgrade_positions ON COMMIT DROP AS
    SELECT meter, coalesce(max(id) FILTER (WHERE NOT (state = 0 AND attempts = 0)), 0) AS claimed_id
    FROM outbox_events GROUP BY meter;
INSERT INTO outbox_log (id, xact, event_id, meter, body, created_at)
    SELECT id, '0', event_id, meter, body, created_at FROM outbox_events;
SELECT setval(pg_get_serial_sequence('outbox_log', 'id'), greatest((SELECT max(id) FROM outbox_log), 1));

INSERT INTO outbox_ranges (meter, first_xact, first_id, last_xact, last_id, events, settled_at)
    SELECT meter, '0', min(id), '0', max(id), count(*), max(coalesce(sent_at, updated_at))
    FROM (SELECT id, meter, state, sent_at, updated_at,
                 row_number() OVER (PARTITION BY meter ORDER BY id)
                 - row_number() OVER (PARTITION BY meter, state = 3 ORDER BY id) AS run
          FROM outbox_events) AS runs
    WHERE state = 3
    GROUP BY meter, run;

INSERT INTO outbox_retries (id, meter, state, attempts, due_at, last_status, last_error, track_id, updated_at)
    SELECT id, meter,
           CASE WHEN state = 1 THEN (CASE WHEN claimed_from = 2 THEN 2 ELSE 0 END) ELSE state END,
           attempts, CASE WHEN state = 1 THEN updated_at ELSE next_attempt_at END,
           last_status, last_error, track_id, updated_at
    FROM outbox_events e
    WHERE state < 3 AND id <= (SELECT claimed_id FROM upgrade_positions p WHERE p.meter = e.meter);

INSERT INTO outbox_dead (id, meter, event_id, attempts, last_status, reason, response_body, track_id, dead_at, updated_at)
    SELECT id, meter, event_id, attempts, last_status, coalesce(last_error, ''), response_body, track_id,
           coalesce(dead_at, updated_at), updated_at
    FROM outbox_events WHERE state = 4;

INSERT INTO outbox_positions (meter, claimed_xact, claimed_id)
    SELECT meter, '0', claimed_id FROM upgrade_positions;

-- Claims that were in flight go back to what they were claimed from.
INSERT INTO outbox_meter_counters (meter, shard, pending, inflight, failed)
    SELECT meter, 0, count(*) FILTER (WHERE claimed_from IS DISTINCT FROM 2), -count(*), count(*) FILTER (WHERE claimed_from = 2)
    FROM outbox_events WHERE state = 1 GROUP BY meter
ON CONFLICT (meter, shard) DO UPDATE SET
    pending = outbox_meter_counters.pending + excluded.pending,
    inflight = outbox_meter_counters.inflight + excluded.inflight,
    failed = outbox_meter_counters.failed + excluded.failed;

DROP TABLE outbox_events;
