-- The outbox on PostgreSQL: the same model as the SQLite store
-- (migrations/0001_outbox.sql), for many app hosts sharing one queue.
--
-- state: 0 pending, 1 inflight (leased), 2 failed (waiting for a retry),
--        3 sent, 4 dead. Times are unix milliseconds.
CREATE TABLE outbox_events (
    id              BIGSERIAL PRIMARY KEY,
    event_id        TEXT     NOT NULL,           -- UUIDv7
    meter           TEXT     NOT NULL,
    body            TEXT     NOT NULL,           -- the event's JSON text, exactly as given
    state           SMALLINT NOT NULL DEFAULT 0,
    attempts        INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT   NOT NULL,           -- for inflight rows, when the lease ends
    lease_owner     TEXT,
    claimed_from    SMALLINT,
    last_status     INTEGER,
    last_error      TEXT,
    response_body   TEXT,
    track_id        TEXT,
    created_at      BIGINT   NOT NULL,
    updated_at      BIGINT   NOT NULL,
    sent_at         BIGINT,
    dead_at         BIGINT
);

-- Claims walk this index in due order (FOR UPDATE SKIP LOCKED), so a claim
-- costs the same with 1k or 1M events waiting.
CREATE INDEX outbox_events_due ON outbox_events (meter, next_attempt_at, id) WHERE state < 3;
CREATE INDEX outbox_events_dead ON outbox_events (meter, dead_at) WHERE state = 4;
CREATE INDEX outbox_events_dead_by_event_id ON outbox_events (event_id) WHERE state = 4;
CREATE INDEX outbox_events_sent ON outbox_events (sent_at) WHERE state = 3;

-- Per-meter counters, kept as events move. Each transaction adds its changes
-- to one of 16 shards picked at random, so concurrent workers do not queue
-- on one hot row; readers sum the shards.
CREATE TABLE outbox_meter_counters (
    meter    TEXT     NOT NULL,
    shard    SMALLINT NOT NULL,
    appended BIGINT   NOT NULL DEFAULT 0,
    pending  BIGINT   NOT NULL DEFAULT 0,
    inflight BIGINT   NOT NULL DEFAULT 0,
    failed   BIGINT   NOT NULL DEFAULT 0,
    sent     BIGINT   NOT NULL DEFAULT 0,
    dead     BIGINT   NOT NULL DEFAULT 0,
    purged   BIGINT   NOT NULL DEFAULT 0,
    PRIMARY KEY (meter, shard)
);

-- What each meter last went through, for `outbox status`.
CREATE TABLE outbox_meters (
    meter           TEXT    PRIMARY KEY,
    last_status     INTEGER,
    last_error      TEXT,
    last_error_at   BIGINT,
    last_success_at BIGINT
);
