import Foundation
import Logging
import PostgresNIO
import Testing

@testable import OutboxCore
@testable import OutboxPostgres

/// What is particular to PostgreSQL's log: ids are drawn at insert, not at
/// commit, so a claim takes only events that no running transaction can
/// still precede; and a schema-2 database upgrades in place.
struct PostgresLogOrderTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `body`, then closes the store and drops its database, also when
    /// `body` throws.
    static func closing(_ outbox: PostgresOutbox, _ place: TestStore, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            await outbox.close()
            await place.remove()
            throw error
        }
        await outbox.close()
        await place.remove()
    }

    static func event(_ customer: String) -> String {
        #"{"CustomerId":"\#(customer)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
    }

    /// An app's transaction appends first and commits last: the event
    /// appended and committed meanwhile must wait for it, or the claim would
    /// move the meter's position past an event that was not visible yet.
    @Test func anEventCommittedLateIsNeverLeftBehind() async throws {
        guard StoreKind.postgresURL != nil else { return }
        let place = try await TestStore.make(.postgres)
        let outbox = try await PostgresOutbox.open(url: place.location, password: nil, eventIdField: nil, heldBackWait: .zero, logger: Self.logger)
        try await Self.closing(outbox, place) {
            var early: [EventID] = []
            var late: [EventID] = []
            try await outbox.client.withTransaction(logger: Self.logger) { connection in
                early = try await outbox.append(jsonEvents: [Self.event("early")], meter: "m", on: connection)
                late = try await outbox.append(jsonEvents: [Self.event("late")], meter: "m")
                // The late event is committed, but the early one's
                // transaction is still running: nothing can be claimed yet.
                #expect(try await outbox.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000) == nil)
                #expect(try await outbox.nextDueDelay() == PostgresOutbox.heldBackPoll)
            }
            // Other tests' transactions may hold the horizon back a while:
            // claim through a store that waits for it.
            let patient = try await TestStore.openPostgres(place.location)
            var claimed: [String] = []
            while claimed.count < 2, let claim = try await patient.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000) {
                claimed += claim.events.map(\.eventID)
            }
            await patient.close()
            // Both, in the order their transactions began.
            #expect(claimed == [early[0].value, late[0].value])
            #expect(try await outbox.verify().isOK)
        }
    }

    /// A database written before ranges (schema 2: a row per event, with
    /// its state) migrates in place and keeps every event.
    @Test func aSchema2DatabaseMigratesKeepingEveryEvent() async throws {
        guard StoreKind.postgresURL != nil else { return }
        let place = try await TestStore.make(.postgres)
        try await TestStore.admin(place.location) { client in
            try await client.query("CREATE TABLE outbox_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")
            for migration in PostgresSchema.migrations.prefix(2) {
                for statement in migration.statements { try await client.query(PostgresQuery(unsafeSQL: statement)) }
                try await client.query("INSERT INTO outbox_schema_migrations VALUES (\(migration.version), \(migration.name), 0)")
            }
            // Meter a: 3 sent, 1 dead, 2 pending, 1 held by a crashed drain;
            // meter b: 2 failed, waiting for a retry, and paused.
            let rows: [(String, Int16, Int64?)] = [
                ("a", 3, nil), ("a", 3, nil), ("a", 4, nil), ("a", 3, nil), ("a", 0, nil), ("a", 1, 0), ("a", 0, nil), ("b", 2, nil), ("b", 2, nil),
            ]
            for (index, (meter, state, claimedFrom)) in rows.enumerated() {
                let body = #"{"EventId":"e-\#(index)","CustomerId":"C-\#(index)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
                let claimed = claimedFrom.map(Int16.init)
                try await client.query(
                    """
                    INSERT INTO outbox_events (event_id, meter, body, state, attempts, next_attempt_at, lease_owner, claimed_from, last_status,
                                               last_error, created_at, updated_at, sent_at, dead_at)
                    VALUES (\("e-\(index)"), \(meter), \(body), \(state), \(state == 2 ? Int32(1) : 0), \(state == 2 ? Int64(4_000_000_000_000) : 1000),
                            \(state == 1 ? "old-drain" : nil), \(claimed), \(state == 4 ? Int32(400) : nil), \(state == 4 ? "invalid" : nil),
                            1000, 1000, \(state == 3 ? Int64(1000) : nil), \(state == 4 ? Int64(1000) : nil))
                    """)
            }
            try await client.query(
                """
                INSERT INTO outbox_meter_counters (meter, shard, appended, pending, inflight, failed, sent, dead)
                VALUES ('a', 0, 7, 2, 1, 0, 3, 1), ('b', 0, 2, 0, 0, 2, 0, 0)
                """)
            try await client.query("INSERT INTO outbox_meters (meter, paused, pause_reason, paused_at) VALUES ('b', true, 'fixture', 1000)")
        }
        let outbox = try await TestStore.openPostgres(place.location)
        try await Self.closing(outbox, place) {
            let status = try await outbox.status(now: WallClock.nowMilliseconds())
            #expect(status.meters["a"]?.counts == StateCounts(appended: 7, pending: 3, sent: 3, dead: 1))
            #expect(status.meters["b"]?.counts == StateCounts(appended: 2, failed: 2))
            #expect(status.meters["b"]?.pause?.reason == "fixture")
            #expect(try await outbox.verify().isOK)
            let letters = try await outbox.deadLetters(meter: "a", deadBefore: nil, limit: 10)
            #expect(letters.map(\.id) == ["e-2"] && letters.first?.status == 400)
            // What was pending or in flight is claimed, each event once.
            let claim = try #require(try await outbox.claim(meter: "a", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(Set(claim.events.map(\.eventID)) == ["e-4", "e-5", "e-6"])
            #expect(try await outbox.claim(meter: "a", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000) == nil)
            // New appends continue the log.
            let new = try await outbox.append(jsonEvents: [Self.event("new")], meter: "a")
            let next = try #require(try await outbox.claim(meter: "a", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(next.events.map(\.eventID) == [new[0].value])
            #expect(try await outbox.verify().isOK)
        }
    }
}
