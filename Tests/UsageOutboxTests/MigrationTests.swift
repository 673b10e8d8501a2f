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
}
