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

    /// A database written by the release before ranges (schema 2: a row
    /// per event, with its state, and counters in shards) migrates in place
    /// and keeps every event: pending, in flight (given back), failed, sent
    /// and dead.
    @Test func aSchema2DatabaseMigratesKeepingEveryEvent() async throws {
        guard StoreKind.postgresURL != nil else { return }
        let place = try await TestStore.make(.postgres)
        // The rows that release's own binary wrote (scripts/make-upgrade-fixture).
        let fixture = try #require(Bundle.module.url(forResource: "postgres-schema-v2-rows", withExtension: "sql", subdirectory: "Fixtures"))
        let rows = Migration(version: 0, name: "fixture", sql: try String(contentsOf: fixture, encoding: .utf8))
        try await TestStore.admin(place.location) { client in
            try await client.query("CREATE TABLE outbox_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")
            for migration in PostgresSchema.migrations.prefix(2) {
                for statement in migration.statements { try await client.query(PostgresQuery(unsafeSQL: statement)) }
                try await client.query("INSERT INTO outbox_schema_migrations VALUES (\(migration.version), \(migration.name), 0)")
            }
            for statement in rows.statements { try await client.query(PostgresQuery(unsafeSQL: statement)) }
        }
        let outbox = try await TestStore.openPostgres(place.location)
        try await Self.closing(outbox, place) {
            let status = try await outbox.status(now: WallClock.nowMilliseconds())
            // Meter a: 19 sent, 1 dead, 3 pending and 2 that a killed drain held (back to pending).
            #expect(status.meters["a"]?.counts == StateCounts(appended: 25, pending: 5, sent: 19, dead: 1))
            // Meter b: 10 failed, waiting for their retry, and still paused.
            #expect(status.meters["b"]?.counts == StateCounts(appended: 10, failed: 10))
            #expect(status.meters["b"]?.pause?.reason == "fixture")
            #expect(try await outbox.verify().isOK)
            let letters = try await outbox.deadLetters(meter: "a", deadBefore: nil, limit: 10)
            #expect(letters.count == 1 && letters.first?.status == 400 && letters.first?.event.contains("INVALID-7") == true)
            // The backlog of never-tried events (the last 3) stays in the log,
            // claimed as a range; only the 2 a killed drain held and meter b's
            // 10 failed ones became retry rows.
            var retryRows = 0
            try await TestStore.admin(place.location) { client in
                for try await count in try await client.query("SELECT count(*)::bigint FROM outbox_retries").decode(Int64.self) { retryRows = Int(count) }
            }
            #expect(retryRows == 12)
            // What was pending or in flight is claimed, each event once.
            var claims: [Claim] = []
            while let claim = try await outbox.claim(meter: "a", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000) {
                claims.append(claim)
                if claims.count > 5 { break }
            }
            let waiting = claims.flatMap(\.events)
            #expect(waiting.count == 5 && Set(waiting.map(\.rowID)).count == 5)
            // New appends continue the log.
            let new = try await outbox.append(jsonEvents: [Self.event("new")], meter: "a")
            let next = try #require(try await outbox.claim(meter: "a", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(next.events.map(\.eventID) == [new[0].value])
            #expect(try await outbox.verify().isOK)
            // Once sent, the upgraded events (which have no range) are deleted by retention like the rest.
            for taken in claims + [next] {
                let sent = Settlement(
                    meter: "a", rows: taken.events.map { .init(rowID: $0.rowID, outcome: .sent) }, record: .init(), meterFailure: nil, isSuccess: true)
                _ = try await outbox.settle(sent, token: taken.token)
            }
            #expect(try await outbox.purgeSent(before: WallClock.nowMilliseconds() + 60_000).purged == 25)
            #expect(try await outbox.status(now: WallClock.nowMilliseconds()).meters["a"]?.counts == StateCounts(appended: 26, dead: 1, purged: 25))
            #expect(try await outbox.verify().isOK)
        }
    }
}
