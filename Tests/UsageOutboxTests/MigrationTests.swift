import Foundation
import Testing

@testable import OutboxCore
@testable import UsageOutbox

struct MigrationTests {
    /// `migrations/` is the source of truth; the embedded copy must match it.
    @Test func embeddedMigrationsMatchTheMigrationsDirectory() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(files.count == Migration.embedded.count, "run scripts/embed-migrations")
        for (file, migration) in zip(files, Migration.embedded) {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            let expectedName = String(format: "%04d_%@.sql", migration.version, migration.name)
            #expect(file == expectedName)
            #expect(
                text.trimmingCharacters(in: .newlines) == migration.sql.trimmingCharacters(in: .newlines),
                "\(file) differs from its embedded copy: run scripts/embed-migrations")
        }
        #expect(Migration.embedded.map(\.version) == Array(1...Migration.embedded.count))
    }

    @Test func recordsAppliedVersionsAndMigratesOnce() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            _ = try Outbox(path: path)
            _ = try Outbox(path: path)
            let connection = try SQLiteConnection(path: path)
            #expect(try connection.scalarInt("SELECT count(*) FROM outbox_schema_migrations") == Int64(Migration.embedded.count))
            #expect(try connection.scalarString("PRAGMA journal_mode") == "wal")
            #expect(try connection.scalarInt("PRAGMA auto_vacuum") == 2)
        }
    }

    /// A schema-3 file whose newest events retention already deleted, and
    /// where an id was already reused: the upgrade gives the hidden event
    /// back and starts the id sequence above the meter's position, so the
    /// next append is claimed, not hidden behind it.
    @Test func upgradingAFileWhoseTailWasPurgedStartsIdsAboveEveryPosition() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            do {
                let connection = try SQLiteConnection(path: path)
                try connection.execute("PRAGMA journal_mode = WAL")
                try DatabaseSetup.migrate(connection, path: path, migrations: Array(Migration.embedded.prefix(3)))
                // Five events were appended, claimed, sent and purged (the
                // range that settled them went too); then the release of
                // schema 3 gave the next event id 1 again, behind the
                // position, where no claim would ever take it.
                try connection.execute(
                    "INSERT INTO outbox_meters (meter, appended, pending, purged, claimed_through, delivered_through) VALUES ('m', 6, 1, 5, 5, 5)")
                try connection.execute(
                    "INSERT INTO outbox_log (id, event_id, meter, body, created_at) VALUES (1, 'hidden', 'm', ?1, 1)", .text(sampleJSON("hidden")))
            }
            let outbox = try Outbox(path: path)
            defer { outbox.close() }
            #expect(try await outbox.verify().isOK, "the upgrade gives the hidden event back")
            _ = try await outbox.append(json: sampleJSON("after-upgrade"), meter: "m")
            var claimed: [Int64] = []
            while let claim = try await outbox.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000) {
                claimed += claim.events.map(\.rowID)
            }
            #expect(claimed.sorted() == [1, 6], "the hidden event, and a new one past every old id")
            #expect(try await outbox.verify().isOK)
        }
    }
}
