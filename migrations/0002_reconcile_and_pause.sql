-- Meters an operator paused, and late rejections: events Zuora accepted with
-- a 200 and Mediation rejected afterwards, found in the meter's audit trail
-- by `outbox reconcile`.
ALTER TABLE outbox_meters ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;   -- 1: no dispatcher claims its events
ALTER TABLE outbox_meters ADD COLUMN pause_reason TEXT;
ALTER TABLE outbox_meters ADD COLUMN paused_at INTEGER;                   -- unix ms
ALTER TABLE outbox_meters ADD COLUMN late_rejected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox_meters ADD COLUMN last_reconciled_at INTEGER;          -- unix ms

-- Audit trail entries reconcile acted on, by trace id: each is applied at
-- most once, so an old entry never dead-letters again an event an operator
-- retried and Zuora then accepted.
CREATE TABLE outbox_audit_applied (
    meter      TEXT    NOT NULL,
    trace_id   TEXT    NOT NULL,
    event_id   TEXT    NOT NULL,   -- the outbox's id of the event it matched
    applied_at INTEGER NOT NULL,   -- unix ms
    PRIMARY KEY (meter, trace_id)
) WITHOUT ROWID;
