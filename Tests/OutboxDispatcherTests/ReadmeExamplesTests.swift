import Foundation
import Logging
import OutboxDispatcher
import OutboxPostgres
import PostgresNIO
import ServiceLifecycle
import Testing
import UsageOutbox

/// The README's library examples, as written there (each import as an app
/// would write it), run for real: a rename that breaks them fails the
/// build, and a behaviour that changes fails here.
struct ReadmeExamplesTests {
    @Test func embeddingAppendsTypedAndJSONEvents() async throws {
        let directory = NSTemporaryDirectory() + "outbox-readme-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let nowMs = WallClock.nowMilliseconds()

        let outbox = try Outbox(path: directory + "/outbox.sqlite")
        let id = try await outbox.append(
            UsageEvent(
                customerId: "A-1001", usageIdentifier: "api-calls",
                usageDate: UsageEvent.usageDate(unixMilliseconds: nowMs), quantity: 1,
                fields: ["region": "eu-west-1"]),
            meter: "api-calls")
        try await outbox.append(
            jsonEvents: [#"{"CustomerId":"A-1","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":3}"#],
            meter: "api-calls")
        #expect(!id.value.isEmpty)
        #expect(try await outbox.status().totals.pending == 2)
        let invalid = await #expect(throws: OutboxError.self) { try await outbox.append(json: #"{"CustomerId":""}"#, meter: "api-calls") }
        #expect(invalid?.code == .invalidInput && invalid?.problems.isEmpty == false)
        outbox.close()
    }

    /// The README's idempotent append: a retry reports its duplicates.
    @Test func idempotentAppendsReportDuplicates() async throws {
        let path = NSTemporaryDirectory() + "outbox-readme-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let outbox = try Outbox(OutboxConfiguration(path: path, eventIdField: "EventId"))
        let texts = (0..<1000).map { #"{"EventId":"e-\#($0 % 998)","CustomerId":"A","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"# }
        let result = try await outbox.appendReporting(jsonEvents: texts, meter: "api-calls")
        #expect(result.appended == 998 && result.duplicates == 2 && result.duplicatePositions == [998, 999])
        outbox.close()
    }

    @Test func theTransactionalOutboxCommitsTogether() async throws {
        let directory = NSTemporaryDirectory() + "outbox-readme-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (orderID, customer, date) = ("o-1", "C-1", "2026-11-29T10:00:00Z")

        let outbox = try Outbox(OutboxConfiguration(path: directory + "/app.sqlite", allowForeignTables: true))
        try await outbox.write { tx in try tx.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, customer TEXT)") }
        try await outbox.write { tx in
            try tx.execute("INSERT INTO orders (id, customer) VALUES (?1, ?2)", .text(orderID), .text(customer))
            try tx.append(
                UsageEvent(
                    customerId: customer, usageIdentifier: "orders",
                    usageDate: date, quantity: 1), meter: "orders")
        }
        #expect(try await outbox.status().totals.appended == 1)
        outbox.close()
    }

    /// The dispatcher example builds the same objects an app would; it runs
    /// against the mock elsewhere (DeliveryTests).
    @Test func theDispatcherExampleConfigures() async throws {
        let env = ["ZUORA_CLIENT_ID": "id", "ZUORA_CLIENT_SECRET": "secret"]
        let logger = Logger(label: "app")
        let outbox = try Outbox(path: NSTemporaryDirectory() + "outbox-readme-\(UUID().uuidString).sqlite")
        defer { outbox.close() }
        var settings = DispatcherConfiguration(
            baseURL: "https://rest.zuora.com",
            credentials: .oauth(clientID: env["ZUORA_CLIENT_ID"]!, clientSecret: Secret(env["ZUORA_CLIENT_SECRET"]!)),
            logger: logger)
        settings.maxAttempts = nil
        settings.lease = .seconds(60)
        let dispatcher = try Dispatcher(outbox: outbox, configuration: settings)
        _ = ServiceGroup(services: [dispatcher], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        #expect(dispatcher.configuration.environment == nil && dispatcher.configuration.effectiveMaxRequestsPerMinute == nil)
    }

    @Test func thePostgresExampleCommitsTogether() async throws {
        guard let base = StoreKind.postgresURL else { return }
        let place = try await TestStore.make(.postgres)
        defer { Task { await place.remove() } }
        _ = base
        let logger = Logger(label: "app")
        let env: [String: String] = [:]
        let (id, customer) = ("o-1", "C-1")
        let event = UsageEvent(customerId: customer, usageIdentifier: "orders", usageDate: "2026-11-29T10:00:00Z", quantity: 1)

        let outbox = try await PostgresOutbox.open(url: place.location, password: env["OUTBOX_DB_PASSWORD"])
        try await outbox.client.query("CREATE TABLE orders (id TEXT PRIMARY KEY, customer TEXT)", logger: logger)
        try await outbox.write { connection in
            try await connection.query("INSERT INTO orders (id, customer) VALUES (\(id), \(customer))", logger: logger)
            try await outbox.append(jsonEvents: [event.jsonText], meter: "orders", on: connection)
        }
        #expect(try await outbox.status().totals.appended == 1)
        await outbox.close()
    }

    /// The PostgreSQL DocC article's example (`OutboxPostgres.docc/PostgreSQL.md`):
    /// the app's row and its usage event commit in one `write`, or neither.
    @Test func thePostgresArticleExampleCommitsTogether() async throws {
        guard StoreKind.postgresURL != nil else { return }
        let place = try await TestStore.make(.postgres)
        defer { Task { await place.remove() } }
        let logger = Logger(label: "app")
        let password: String? = nil
        let (id, customer) = ("o-1", "C-1")
        let event = UsageEvent(customerId: customer, usageIdentifier: "orders", usageDate: "2026-11-29T10:00:00Z", quantity: 1)

        let outbox = try await PostgresOutbox.open(url: place.location, password: password)
        try await outbox.client.query("CREATE TABLE orders (id TEXT PRIMARY KEY, customer TEXT)", logger: logger)
        try await outbox.write { connection in
            try await connection.query("INSERT INTO orders (id, customer) VALUES (\(id), \(customer))", logger: logger)
            try await outbox.append(jsonEvents: [event.jsonText], meter: "orders", on: connection)
        }
        // The same order again breaks its key: the write rolls back, event included.
        let error = await #expect(throws: OutboxError.self) {
            try await outbox.write { connection in
                try await connection.query("INSERT INTO orders (id, customer) VALUES (\(id), \(customer))", logger: logger)
                try await outbox.append(jsonEvents: [event.jsonText], meter: "orders", on: connection)
            }
        }
        #expect(error?.code == .constraintViolation)
        #expect(try await outbox.status().totals.appended == 1)
        await outbox.close()
    }
}
