import Foundation
import Logging
import PostgresNIO
import Testing

@testable import OutboxCore
@testable import OutboxPostgres

/// An append made in a transaction wakes the in-process dispatcher only
/// once the events can be claimed: `write { }` wakes it after its commit,
/// never before (it would find nothing and sleep until its next poll) and
/// never after a rollback; an append in a transaction of the caller's own
/// cannot see the commit, so it wakes nobody and the poll finds it.
struct PostgresWakeTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let event = #"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#

    @Test func aTransactionsAppendWakesTheDispatcherAfterItsCommitOnly() async throws {
        guard StoreKind.postgresURL != nil else { return }
        let place = try await TestStore.make(.postgres)
        let outbox = try await TestStore.openPostgres(place.location)
        try await place.using(outbox) {
            _ = try await outbox.write { connection in
                try await outbox.append(jsonEvents: [Self.event], meter: "m", on: connection)
                // Appended, not committed: a wake-up now finds nothing to claim.
                #expect(outbox.signal.notifications == 0)
            }
            #expect(outbox.signal.notifications == 1, "the commit wakes the dispatcher")

            struct RolledBack: Error {}
            await #expect(throws: RolledBack.self) {
                try await outbox.write { connection in
                    try await outbox.append(jsonEvents: [Self.event], meter: "m", on: connection)
                    throw RolledBack()
                }
            }
            #expect(outbox.signal.notifications == 1, "a rollback wakes nobody")

            _ = try await outbox.client.withTransaction(logger: Self.logger) { connection in
                try await outbox.append(jsonEvents: [Self.event], meter: "m", on: connection)
            }
            #expect(outbox.signal.notifications == 1, "the caller's own commit is not the outbox's to see")
            #expect(try await outbox.status().totals.pending == 2)
        }
    }
}

/// Every PostgreSQL test returns early without a server; in CI that would
/// hide the whole PostgreSQL half of the suite, so there it fails instead.
struct PostgresPresenceTests {
    @Test func postgresIsHereWhereItIsRequired() {
        if StoreKind.postgresRequired {
            #expect(StoreKind.postgresURL != nil, "OUTBOX_REQUIRE_POSTGRES=1 but OUTBOX_TEST_POSTGRES_URL is not set")
        }
    }
}
