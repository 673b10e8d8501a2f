import Foundation
import PostgresNIO
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

    static func retryRows(_ place: TestStore) async throws -> Int {
        switch place.kind {
        case .sqlite:
            return Int(try SQLiteConnection(path: place.location).scalarInt("SELECT count(*) FROM outbox_retries") ?? -1)
        case .postgres:
            var count = -1
            try await TestStore.admin(place.location) { client in
                for try await rows in try await client.query("SELECT count(*)::bigint FROM outbox_retries").decode(Int64.self) { count = Int(rows) }
            }
            return count
        }
    }
}
