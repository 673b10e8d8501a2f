import Foundation
import Logging
import PostgresNIO
import Testing

@testable import OutboxCore
@testable import OutboxPostgres

/// An append made in the caller's own transaction wakes the in-process
/// dispatcher when that transaction commits: not before (the dispatcher
/// would find nothing and sleep until its next poll), and not at all when
/// it rolls back.
struct PostgresWakeTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let event = #"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#

    @Test func anAppendInTheCallersTransactionWakesAtItsCommitOnly() async throws {
        guard StoreKind.postgresURL != nil else { return }
        let place = try await TestStore.make(.postgres)
        let outbox = try await TestStore.openPostgres(place.location)
        try await place.using(outbox) {
            let wakes = outbox.appendNotifications()
            await outbox.wakeListener.listening()

            _ = try await outbox.client.withTransaction(logger: Self.logger) { connection in
                try await outbox.append(jsonEvents: [Self.event], meter: "m", on: connection)
                // Appended, not committed: a wake-up now finds nothing to claim.
                #expect(outbox.signal.notifications == 0)
            }
            // The commit's notification arrives.
            try await waitUntil("the commit's wake-up") { outbox.signal.notifications >= 1 }
            #expect(outbox.signal.notifications == 1)

            struct RolledBack: Error {}
            await #expect(throws: PostgresTransactionError.self) {
                try await outbox.client.withTransaction(logger: Self.logger) { connection in
                    try await outbox.append(jsonEvents: [Self.event], meter: "m", on: connection)
                    throw RolledBack()
                }
            }
            // PostgreSQL delivers notifications in commit order: once the
            // next commit's wake-up is here, a rolled-back one would be too.
            _ = try await outbox.client.withTransaction(logger: Self.logger) { connection in
                try await outbox.append(jsonEvents: [Self.event], meter: "m", on: connection)
            }
            try await waitUntil("the second commit's wake-up") { outbox.signal.notifications >= 2 }
            #expect(outbox.signal.notifications == 2)
            #expect(try await outbox.status().totals.pending == 2)
            _ = wakes
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
