import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// The transactional outbox: the app's own rows and its usage events commit
/// or roll back together, on one database file.
struct TransactionalAppendTests {
    func openAppDatabase(_ path: String) async throws -> Outbox {
        // The app's schema exists before the outbox is added to the file.
        let app = try SQLiteConnection(path: path)
        try app.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, customer TEXT NOT NULL)")
        return try Outbox(OutboxConfiguration(path: path, allowForeignTables: true))
    }

    @Test func commitsTheAppsRowAndTheEventTogether() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/app.sqlite"
            let outbox = try await openAppDatabase(path)
            try await outbox.write { tx in
                try tx.execute("INSERT INTO orders (id, customer) VALUES (?1, ?2)", "o-1", "C-9")
                try tx.append(sampleEvent("C-9"), meter: "orders")
            }
            let check = try SQLiteConnection(path: path)
            #expect(try check.scalarInt("SELECT count(*) FROM orders") == 1)
            #expect(try check.scalarInt("SELECT count(*) FROM outbox_log WHERE meter = 'orders'") == 1)
        }
    }

    @Test func rollsBackTheAppsRowAndTheEventTogether() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/app.sqlite"
            let outbox = try await openAppDatabase(path)
            struct PaymentDeclined: Error {}
            await #expect(throws: PaymentDeclined.self) {
                try await outbox.write { tx in
                    try tx.execute("INSERT INTO orders (id, customer) VALUES (?1, ?2)", "o-2", "C-9")
                    try tx.append(sampleEvent("C-9"), meter: "orders")
                    throw PaymentDeclined()
                }
            }
            // A constraint failure in the app's own SQL also takes the event with it.
            try await outbox.write { tx in try tx.execute("INSERT INTO orders (id, customer) VALUES ('o-3', 'C-1')") }
            let broken = await #expect(throws: OutboxError.self) {
                try await outbox.write { tx in
                    try tx.append(sampleEvent("C-1"), meter: "orders")
                    try tx.execute("INSERT INTO orders (id, customer) VALUES ('o-3', 'dup')")
                }
            }
            #expect(broken?.code == .constraintViolation && broken?.underlying is SQLiteError)
            let check = try SQLiteConnection(path: path)
            #expect(try check.scalarInt("SELECT count(*) FROM orders") == 1)
            #expect(try check.scalarInt("SELECT count(*) FROM outbox_log") == 0)
            #expect(try await outbox.status().totals.appended == 0)
        }
    }

    @Test func refusesAnotherAppsDatabaseUnlessAskedTo() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/app.sqlite"
            try SQLiteConnection(path: path).execute("CREATE TABLE users (id INTEGER)")
            let error = #expect(throws: OutboxError.self) { try Outbox(path: path) }
            #expect(error?.code == .notAnOutbox)
            _ = try Outbox(OutboxConfiguration(path: path, allowForeignTables: true))
            // Once the outbox tables are there, it opens like any outbox.
            _ = try Outbox(path: path)
        }
    }
}
