import Foundation
import Logging
import NIOSSL
import OutboxCore
import PostgresNIO
import Synchronization

/// The outbox on PostgreSQL: the same model, contract and guarantees as the
/// SQLite `Outbox`, for apps whose hosts share one database. Any number of
/// `outbox drain` workers on any hosts can share the queue: a claim takes
/// the next range of a meter's events under a short lock on its position,
/// with a lease, and a dead worker's range is taken over when it lapses.
///
/// ```swift
/// let outbox = try await PostgresOutbox.open(url: "postgres://app@db.internal/app", password: secret)
/// try await outbox.append(event, meter: "api-calls")
/// // Or in one transaction with your business change:
/// try await outbox.write { connection in
///     try await connection.query("INSERT INTO orders ...")
///     try await outbox.append(jsonEvents: [json], meter: "orders", on: connection)
/// }
/// ```
public final class PostgresOutbox: OutboxStore, DispatchStore, ReconcileStore, Sendable {
    public let client: PostgresClient
    public let location: String
    let eventIdField: String?
    /// The largest event accepted (`EventSizeLimit`).
    let maxEventBytes: Int
    let ids = EventIDGenerator()
    let logger: Logger
    /// How long a claim waits for events that running transactions hold
    /// back before it answers that there is nothing to claim yet.
    let heldBackWait: Duration
    private let runner: Task<Void, Never>
    let signal: AppendSignal
    let appends: AppendBatcher

    private init(client: PostgresClient, location: String, eventIdField: String?, maxEventBytes: Int, heldBackWait: Duration, logger: Logger) {
        self.client = client
        self.heldBackWait = heldBackWait
        self.location = location
        self.eventIdField = eventIdField
        self.maxEventBytes = maxEventBytes
        self.logger = logger
        runner = Task { await client.run() }
        appends = AppendBatcher()
        signal = AppendSignal()
    }

