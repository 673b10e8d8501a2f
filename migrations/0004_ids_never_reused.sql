-- A log position is only as good as the ids behind it. Without
-- AUTOINCREMENT, SQLite hands out max(id) + 1 again once retention or a
-- dead-letter purge has deleted the newest rows: the new events then get
-- ids at or below a meter's position (never claimed) or inside a settled
-- range (counted as sent, then purged unsent). With AUTOINCREMENT, SQLite
-- keeps the largest id ever used in sqlite_sequence and never goes below it.
--
-- SQLite cannot add AUTOINCREMENT to a table, so the log is copied into a
-- new one (ids kept), and the high-water mark starts above every id that
-- any position, range or exception row has ever named.
CREATE TABLE outbox_log_v4 (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order, shared by all meters, never reused
    event_id   TEXT    NOT NULL,                   -- UUIDv7 or the event's own id field
    meter      TEXT    NOT NULL,                   -- Zuora meter global id
    body       BLOB    NOT NULL,                   -- the event's JSON text, exactly as given
    created_at INTEGER NOT NULL                    -- unix ms
);
INSERT INTO outbox_log_v4 (id, event_id, meter, body, created_at)
    SELECT id, event_id, meter, body, created_at FROM outbox_log ORDER BY id;
DROP TABLE outbox_log;
ALTER TABLE outbox_log_v4 RENAME TO outbox_log;
CREATE INDEX outbox_log_meter ON outbox_log (meter, id);

DELETE FROM sqlite_sequence WHERE name = 'outbox_log';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_log', max(
    coalesce((SELECT max(id) FROM outbox_log), 0),
    coalesce((SELECT max(claimed_through) FROM outbox_meters), 0),
    coalesce((SELECT max(delivered_through) FROM outbox_meters), 0),
    coalesce((SELECT max(last_id) FROM outbox_ranges), 0),
    coalesce((SELECT max(id) FROM outbox_retries), 0),
    coalesce((SELECT max(id) FROM outbox_dead), 0));

-- Events that the reuse already hid behind their meter's position (ids
-- handed out again after retention emptied the log's tail) become pending
-- retry rows, due at once: they were counted as pending all along, and
-- nothing else would ever claim them. (An event that landed inside a
-- settled range cannot be told from a sent one; `verify` shows such a
-- meter's counters disagreeing with its rows.)
INSERT INTO outbox_retries (id, meter, state, attempts, due_at, updated_at)
    SELECT l.id, l.meter, 0, 0, l.created_at, l.created_at
    FROM outbox_log l JOIN outbox_meters m ON m.meter = l.meter
    WHERE l.id <= m.claimed_through
      AND coalesce((SELECT r.last_id FROM outbox_ranges r WHERE r.meter = l.meter AND r.first_id <= l.id
                    ORDER BY r.first_id DESC LIMIT 1), 0) < l.id
      AND NOT EXISTS (SELECT 1 FROM outbox_retries x WHERE x.id = l.id)
      AND NOT EXISTS (SELECT 1 FROM outbox_dead d WHERE d.id = l.id);
