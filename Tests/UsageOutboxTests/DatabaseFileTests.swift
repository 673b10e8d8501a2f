import Foundation
import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// What the outbox does with files that are not a healthy outbox.
struct DatabaseFileTests {
    @Test func createsTheFileWithMode0600() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            let outbox = try Outbox(path: path)
            try await outbox.append(sampleEvent(), meter: "m")
            for file in [path, path + "-wal", path + "-shm"] {
                let attributes = try FileManager.default.attributesOfItem(atPath: file)
                let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
                #expect(mode & 0o077 == 0, "\(file) has mode \(String(mode, radix: 8))")
            }
        }
    }

    @Test func setsUpAnEmptyFile() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/empty.sqlite"
            _ = FileManager.default.createFile(atPath: path, contents: Data())
            let outbox = try Outbox(path: path)
            try await outbox.append(sampleEvent(), meter: "m")
            #expect(try rowCount(path) == 1)
        }
    }

    @Test func refusesAFileThatIsNotSQLite() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/notes.txt"
            let original = Data(String(repeating: "these are my notes, not a database\n", count: 200).utf8)
            _ = FileManager.default.createFile(atPath: path, contents: original)
            let error = #expect(throws: OutboxError.self) { try Outbox(path: path) }
            #expect(error?.code == .corrupt)
            #expect(error?.isDatabaseFailure == true)
            #expect(error?.message.contains("not an SQLite database") == true)
            #expect(FileManager.default.contents(atPath: path) == original)
        }
    }

    @Test func refusesACorruptFile() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            do {
                let outbox = try Outbox(path: path)
                try await outbox.append(contentsOf: (0..<500).map { sampleEvent("C-\($0)") }, meter: "m")
                outbox.close()
            }
            // Checkpoint is done at close; damage the schema page's cells.
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            for offset in 100..<4096 { bytes[offset] = 0xA5 }
            try bytes.write(to: URL(fileURLWithPath: path))
            try? FileManager.default.removeItem(atPath: path + "-wal")
            try? FileManager.default.removeItem(atPath: path + "-shm")
            let error = #expect(throws: OutboxError.self) { try Outbox(path: path) }
            #expect(error?.code == .corrupt)
            #expect(error?.hint != nil)
        }
    }

    @Test func refusesASchemaNewerThanItKnows() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            _ = try Outbox(path: path)
            let connection = try SQLiteConnection(path: path)
            try connection.execute("INSERT INTO outbox_schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)")
            let error = #expect(throws: OutboxError.self) { try Outbox(path: path) }
            #expect(error?.code == .schemaTooNew)
            #expect(error?.message.contains("999") == true)
        }
    }

    @Test func reportsALockHeldPastTheBusyTimeout() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            let outbox = try Outbox(OutboxConfiguration(path: path, busyTimeout: .milliseconds(100)))
            let holder = try SQLiteConnection(path: path)
            try holder.execute("BEGIN IMMEDIATE")
            let error = await #expect(throws: OutboxError.self) { try await outbox.append(sampleEvent(), meter: "m") }
            #expect(error?.code == .locked)
            try holder.execute("ROLLBACK")
            try await outbox.append(sampleEvent(), meter: "m")
            #expect(try rowCount(path) == 1)
        }
    }

    @Test func reportsAMissingDirectory() throws {
        let error = #expect(throws: OutboxError.self) { try Outbox(path: "/nonexistent-dir-\(UUID().uuidString)/o.sqlite") }
        #expect(error?.isDatabaseFailure == true)
        #expect(error?.hint != nil)
    }
}
