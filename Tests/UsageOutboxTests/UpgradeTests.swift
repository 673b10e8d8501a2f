import Foundation
import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// A database written by the release before ranges (schema 2: one row per
/// event, with its state) opens, migrates in place, and keeps every event:
/// pending, in flight (given back), failed, sent and dead.
struct UpgradeTests {
    @Test func aSchema2DatabaseMigratesKeepingEveryEvent() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/old.sqlite"
            try writeSchema2Database(at: path)
            let outbox = try Outbox(path: path)
            defer { outbox.close() }
            let status = try await outbox.status()
            // Meter a: 19 sent, 1 dead, 3 pending and 2 that a crashed drain held (back to pending).
            #expect(status.meters["a"]?.counts == StateCounts(appended: 25, pending: 5, sent: 19, dead: 1))
            // Meter b: 10 failed, waiting for their retry, and still paused.
            #expect(status.meters["b"]?.counts == StateCounts(appended: 10, failed: 10))
            #expect(status.meters["b"]?.pause?.reason == "fixture")
            #expect(try await outbox.verify().isOK)
            let letters = try await outbox.deadLetters(meter: "a", deadBefore: nil, limit: 10)
            #expect(letters.count == 1 && letters[0].status == 400 && letters[0].event.contains("INVALID-7"))
            // The backlog of never-tried events (the last 3) stays in the log,
            // claimed as a range; only the 2 a killed drain held and meter b's
            // 10 failed ones became retry rows.
            let retryRows = try SQLiteConnection(path: path).scalarInt("SELECT count(*) FROM outbox_retries")
            #expect(retryRows == 12)
            // What was pending or in flight is claimed, each event once, the texts as appended.
            var claims: [Claim] = []
            while let claim = try await outbox.claim(meter: "a", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000) {
                claims.append(claim)
                if claims.count > 5 { break }
            }
            let waiting = claims.flatMap(\.events)
            #expect(waiting.count == 5 && Set(waiting.map(\.rowID)).count == 5)
            #expect(waiting.allSatisfy { String(decoding: $0.body, as: UTF8.self).hasPrefix(#"{"EventId":""#) })
            // New appends continue the log.
            try await outbox.append(json: sampleJSON("new"), meter: "a")
            let next = try #require(try await outbox.claim(meter: "a", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(next.events.count == 1 && next.events[0].rowID > waiting.map(\.rowID).max()!)
            #expect(try await outbox.verify().isOK)
            // Once sent, the upgraded events (which have no range) are deleted by retention like the rest.
            for taken in claims + [next] {
                let sent = Settlement(
                    meter: "a", rows: taken.events.map { .init(rowID: $0.rowID, outcome: .sent) }, record: .init(), meterFailure: nil, isSuccess: true)
                _ = try await outbox.settle(sent, token: taken.token)
            }
            #expect(try await outbox.purgeSent(before: WallClock.nowMilliseconds() + 60_000).purged == 25)
            #expect(try await outbox.status().meters["a"]?.counts == StateCounts(appended: 26, dead: 1, purged: 25))
            #expect(try await outbox.verify().isOK)
        }
    }

    /// A file as the release before ranges left it: migrations 1 and 2, then
    /// the rows that release's own binary wrote (`Fixtures/outbox-schema-v2-rows.sql`,
    /// made by `scripts/make-upgrade-fixture`).
    private func writeSchema2Database(at path: String) throws {
        let rows = try #require(Bundle.module.url(forResource: "outbox-schema-v2-rows", withExtension: "sql", subdirectory: "Fixtures"))
        let connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA journal_mode = WAL")
        try DatabaseSetup.migrate(connection, path: path, migrations: Array(Migration.embedded.prefix(2)))
        #expect(try DatabaseSetup.currentVersion(connection) == 2)
        try connection.execute(String(contentsOf: rows, encoding: .utf8))
    }
}
