-- Meters an operator paused, and late rejections found by `outbox reconcile`
-- in a meter's audit trail (see migrations/0002_reconcile_and_pause.sql).
ALTER TABLE outbox_meters ADD COLUMN paused BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE outbox_meters ADD COLUMN pause_reason TEXT;
ALTER TABLE outbox_meters ADD COLUMN paused_at BIGINT;
ALTER TABLE outbox_meters ADD COLUMN late_rejected BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox_meters ADD COLUMN last_reconciled_at BIGINT;

CREATE TABLE outbox_audit_applied (
    meter      TEXT   NOT NULL,
    trace_id   TEXT   NOT NULL,
    event_id   TEXT   NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (meter, trace_id)
);
