import Foundation
import PostgresNIO
import Synchronization
import Testing

@testable import OutboxCore
@testable import OutboxPostgres
@testable import UsageOutbox

/// A database written by the release before ranges (schema 2: one row per
/// event, with its state) opens, migrates in place, and keeps every event:
/// pending, in flight (given back), failed, sent and dead. The rows are
/// those that release's own binary wrote (`scripts/make-upgrade-fixture`),
/// on each store.
struct UpgradeTests {
    @Test(arguments: StoreKind.available)
    func aSchema2DatabaseMigratesKeepingEveryEvent(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        try await Self.writeSchema2Database(place)
        let store = try await place.open()
        try await place.using(store) {
            let status = try await store.status()
            // Meter a: 19 sent, 1 dead, 3 pending and 2 that a killed drain held (back to pending).
            #expect(status.meters["a"]?.counts == StateCounts(appended: 25, pending: 5, sent: 19, dead: 1))
            // Meter b: 10 failed, waiting for their retry, and still paused.
            #expect(status.meters["b"]?.counts == StateCounts(appended: 10, failed: 10))
            #expect(status.meters["b"]?.pause?.reason == "fixture")
            #expect(try await store.verify().isOK)
            let letters = try await store.deadLetters(meter: "a", deadBefore: nil, limit: 10)
            #expect(letters.count == 1 && letters.first?.status == 400 && letters.first?.event.contains("INVALID-7") == true)
            // The backlog of never-tried events (the last 3) stays in the log,
            // claimed as a range; only the 2 a killed drain held and meter b's
            // 10 failed ones became retry rows.
            #expect(try await Self.retryRows(place) == 12)
            // Schema 8: the retry rows' tries start from the attempts they
            // knew; the dead letter has no history yet.
            #expect(try await Self.count("SELECT count(*) FROM outbox_retries WHERE attempts > 0", in: place) > 0)
            #expect(try await Self.count("SELECT count(*) FROM outbox_retries WHERE tries <> attempts", in: place) == 0)
            #expect(try await store.deadLetter(id: letters[0].id)?.history == [])
            // What was pending or in flight is claimed, each event once, the texts as appended.
            var claims: [Claim] = []
            while let claim = try await store.claim(meter: "a", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000) {
                claims.append(claim)
                if claims.count > 5 { break }
            }
            let waiting = claims.flatMap(\.events)
            #expect(waiting.count == 5 && Set(waiting.map(\.rowID)).count == 5)
            #expect(waiting.allSatisfy { String(decoding: $0.body, as: UTF8.self).hasPrefix(#"{"EventId":""#) })
            // New appends continue the log.
            let new = try await store.append(jsonEvents: [StoreBehaviourTests.event("new")], meter: "a")
            let next = try #require(try await store.claim(meter: "a", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(next.events.map(\.eventID) == [new[0].value])
            #expect(try await store.verify().isOK)
            // Once sent, the upgraded events (which have no range) are deleted by retention like the rest.
            for taken in claims + [next] {
                let sent = Settlement(
                    meter: "a", rows: taken.events.map { .init(rowID: $0.rowID, outcome: .sent) }, record: .init(), meterFailure: nil, isSuccess: true)
                _ = try await store.settle(sent, token: taken.token)
            }
            #expect(try await store.purgeSent(before: WallClock.nowMilliseconds() + 60_000).purged == 25)
            #expect(try await store.status().meters["a"]?.counts == StateCounts(appended: 26, dead: 1, purged: 25))
            #expect(try await store.verify().isOK)
        }
    }

