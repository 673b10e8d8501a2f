import Foundation
import Logging
import PostgresNIO

@testable import OutboxCore
@testable import OutboxPostgres
@testable import UsageOutbox

/// The store under test in a model run, and what only the test can do to
/// it: move its time on, reopen it, append inside an app's transaction.
final class ModelSubject {
    static let eventIdField = "EventId"
    /// Leases and retry delays: longer than any run takes in real time (on
    /// PostgreSQL they run on the server's clock), and shorter than a step
    /// of `advanceTime`.
    static let leaseMilliseconds: Int64 = 3_600_000
    static let advanceMilliseconds: Int64 = 7_200_000

    let place: TestStore
    /// SQLite's stored times (PostgreSQL's come from the server).
    let clock: ManualClock
    let defects: Set<InjectedDefect>
    private(set) var store: any OperatedStore

    private init(place: TestStore, clock: ManualClock, defects: Set<InjectedDefect>, store: any OperatedStore) {
        self.place = place
        self.clock = clock
        self.defects = defects
        self.store = store
    }

    /// A fresh store. SQLite files go to /dev/shm when there is one: the
    /// model checks the logic, and the power-cut harness the syncs.
    static func make(_ kind: StoreKind, defects: Set<InjectedDefect>) async throws -> ModelSubject {
        let place: TestStore
        if kind == .sqlite, FileManager.default.fileExists(atPath: "/dev/shm") {
            place = try await TestStore.make(kind, under: "/dev/shm")
        } else {
            place = try await TestStore.make(kind)
        }
        let clock = ManualClock()
        let store = try await open(place, clock: clock, defects: defects)
        return ModelSubject(place: place, clock: clock, defects: defects, store: store)
    }

    private static func open(_ place: TestStore, clock: ManualClock, defects: Set<InjectedDefect>) async throws -> any OperatedStore {
        switch place.kind {
        case .sqlite:
            var configuration = OutboxConfiguration(path: place.location, eventIdField: eventIdField, clock: clock)
            configuration.injectedDefects = defects
            return try Outbox(configuration)
        case .postgres:
            return try await TestStore.openPostgres(place.location, eventIdField: eventIdField)
        }
    }

    func reopen() async throws {
        await store.close()
        store = try await Self.open(place, clock: clock, defects: defects)
    }

    func close() async {
        await store.close()
        await place.remove()
    }

    /// Every lease lapses and every retry falls due: SQLite's clock moves
    /// on; PostgreSQL's stored times (taken from the server's clock) move back.
    func advanceTime() async throws {
        switch place.kind {
        case .sqlite:
            clock.advance(by: .milliseconds(Self.advanceMilliseconds))
        case .postgres:
            let postgres = store as! PostgresOutbox
            let step = Self.advanceMilliseconds
            try await postgres.write { connection in
                try await connection.query(
                    "UPDATE outbox_ranges SET lease_until = lease_until - \(step) WHERE lease_until IS NOT NULL", logger: postgres.logger)
                try await connection.query("UPDATE outbox_retries SET due_at = due_at - \(step)", logger: postgres.logger)
            }
        }
    }

    /// Appends inside an app's own transaction; `rollBack` makes the app
    /// fail after the append, so nothing may stay.
    func appendInTransaction(_ jsons: [String], meter: String, rollBack: Bool) async throws -> [EventID] {
        struct AppFailed: Error {}
        switch store {
        case let outbox as Outbox:
            return try await outbox.write { tx in
                let ids = try tx.append(jsonEvents: jsons, meter: meter)
                if rollBack { throw AppFailed() }
                return ids
            }
        case let postgres as PostgresOutbox:
            return try await postgres.write { connection in
                let ids = try await postgres.append(jsonEvents: jsons, meter: meter, on: connection)
                if rollBack { throw AppFailed() }
                return ids
            }
        default:
            fatalError("unknown store")
        }
    }
}
