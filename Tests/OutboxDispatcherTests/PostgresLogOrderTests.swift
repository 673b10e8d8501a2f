import Foundation
import Logging
import PostgresNIO
import Testing

@testable import OutboxCore
@testable import OutboxPostgres

/// What is particular to PostgreSQL's log: ids are drawn at insert, not at
/// commit, so a claim takes only events that no running transaction can
/// still precede.
struct PostgresLogOrderTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func event(_ customer: String) -> String {
        #"{"CustomerId":"\#(customer)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
    }

    /// An app's transaction appends first and commits last: the event
    /// appended and committed meanwhile must wait for it, or the claim would
    /// move the meter's position past an event that was not visible yet.
    @Test func anEventCommittedLateIsNeverLeftBehind() async throws {
        guard StoreKind.postgresURL != nil else { return }
        let place = try await TestStore.make(.postgres)
        let outbox = try await PostgresOutbox.open(url: place.location, password: nil, eventIdField: nil, heldBackWait: .zero, logger: Self.logger)
        try await place.using(outbox) {
            var early: [EventID] = []
            var late: [EventID] = []
            // The late append runs on a connection of its own whose counter
            // shard (backend pid % 16) differs from the early transaction's:
            // on the same shard it would wait for the early transaction's row
            // lock, while that transaction waits for it (the README's warning
            // about appending outside an open transaction of the same meter).
            let configuration = try PostgresLocation(url: place.location).connectionConfiguration(password: nil)
            var lateConnections: [PostgresConnection] = []
            defer { for connection in lateConnections { Task { try? await connection.close() } } }
            try await outbox.client.withTransaction(logger: Self.logger) { connection in
                early = try await outbox.append(jsonEvents: [Self.event("early")], meter: "m", on: connection)
                let earlyShard = try await Self.shard(of: connection)
                var lateConnection: PostgresConnection?
                for id in 0..<8 where lateConnection == nil {
                    let candidate = try await PostgresConnection.connect(configuration: configuration, id: 100 + id, logger: Self.logger)
                    lateConnections.append(candidate)
                    if try await Self.shard(of: candidate) != earlyShard { lateConnection = candidate }
                }
                let other = try #require(lateConnection, "eight connections on one counter shard")
                try await other.query("BEGIN", logger: Self.logger)
                late = try await outbox.append(jsonEvents: [Self.event("late")], meter: "m", on: other)
                try await other.query("COMMIT", logger: Self.logger)
                // The late event is committed, but the early one's
                // transaction is still running: nothing can be claimed yet.
                #expect(try await outbox.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000) == nil)
                #expect(try await outbox.nextDueDelay() == NextDue.heldBackPollMilliseconds)
            }
            // Other tests' transactions may hold the horizon back a while:
            // claim through a store that waits for it.
            let patient = try await TestStore.openPostgres(place.location)
            var claimed: [String] = []
            while claimed.count < 2, let claim = try await patient.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000) {
                claimed += claim.events.map(\.eventID)
            }
            await patient.close()
            // Both, in the order their transactions began.
            #expect(claimed == [early[0].value, late[0].value])
            #expect(try await outbox.verify().isOK)
        }
    }

    /// A write transaction running in another database of the cluster (a
    /// neighbouring app's, or a `CREATE DATABASE`) cannot append to this
    /// log, so it does not hold back claims; one in this database does.
    @Test func aTransactionInAnotherDatabaseDoesNotHoldBackClaims() async throws {
        guard let base = StoreKind.postgresURL else { return }
        let place = try await TestStore.make(.postgres)
        let outbox = try await PostgresOutbox.open(url: place.location, password: nil, eventIdField: nil, heldBackWait: .zero, logger: Self.logger)
        try await place.using(outbox) {
            let neighbour = try await PostgresConnection.connect(
                configuration: try PostgresLocation(url: base).connectionConfiguration(password: nil), id: 98, logger: Self.logger)
            let local = try await PostgresConnection.connect(
                configuration: try PostgresLocation(url: place.location).connectionConfiguration(password: nil), id: 97, logger: Self.logger)
            defer {
                Task {
                    try? await neighbour.close()
                    try? await local.close()
                }
            }
            // Both transactions take an id before the event is appended, so
            // both are older than it.
            try await neighbour.query("BEGIN", logger: Self.logger)
            try await neighbour.query("SELECT pg_current_xact_id()", logger: Self.logger)
            let first = try await outbox.append(json: Self.event("while-a-neighbour-writes"), meter: "m")
            let claim = try #require(
                try await outbox.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000),
                "a transaction in another database held the claim back")
            #expect(claim.events.map(\.eventID) == [first.value])

            try await local.query("BEGIN", logger: Self.logger)
            try await local.query("SELECT pg_current_xact_id()", logger: Self.logger)
            _ = try await outbox.append(json: Self.event("while-this-database-writes"), meter: "m")
            #expect(
                try await outbox.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000) == nil,
                "an older transaction of this database may still append before the event: it must wait")
            #expect(try await outbox.nextDueDelay() == NextDue.heldBackPollMilliseconds)
            try await local.query("COMMIT", logger: Self.logger)
            try await neighbour.query("COMMIT", logger: Self.logger)
            let patient = try await TestStore.openPostgres(place.location)
            let later = try await patient.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000)
            await patient.close()
            #expect(later?.events.count == 1)
            #expect(try await outbox.verify().isOK)
        }
    }

    /// A dump restored into another cluster carries log keys made of that
    /// cluster's transaction ids, far ahead of the new cluster's. Opening the
    /// outbox there raises the epoch, so new events sort after the restored
    /// ones and are claimed (the restore is simulated by moving every stored
    /// key ahead of this cluster's transaction ids, which is what a fresh
    /// cluster sees; `scripts/restore-drill` does it for real).
    @Test func eventsAppendedAfterARestoreIntoAnotherClusterAreClaimed() async throws {
        guard StoreKind.postgresURL != nil else { return }
        let place = try await TestStore.make(.postgres)
        let before = try await TestStore.openPostgres(place.location)
        _ = try await before.append(jsonEvents: [Self.event("restored-sent"), Self.event("restored-pending")], meter: "m")
        let claim = try #require(try await before.claim(meter: "m", owner: "o", limit: 1, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
        _ = try await before.settle(
            Settlement(meter: "m", rows: claim.events.map { .init(rowID: $0.rowID, outcome: .sent) }, record: .init(), meterFailure: nil, isSuccess: true),
            token: claim.token)
        let ahead: Int64 = 1 << 40
        try await before.write { connection in
            try await connection.query("UPDATE outbox_log SET xact = xact + \(ahead)", logger: Self.logger)
            try await connection.query("UPDATE outbox_positions SET claimed_xact = claimed_xact + \(ahead)", logger: Self.logger)
            try await connection.query("UPDATE outbox_ranges SET first_xact = first_xact + \(ahead), last_xact = last_xact + \(ahead)", logger: Self.logger)
        }
        await before.close()
        let restored = try await TestStore.openPostgres(place.location)
        try await place.using(restored) {
            let fresh = try await restored.append(json: Self.event("after-restore"), meter: "m")
            var claimed: [String] = []
            while claimed.count < 2, let claim = try await restored.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000) {
                claimed += claim.events.map(\.eventID)
            }
            #expect(claimed.count == 2 && claimed.last == fresh.value, "the restored pending event, then the new one")
            #expect(try await restored.verify().isOK)
        }
    }

    /// Reconcile reads an event as sent and writes its dead row; retention
    /// reads it as sent and deletes it. Overlapping, they left a dead letter
    /// without its event. Here reconcile is held (by a lock on
    /// `outbox_dead`) between its read and its write, while retention runs:
    /// retention must wait for it, then keep the event the dead letter needs.
    @Test func retentionWaitsForReconcileAndKeepsTheDeadLettersEvent() async throws {
        guard StoreKind.postgresURL != nil else { return }
        let place = try await TestStore.make(.postgres)
        let outbox = try await TestStore.openPostgres(place.location)
        try await place.using(outbox) {
            _ = try await outbox.append(jsonEvents: [Self.event("rejected-later")], meter: "m")
            let claim = try #require(try await outbox.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            _ = try await outbox.settle(
                Settlement(meter: "m", rows: claim.events.map { .init(rowID: $0.rowID, outcome: .sent) }, record: .init(), meterFailure: nil, isSuccess: true),
                token: claim.token)
            let blocker = try await PostgresConnection.connect(
                configuration: try PostgresLocation(url: place.location).connectionConfiguration(password: nil), id: 99, logger: Self.logger)
            try await blocker.query("BEGIN", logger: Self.logger)
            try await blocker.query("LOCK TABLE outbox_dead IN SHARE MODE", logger: Self.logger)
            let reconcile = Task {
                try await outbox.applyLateRejections(
                    [LateRejection(rowID: claim.events[0].rowID, reason: "late", responseBody: "{}")], meter: "m",
                    remember: [AppliedAuditEntry(traceID: "t-1", eventID: "z-1")])
            }
            try await waitUntil("reconcile has read the event as sent and waits to write its dead row") {
                try await Self.backendsWaiting(on: blocker, lockType: "relation") == 1
            }
            let retentionDone = Flag()
            let retention = Task {
                defer { retentionDone.set() }
                return try await outbox.purgeSent(before: Int64.max)
            }
            try await waitUntil("retention waits for reconcile (or, wrongly, has finished)") {
                try await Self.backendsWaiting(on: blocker, lockType: "advisory") == 1 || retentionDone.isSet
            }
            try await blocker.query("COMMIT", logger: Self.logger)
            try await blocker.close()
            #expect(try await reconcile.value == 1)
            #expect(try await retention.value.purged == 0, "the event became a dead letter: retention keeps it")
            let letters = try await outbox.deadLetters(meter: "m", deadBefore: nil, limit: 10)
            #expect(letters.count == 1 && letters.first?.event.contains("rejected-later") == true)
            #expect(try await outbox.verify().isOK)
        }
    }

    /// The counter shard appends on `connection` take (`PostgresOutbox.adjust`).
    static func shard(of connection: PostgresConnection) async throws -> Int64 {
        for try await shard in try await connection.query("SELECT (pg_backend_pid() % 16)::bigint", logger: logger).decode(Int64.self) {
            return shard
        }
        return -1
    }

    static func backendsWaiting(on connection: PostgresConnection, lockType: String) async throws -> Int {
        for try await count in try await connection.query(
            "SELECT count(*)::bigint FROM pg_locks WHERE NOT granted AND locktype = \(lockType) AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            logger: logger
        ).decode(Int64.self) {
            return Int(count)
        }
        return 0
    }
}
