-- The Zuora-Request-Id of the answer that made each dead letter (what
-- Zuora support asks for). Null for older rows and for late rejections.
ALTER TABLE outbox_dead ADD COLUMN request_id TEXT;

-- The request budgets every dispatcher of this outbox shares (Zuora counts
-- requests per tenant, not per process). One row per request admitted,
-- numbered without gaps, so "the request N places back" is one lookup;
-- rows go after a day (the longest window any dispatcher may count).
CREATE TABLE outbox_requests (
    seq     INTEGER PRIMARY KEY,  -- 1, 2, 3 ... in the order admitted
    sent_at INTEGER NOT NULL      -- unix ms, the store's clock
);

-- Requests in flight across dispatchers. A slot is held until its request
-- is answered, or until its lease lapses (a crashed dispatcher's).
CREATE TABLE outbox_request_slots (
    holder     TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL   -- unix ms
);

-- The budget that last held a request back, and until when: what `status`
-- shows.
CREATE TABLE outbox_budget_holds (
    budget   TEXT    PRIMARY KEY,  -- per-minute, per-hour, per-day, concurrency
    until_at INTEGER NOT NULL      -- unix ms
);
