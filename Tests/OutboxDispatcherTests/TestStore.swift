import Foundation
import Logging
import PostgresNIO
import Testing
import UsageOutbox

@testable import OutboxPostgres

/// The stores the shared behaviour suite runs against. PostgreSQL joins when
/// `OUTBOX_TEST_POSTGRES_URL` names a server (scripts/test starts a
/// throwaway one), and each test then gets a database of its own.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    static let postgresURL = ProcessInfo.processInfo.environment["OUTBOX_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    static var available: [StoreKind] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// CI sets `OUTBOX_REQUIRE_POSTGRES=1`: there, no PostgreSQL is a failure.
    static let postgresRequired = ProcessInfo.processInfo.environment["OUTBOX_REQUIRE_POSTGRES"] == "1"

    var testDescription: String { rawValue }
}

/// Where one test's outbox lives, and how to open and remove it.
struct TestStore: Sendable {
    let kind: StoreKind
    /// A file path (SQLite) or a postgres:// URL.
    let location: String
    private let directory: String?
    private let database: String?

    /// A new place; SQLite's directory under `parent` (the system's
    /// temporary directory by default).
    static func make(_ kind: StoreKind, under parent: String = NSTemporaryDirectory()) async throws -> TestStore {
        switch kind {
        case .sqlite:
            let directory = parent + (parent.hasSuffix("/") ? "" : "/") + "outbox-store-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return TestStore(kind: kind, location: directory + "/outbox.sqlite", directory: directory, database: nil)
        case .postgres:
            let base = try #require(StoreKind.postgresURL)
            let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            try await TestStore.admin(base) { client in
                try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            }
            var components = URLComponents(string: base)!
            components.path = "/" + name
            return TestStore(kind: kind, location: components.string!, directory: nil, database: name)
        }
    }

    /// Opens a connection to the store. `clock` sets SQLite's stored times
    /// (PostgreSQL always uses the server's clock).
    func open(clock: any OutboxClock = SystemClock()) async throws -> any OperatedStore {
        switch kind {
        case .sqlite: try Outbox(OutboxConfiguration(path: location, clock: clock))
        case .postgres: try await TestStore.openPostgres(location)
        }
    }

    /// Opens the PostgreSQL outbox at `url`. A test's own writes (its
    /// migrations, a producer still committing) hold back the horizon below
    /// which its events are final (see PostgresRangeClaims); on a loaded
    /// machine they end late, so a test's claim waits longer for its own
    /// events than a dispatcher would.
    static func openPostgres(_ url: String, eventIdField: String? = nil) async throws -> PostgresOutbox {
        try await PostgresOutbox.open(
            url: url, password: nil, eventIdField: eventIdField, heldBackWait: .seconds(20),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// Runs `body`, then closes `store` and removes this place, also when
    /// `body` throws.
    func using(_ store: any OperatedStore, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            await store.close()
            await remove()
            throw error
        }
        await store.close()
        await remove()
    }

    func remove() async {
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        if let database, let base = StoreKind.postgresURL {
            try? await TestStore.admin(base) { client in
                try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database) WITH (FORCE)"))
            }
        }
    }

    /// Runs `body` with a client on the base database.
    static func admin(_ url: String, _ body: (PostgresClient) async throws -> Void) async throws {
        let place = try PostgresLocation(url: url)
        let client = PostgresClient(
            configuration: .init(
                host: place.host, port: place.port, username: place.username, password: nil,
                database: place.database, tls: .disable))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }
}
