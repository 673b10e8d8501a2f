import Foundation
import OutboxCore
import OutboxDispatcher
import UsageOutbox
import ZuoraMock

/// What must hold after a cut, checked on the rebuilt files with the
/// ordinary VFS: the database opens and `verify` passes (integrity and
/// counters); every append acknowledged before the cut is there, whole;
/// no append is half there; each producer's events are in order; and a
/// drain afterwards delivers everything still owed, once.
struct CutCheck {
    /// What the run's markers say, up to the cut.
    struct Expectations {
        /// Acknowledged appends: batch → events.
        var acknowledged: [String: Int] = [:]
        /// Every batch of the whole run (acknowledged later or not), for
        /// telling a half-there append.
        var batchSizes: [String: Int] = [:]
        /// Per append, how many of its events were settled before a purge
        /// began: retention may have taken that many, no more.
        var purgeable: [String: Int] = [:]
        /// Events of the migration fixture (not from this run), if any.
        var fixtureEvents = 0
        /// Customers whose events were settled (sent or dead) before the
        /// cut: by the recorded run (its markers), or in the fixture.
        var settled: Set<String> = []
    }

    struct Outcome {
        var acknowledged = 0
        var lost = 0
        var damage: [String] = []
    }

    static func check(directory: String, expectations: Expectations) async -> Outcome {
        var outcome = Outcome()
        outcome.acknowledged = expectations.acknowledged.values.reduce(0, +)
        do {
            try await checkImage(directory: directory, expectations: expectations, outcome: &outcome)
        } catch {
            outcome.damage.append("\(error)")
        }
        return outcome
    }

    private static func checkImage(directory: String, expectations: Expectations, outcome: inout Outcome) async throws {
        let path = directory + "/outbox.sqlite"
        // Two days on: every lease of the cut run has lapsed and every
        // backoff ended, for the drain that follows.
        let outbox = try Outbox(OutboxConfiguration(path: path, clock: ShiftedClock(shift: .seconds(2 * 86400))))
        defer { outbox.close() }
        let report = try await outbox.verify()
        if !report.isIntact { outcome.damage.append("integrity_check: \(report.integrity.prefix(3).joined(separator: "; "))") }
        for meter in report.meters where !meter.problems.isEmpty {
            outcome.damage.append("verify, meter \(meter.meter): \(meter.problems.joined(separator: "; "))")
        }

        // The events present, by batch and by producer in log order.
        var present: [String: Int] = [:]
        var lastPlace: [Int: (sequence: Int, index: Int)] = [:]
        var foreign = 0
        let connection = try SQLiteConnection(path: path, readOnly: true)
        let statement = try connection.prepare("SELECT CAST(body AS TEXT) FROM outbox_log ORDER BY id")
        while try statement.step() {
            guard let customer = CustomerID.of(statement.string(0)), let place = CustomerID.place(customer) else {
                foreign += 1
                continue
            }
            present["\(place.producer).\(place.sequence)", default: 0] += 1
            // Each producer appends one after another; producers' appends
            // may interleave, one producer's never.
            if let last = lastPlace[place.producer], (place.sequence, place.index) < (last.sequence, last.index) {
                outcome.damage.append("producer \(place.producer): event \(place.sequence)-\(place.index) is logged after \(last.sequence)-\(last.index)")
            }
            lastPlace[place.producer] = (place.sequence, place.index)
        }

        if foreign != expectations.fixtureEvents {
            outcome.damage.append("\(foreign) events of the upgraded database are there, of \(expectations.fixtureEvents)")
            outcome.lost += max(0, expectations.fixtureEvents - foreign)
        }
        for (batch, count) in expectations.acknowledged {
            let missing = count - (present[batch] ?? 0)
            outcome.lost += max(0, missing - (expectations.purgeable[batch] ?? 0))
        }
        for (batch, count) in present where count != expectations.batchSizes[batch] && expectations.purgeable[batch] == nil {
            outcome.damage.append("append \(batch) is half there: \(count) of \(expectations.batchSizes[batch] ?? 0) events")
        }
        try await drainAfter(outbox, settled: expectations.settled, outcome: &outcome)
    }

    /// Everything still owed goes to a fresh mock, once: events the image
    /// holds as settled are not sent again, and none is left behind.
    private static func drainAfter(_ outbox: Outbox, settled: Set<String>, outcome: inout Outcome) async throws {
        for (meter, state) in try await outbox.status().meters where state.pause != nil { try await outbox.resumeMeter(meter) }
        let before = try await outbox.status().totals
        let mock = try await ZuoraMockServer.start(MockConfiguration())
        var configuration = DispatcherConfiguration(
            baseURL: mock.baseURL, credentials: .oauth(clientID: "mock-client-id", clientSecret: Secret("mock-client-secret")))
        configuration.requestTimeout = .seconds(10)
        configuration.lease = .seconds(30)
        do {
            let summary = try await Dispatcher(outbox: outbox, configuration: configuration).drainOnce(maxTime: .seconds(20))
            let after = try await outbox.status().totals
            let bodies = mock.allAcceptedEvents().values.flatMap { $0 }
            let accepted = bodies.count
            let again = bodies.compactMap(CustomerID.of).filter(settled.contains)
            if !again.isEmpty {
                outcome.damage.append(
                    "\(again.count) events settled before the cut were sent again (billed twice), e.g. \(again.prefix(3).joined(separator: ", "))")
            }
            if after.undelivered != 0 {
                outcome.damage.append("a drain after the cut left \(after.undelivered) events undelivered (\(summary))")
            }
            if accepted + (after.dead - before.dead) != before.undelivered {
                outcome.damage.append(
                    "a drain after the cut sent \(accepted) and dead-lettered \(after.dead - before.dead), of \(before.undelivered) owed: settled events were claimable"
                )
            }
        } catch {
            outcome.damage.append("a drain after the cut failed: \(error)")
        }
        await mock.shutdown()
    }
}
