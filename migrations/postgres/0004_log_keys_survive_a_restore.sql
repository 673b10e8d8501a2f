-- A position is only as good as the keys behind it. The log's order was
-- (xact, id) with xact the appending transaction's id, but transaction ids
-- restart in another cluster: after a pg_dump restored into a new cluster,
-- every new event got a smaller xact than the restored positions and sorted
-- behind them, never to be claimed.
--
-- So xact becomes a plain number: the transaction's id plus the offset in
-- outbox_log_epoch. In the cluster where the log began the offset is 0.
-- When an outbox opens and finds the log ahead of the current transaction
-- id (a restore into another cluster), it raises the offset past every key
-- the log holds, in one transaction, so that the log never goes backwards
-- (PostgresLogEpoch).
ALTER TABLE outbox_log ALTER COLUMN xact DROP DEFAULT;
ALTER TABLE outbox_log ALTER COLUMN xact TYPE BIGINT USING xact::text::bigint;
ALTER TABLE outbox_positions ALTER COLUMN claimed_xact DROP DEFAULT;
ALTER TABLE outbox_positions ALTER COLUMN claimed_xact TYPE BIGINT USING claimed_xact::text::bigint;
ALTER TABLE outbox_positions ALTER COLUMN claimed_xact SET DEFAULT 0;
ALTER TABLE outbox_ranges
    ALTER COLUMN first_xact TYPE BIGINT USING first_xact::text::bigint,
    ALTER COLUMN last_xact TYPE BIGINT USING last_xact::text::bigint;

CREATE TABLE outbox_log_epoch (
    one         BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
    xact_offset BIGINT  NOT NULL
);
INSERT INTO outbox_log_epoch (xact_offset) VALUES (0);

-- Events that a restore into another cluster already hid behind their
-- meter's position (appended there before this schema, with smaller
-- transaction ids) become pending retry rows, due at once: they were
-- counted as pending all along, and nothing else would ever claim them.
INSERT INTO outbox_retries (id, meter, state, attempts, due_at, updated_at)
    SELECT l.id, l.meter, 0, 0, l.created_at, l.created_at
    FROM outbox_log l JOIN outbox_positions o ON o.meter = l.meter
    WHERE (l.xact, l.id) <= (o.claimed_xact, o.claimed_id)
      AND NOT EXISTS (
          SELECT 1 FROM (SELECT r.last_xact, r.last_id FROM outbox_ranges r
                         WHERE r.meter = l.meter AND (r.first_xact, r.first_id) <= (l.xact, l.id)
                         ORDER BY r.first_xact DESC, r.first_id DESC LIMIT 1) AS covering
          WHERE (covering.last_xact, covering.last_id) >= (l.xact, l.id))
      AND NOT EXISTS (SELECT 1 FROM outbox_retries x WHERE x.id = l.id)
      AND NOT EXISTS (SELECT 1 FROM outbox_dead d WHERE d.id = l.id);
