-- Rows as the release before ranges (schema 2: one row per event, with its
-- state) left them, applied on top of migrations 1 and 2 by UpgradeTests.
-- Kept as text, not as a database file, so a reviewer can read what the
-- upgrade is tested against.
--
-- Meter a, 25 events: 19 sent, event 7 dead (400, "INVALID-7"), 3 never
-- tried, and 2 that a crashed drain held under a lease (claimed from
-- pending). Meter b, 10 events: all failed once, waiting for their retry,
-- and the meter paused.

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25)
INSERT INTO outbox_events (id, event_id, meter, body, state, attempts, next_attempt_at, lease_owner, claimed_from,
                           last_status, last_error, response_body, track_id, created_at, updated_at, sent_at, dead_at)
SELECT i,
       printf('0192a0b0-0000-7000-8000-%012d', i),
       'a',
       CAST(printf('{"EventId":"0192a0b0-0000-7000-8000-%012d","CustomerId":"%s","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}',
                   i, CASE WHEN i = 7 THEN 'INVALID-7' ELSE 'C-' || i END) AS BLOB),
       CASE WHEN i = 7 THEN 4 WHEN i <= 20 THEN 3 WHEN i <= 23 THEN 0 ELSE 1 END,
       0,
       CASE WHEN i > 23 THEN 1764410460000 ELSE 1764410400000 + i END,
       CASE WHEN i > 23 THEN 'crashed-drain' END,
       CASE WHEN i > 23 THEN 0 END,
       CASE WHEN i = 7 THEN 400 END,
       CASE WHEN i = 7 THEN 'INVALID_CUSTOMER: no account for INVALID-7' END,
       CASE WHEN i = 7 THEN '{"success":false,"reasons":[{"code":"INVALID_CUSTOMER","message":"no account for INVALID-7"}]}' END,
       CASE WHEN i <= 20 THEN 'track-1' END,
       1764410400000 + i,
       1764410400500 + i,
       CASE WHEN i <= 20 AND i <> 7 THEN 1764410400500 + i END,
       CASE WHEN i = 7 THEN 1764410400500 + i END
FROM n;

WITH RECURSIVE n(i) AS (SELECT 26 UNION ALL SELECT i + 1 FROM n WHERE i < 35)
INSERT INTO outbox_events (id, event_id, meter, body, state, attempts, next_attempt_at, last_status, last_error,
                           track_id, created_at, updated_at)
SELECT i,
       printf('0192a0b0-0000-7000-8000-%012d', i),
       'b',
       CAST(printf('{"EventId":"0192a0b0-0000-7000-8000-%012d","CustomerId":"C-%d","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}', i, i) AS BLOB),
       2, 1, 1764410500000, 503, 'HTTP 503 from Zuora', 'track-2',
       1764410400000 + i, 1764410400600 + i
FROM n;

INSERT INTO outbox_meters (meter, appended, pending, inflight, failed, sent, dead, purged,
                           last_status, last_error, last_error_at, last_success_at, paused, pause_reason, paused_at)
VALUES ('a', 25, 3, 2, 0, 19, 1, 0, 400, 'INVALID_CUSTOMER: no account for INVALID-7', 1764410400507, 1764410400520, 0, NULL, NULL),
       ('b', 10, 0, 0, 10, 0, 0, 0, 503, 'HTTP 503 from Zuora', 1764410400635, NULL, 1, 'fixture', 1764410400700);