    /// Producers of the previous release keep inserting while `migrate`
    /// runs (the README says to stop the drains, not the producers): every
    /// insert they saw committed must be in the upgraded log, and the rest
    /// must have failed (the old table is gone), never vanished.
    @Test func oldProducersCommittingDuringTheUpgradeLoseNothing() async throws {
        guard StoreKind.postgresURL != nil else { return }
        let place = try await TestStore.make(.postgres)
        try await Self.writeSchema2Database(place)
        let acknowledged = Acknowledged()
        try await TestStore.admin(place.location) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for producer in 0..<4 {
                    group.addTask {
                        var sequence = 0
                        var failures = 0
                        // Bounded: each producer stops at its first failure
                        // (the table is gone) or after 20,000 inserts.
                        while sequence < 20_000 {
                            sequence += 1
                            let eventID = "old-\(producer)-\(sequence)"
                            let body = #"{"CustomerId":"\#(eventID)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
                            do {
                                try await client.withTransaction(logger: PostgresLogOrderTests.logger) { connection in
                                    try await connection.query(
                                        """
                                        INSERT INTO outbox_events (event_id, meter, body, next_attempt_at, created_at, updated_at)
                                        VALUES (\(eventID), 'a', \(body), 0, 0, 0)
                                        """, logger: PostgresLogOrderTests.logger)
                                    try await connection.query(
                                        """
                                        INSERT INTO outbox_meter_counters (meter, shard, appended, pending) VALUES ('a', (pg_backend_pid() % 16)::smallint, 1, 1)
                                        ON CONFLICT (meter, shard) DO UPDATE SET appended = outbox_meter_counters.appended + 1,
                                            pending = outbox_meter_counters.pending + 1
                                        """, logger: PostgresLogOrderTests.logger)
                                }
                                acknowledged.ids.withLock { _ = $0.insert(eventID) }
                            } catch {
                                if acknowledged.migrated.load(ordering: .acquiring) { return }
                                // Before the upgrade a failure is the server's
                                // (a busy suite): note it, and try again shortly
                                // rather than spend the producer's inserts.
                                acknowledged.firstFailure.withLock { $0 = $0 ?? "\(String(reflecting: error))" }
                                failures += 1
                                if failures > 3000 { return }  // about a minute of failures
                                try? await Task.sleep(for: .milliseconds(20))
                            }
                        }
                    }
                }
                try await waitUntil(
                    "the old producers are committing (first failure: \(acknowledged.firstFailure.withLock { $0 } ?? "none"))", timeout: .seconds(60)
                ) { acknowledged.ids.withLock { $0.count } >= 200 }
                let store = try await place.open()
                acknowledged.migrated.store(true, ordering: .releasing)
                await store.close()
                try await group.waitForAll()
            }
        }
        let store = try await place.open()
        try await place.using(store) {
            let stored = try await Self.logEventIDs(place)
            let lost = acknowledged.ids.withLock { $0 }.subtracting(stored)
            #expect(lost.isEmpty, "\(lost.count) inserts committed by old producers were lost by the upgrade")
            #expect(try await store.verify().isOK)
        }
    }

    final class Acknowledged: Sendable {
        let ids = Mutex<Set<String>>([])
        let migrated = Atomic<Bool>(false)
        let firstFailure = Mutex<String?>(nil)
    }

    static func logEventIDs(_ place: TestStore) async throws -> Set<String> {
        var ids = Set<String>()
        try await TestStore.admin(place.location) { client in
            for try await id in try await client.query("SELECT event_id FROM outbox_log").decode(String.self) { ids.insert(id) }
        }
        return ids
    }

    /// Migrations 1 and 2, then the rows of `Fixtures/<store>-schema-v2-rows.sql`.
    static func writeSchema2Database(_ place: TestStore) async throws {
        let fixture = try #require(Bundle.module.url(forResource: "\(place.kind.rawValue)-schema-v2-rows", withExtension: "sql", subdirectory: "Fixtures"))
        let rows = try String(contentsOf: fixture, encoding: .utf8)
        switch place.kind {
        case .sqlite:
            let connection = try SQLiteConnection(path: place.location)
            try connection.execute("PRAGMA journal_mode = WAL")
            try DatabaseSetup.migrate(connection, path: place.location, migrations: Array(Migration.embedded.prefix(2)))
            try connection.execute(rows)
        case .postgres:
            try await TestStore.admin(place.location) { client in
                try await client.query(
                    "CREATE TABLE outbox_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")
                for migration in PostgresSchema.migrations.prefix(2) {
                    for statement in migration.statements { try await client.query(PostgresQuery(unsafeSQL: statement)) }
                    try await client.query("INSERT INTO outbox_schema_migrations VALUES (\(migration.version), \(migration.name), 0)")
                }
                for statement in Migration(version: 0, name: "fixture", sql: rows).statements {
                    try await client.query(PostgresQuery(unsafeSQL: statement))
                }
            }
        }
    }

    /// An outbox of schema 7 whose meter had purged events: purges were
    /// not told apart then, and `verify` says so; purges after the upgrade
    /// are counted as sent or dead.
    @Test(arguments: StoreKind.available)
    func purgesBeforeSchema8AreNotToldApart(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        switch kind {
        case .sqlite:
            let connection = try SQLiteConnection(path: place.location)
            try connection.execute("PRAGMA journal_mode = WAL")
            try DatabaseSetup.migrate(connection, path: place.location, migrations: Array(Migration.embedded.prefix(7)))
            try connection.execute("INSERT INTO outbox_meters (meter, appended, purged) VALUES ('m', 10, 10)")
        case .postgres:
            // As the release of schema 7 migrated: in one transaction.
            try await TestStore.admin(place.location) { client in
                try await client.withTransaction(logger: PostgresLogOrderTests.logger) { connection in
                    let logger = PostgresLogOrderTests.logger
                    try await connection.query(
                        "CREATE TABLE outbox_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)", logger: logger)
                    for migration in PostgresSchema.migrations.prefix(7) {
                        for statement in migration.statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                        try await connection.query("INSERT INTO outbox_schema_migrations VALUES (\(migration.version), \(migration.name), 0)", logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO outbox_meter_counters (meter, shard, appended, purged) VALUES ('m', 3, 10, 10)", logger: logger)
                }
            }
        }
        let store = try await place.open()
        try await place.using(store) {
            let before = try #require(try await store.verify().meters.first { $0.meter == "m" })
            #expect(before.problems.isEmpty)
            #expect(before.purgedBeforeSplit == 10 && before.purgedSent == 0 && before.counters.purgedDead == 0)
            _ = try await store.append(jsonEvents: [StoreBehaviourTests.event("A"), StoreBehaviourTests.event("B")], meter: "m")
            let claim = try #require(try await store.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            let plan = Settlement(
                meter: "m",
                rows: [.init(rowID: claim.events[0].rowID, outcome: .sent), .init(rowID: claim.events[1].rowID, outcome: .dead(reason: "bad", attempts: 0))],
                record: .init(status: 400), meterFailure: nil, isSuccess: false)
            _ = try await store.settle(plan, token: claim.token)
            #expect(try await store.purgeDeadLetters(.all) == 1)
            #expect(try await store.purgeSent(before: Int64.max).purged == 1)
            let after = try #require(try await store.verify().meters.first { $0.meter == "m" })
            #expect(after.problems.isEmpty)
            #expect(after.counters.purged == 12 && after.purgedBeforeSplit == 10 && after.purgedSent == 1 && after.counters.purgedDead == 1)
        }
    }

    /// The first column of the first row of `sql`, read beside the store.
    static func count(_ sql: String, in place: TestStore) async throws -> Int {
        switch place.kind {
        case .sqlite:
            return Int(try SQLiteConnection(path: place.location).scalarInt(sql) ?? -1)
        case .postgres:
            var count = -1
            try await TestStore.admin(place.location) { client in
                for try await rows in try await client.query(PostgresQuery(unsafeSQL: sql)).decode(Int64.self) { count = Int(rows) }
            }
            return count
        }
    }

    static func retryRows(_ place: TestStore) async throws -> Int {
        try await count("SELECT count(*) FROM outbox_retries", in: place)
    }
}
