import Dispatch
import Synchronization
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

    /// An app's write shares a group with an append that fails half-way
    /// (here a trigger of the app's refuses its rows). The app's closure must
    /// run once, and commit, not run again in the next group.
    @Test func anAppsClosureRunsOnceWhenAnotherWriteOfItsGroupFails() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/app.sqlite"
            let outbox = try await openAppDatabase(path)
            defer { outbox.close() }
            try await outbox.write { tx in
                try tx.execute("CREATE TRIGGER refuse_boom BEFORE INSERT ON outbox_log WHEN NEW.meter = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END")
            }
            // Hold the database thread so that both writes wait for one group.
            let held = DispatchSemaphore(value: 0)
            let holding = Task { try await outbox.database.withConnection { _ in held.wait() } }
            let runs = Atomic<Int>(0)
            let appWrite = Task {
                try await outbox.write { tx in
                    runs.add(1, ordering: .relaxed)
                    try tx.execute("INSERT INTO orders (id, customer) VALUES ('o-1', 'C-1')")
                }
            }
            try await waitUntilTrue { outbox.database.waitingWrites == 1 }
            let failing = Task { try await outbox.append(sampleEvent("C-2"), meter: "boom") }
            try await waitUntilTrue { outbox.database.waitingWrites == 2 }
            held.signal()
            try await holding.value
            try await appWrite.value
            await #expect(throws: (any Error).self) { try await failing.value }
            #expect(runs.load(ordering: .relaxed) == 1, "the app's closure ran again")
            #expect(try SQLiteConnection(path: path).scalarInt("SELECT count(*) FROM orders") == 1)
            #expect(try await outbox.verify().isOK)
        }
    }
}

/// Waits (bounded) for a condition that another thread makes true.
func waitUntilTrue(timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw CancellationError() }
        try await Task.sleep(for: .milliseconds(1))
    }
}