    /// Connects (pooled), and creates or upgrades the schema.
    public static func open(
        url: String, password: String?, eventIdField: String? = nil, maxEventBytes: Int = EventSizeLimit.default,
        logger: Logger = Logger(label: "outbox.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws -> PostgresOutbox {
        try await open(url: url, password: password, eventIdField: eventIdField, maxEventBytes: maxEventBytes, heldBackWait: .milliseconds(500), logger: logger)
    }

    /// `heldBackWait`: tests that share one server with many concurrent
    /// schema changes wait longer for their own events to become final.
    static func open(
        url: String, password: String?, eventIdField: String?, maxEventBytes: Int = EventSizeLimit.default, heldBackWait: Duration, logger: Logger
    ) async throws -> PostgresOutbox {
        guard (1...EventSizeLimit.ceiling).contains(maxEventBytes) else {
            throw OutboxError(.invalidConfiguration, "the largest event must be between 1 and \(EventSizeLimit.ceiling) bytes (Zuora's 4 MiB request, less 2)")
        }
        if let eventIdField { try EventIDFieldName.validate(eventIdField) }
        let place = try PostgresLocation(url: url)
        // An explicit password wins over one inside the URL.
        let password = password ?? place.password
        // One direct connection first: a wrong host, port, password or
        // database fails here at once, where the pool would keep retrying.
        do {
            let probe = try await PostgresConnection.connect(configuration: place.connectionConfiguration(password: password), id: 0, logger: logger)
            try await probe.close()
        } catch {
            throw Self.openingError(error, location: place.description)
        }
        let client = PostgresClient(configuration: place.clientConfiguration(password: password), backgroundLogger: logger)
        let outbox = PostgresOutbox(
            client: client, location: place.description, eventIdField: eventIdField, maxEventBytes: maxEventBytes, heldBackWait: heldBackWait, logger: logger)
        do {
            try await outbox.migrate()
        } catch {
            await outbox.close()
            throw outbox.translate(error, opening: true)
        }
        return outbox
    }

    public func close() async {
        signal.finishAll()
        runner.cancel()
        _ = await runner.value
    }

    /// Yields after this process's appends commit: plain appends, and
    /// `write { }` transactions. An append on a connection of the caller's
    /// own (`append(…, on:)` inside `client.withTransaction`) cannot see its
    /// commit, so it wakes nobody; the dispatcher's poll finds it.
    public func appendNotifications() -> AsyncStream<Void> { signal.stream() }

    func notifyAppended() { signal.notify() }

    // MARK: Schema

    static let lockKey: Int64 = 0x6F75_7462_6F78  // "outbox": serializes migrations across hosts

    func migrate(_ migrations: [Migration] = PostgresSchema.migrations) async throws {
        let latest = migrations.last?.version ?? 0
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS outbox_schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
                """, logger: logger)
            var current = 0
            for try await version in try await connection.query("SELECT coalesce(max(version), 0) FROM outbox_schema_migrations", logger: logger).decode(
                Int.self)
            {
                current = version
            }
            if current > latest {
                throw OutboxError(
                    .schemaTooNew, "\(location) has schema version \(current), newer than this outbox knows (\(latest))",
                    hint: "run a newer outbox binary against this database")
            }
            for migration in migrations where migration.version > current {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                let now = WallClock.nowMilliseconds()
                try await connection.query(
                    "INSERT INTO outbox_schema_migrations (version, name, applied_at) VALUES (\(migration.version), \(migration.name), \(now))", logger: logger)
            }
            if migrations.contains(where: { $0.version == 4 }) {
                try await PostgresLogEpoch.repairIfRestored(on: connection, logger: logger)
            }
        }
    }

    // MARK: Running queries

    /// Runs `body` in a transaction; errors become `OutboxError`s a person can act on.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> sending T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger, body)
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError { throw translate(inner) }
            throw translate(error.commitError ?? error.beginError ?? error)
        } catch {
            throw translate(error)
        }
    }

    func read<T: Sendable>(_ body: (PostgresConnection) async throws -> sending T) async throws -> T {
        do {
            return try await client.withConnection(body)
        } catch {
            throw translate(error)
        }
    }

    static func openingError(_ error: Error, location: String) -> OutboxError {
        if let error = error as? OutboxError { return error }
        if let error = error as? PSQLError, let info = error.serverInfo {
            let state = info[.sqlState] ?? "-"
            let message = info[.message] ?? "refused"
            if state == "3D000" {
                return OutboxError(.cannotOpen, "the database in \(location) does not exist", hint: "create it, or fix the URL")
            }
            return OutboxError(
                .cannotOpen, "PostgreSQL refused the connection to \(location) (SQLSTATE \(state)): \(message)",
                hint: "check the user in the URL and OUTBOX_DB_PASSWORD / PGPASSWORD")
        }
        if let tls = tlsFailure(error) {
            return OutboxError(
                .cannotOpen, "the TLS handshake with the PostgreSQL server at \(location) failed: \(tls)",
                hint: "check the server's certificate, the URL's sslmode (verify-full, verify-ca, require) and sslrootcert (a PEM of the CA to trust)")
        }
        return OutboxError(
            .cannotOpen, "cannot connect to the PostgreSQL outbox at \(location)",
            hint: "check the host and port, that the server runs and accepts TCP connections (sslmode in the URL)")
    }

    /// What went wrong with TLS, when a connection failed for it.
    static func tlsFailure(_ error: Error) -> String? {
        if let psql = error as? PSQLError {
            if psql.code == .sslUnsupported { return "the server does not offer TLS (use sslmode=disable only on a trusted network)" }
            if psql.code == .failedToAddSSLHandler { return "the TLS settings could not be used" }
            if let underlying = psql.underlying { return tlsFailure(underlying) }
            return nil
        }
        if error is NIOSSLError || error is BoringSSLError { return "\(error)" }
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("handshake") || text.contains("NIOSSL") { return text }
        return nil
    }

    func translate(_ error: Error, opening: Bool = false) -> Error {
        if error is OutboxError { return error }
        if let error = error as? PostgresTransactionError {
            return translate(error.closureError ?? error.commitError ?? error.beginError ?? error, opening: opening)
        }
        if let error = error as? PSQLError {
            let message = error.serverInfo?[.message] ?? "\(error.code)"
            let state = error.serverInfo?[.sqlState] ?? "-"
            if error.serverInfo == nil {
                if let tls = Self.tlsFailure(error) {
                    return OutboxError(
                        .cannotOpen, "the TLS handshake with the PostgreSQL server at \(location) failed: \(tls)",
                        hint: "check the server's certificate, the URL's sslmode and sslrootcert")
                }
                return OutboxError(
                    .cannotOpen, "cannot reach the PostgreSQL outbox at \(location): \(error.code)",
                    hint: "check the host and port, that the server runs, and the password (OUTBOX_DB_PASSWORD)")
            }
            if state == "28P01" || state == "28000" {
                return OutboxError(
                    .cannotOpen, "PostgreSQL refused the login to \(location): \(message)",
                    hint: "check the user in the URL and OUTBOX_DB_PASSWORD / PGPASSWORD")
            }
            if state == "3D000" {
                return OutboxError(.cannotOpen, "the database in \(location) does not exist", hint: "create it, or fix the URL")
            }
            if state.hasPrefix("23") {
                // Integrity constraints (unique, foreign key, check, not null):
                // the app's own write, with the same code SQLite's gets.
                return OutboxError.constraintViolation(message, underlying: error)
            }
            return OutboxError(.storage, "PostgreSQL error on \(location) (SQLSTATE \(state)): \(message)")
        }
        return error
    }

    /// Runs `body` in one transaction on a pooled connection: the app's own
    /// statements and `append(jsonEvents:meter:on:)` commit together, or,
    /// when `body` throws, neither does. Errors come back as `OutboxError`s
    /// (a broken constraint as `.constraintViolation`, as on SQLite). After
    /// the commit (never before, and not after a rollback) it wakes a
    /// dispatcher running in this process.
    public func write<T: Sendable>(_ body: (PostgresConnection) async throws -> sending T) async throws -> T {
        let result = try await transaction(body)
        notifyAppended()
        return result
    }

    // MARK: Counters

    /// Adds `delta` to one of the meter's 16 counter shards, in the caller's
    /// transaction. The shard is the connection's (its backend pid), so every
    /// change a transaction makes lands on one shard per meter: two
    /// transactions never take two shards in opposite orders (a deadlock
    /// that random shards allowed). Callers touching several meters go in
    /// meter order.
    static func adjust(_ delta: StateCounts, meter: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard !delta.isZero else { return }
        try await connection.query(
            """
            INSERT INTO outbox_meter_counters (meter, shard, appended, pending, inflight, failed, sent, dead, purged, purged_dead)
            VALUES (\(meter), (pg_backend_pid() % 16)::smallint, \(Int64(delta.appended)), \(Int64(delta.pending)), \(Int64(delta.inflight)),
                    \(Int64(delta.failed)), \(Int64(delta.sent)), \(Int64(delta.dead)), \(Int64(delta.purged)), \(Int64(delta.purgedDead)))
            ON CONFLICT (meter, shard) DO UPDATE SET
                appended = outbox_meter_counters.appended + excluded.appended,
                pending = outbox_meter_counters.pending + excluded.pending,
                inflight = outbox_meter_counters.inflight + excluded.inflight,
                failed = outbox_meter_counters.failed + excluded.failed,
                sent = outbox_meter_counters.sent + excluded.sent,
                dead = outbox_meter_counters.dead + excluded.dead,
                purged = outbox_meter_counters.purged + excluded.purged,
                purged_dead = outbox_meter_counters.purged_dead + excluded.purged_dead
            """, logger: logger)
    }
}
