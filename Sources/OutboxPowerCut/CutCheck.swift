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
        /// Appends that were sent before a purge began: retention may have
        /// taken them, whole or in part.
        var purgeable: Set<String> = []
        /// Appends sent by the last drain marked `drained`.
        var drained: Set<String> = []
        /// Events of the migration fixture (not from this run), if any.
        var fixtureEvents = 0
    }

    struct Outcome {
        var acknowledged = 0
        var lost = 0
        var damage: [String] = []
    }

    static let customer = try! NSRegularExpression(pattern: #""CustomerId":"(?:INVALID-)?(\d+)\.(\d+)-(\d+)""#)

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
        let outbox = try Outbox(OutboxConfiguration(path: path))
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
            let body = statement.string(0)
            guard let match = customer.firstMatch(in: body, range: NSRange(body.startIndex..., in: body)),
                let producer = Int(body[Range(match.range(at: 1), in: body)!]),
                let sequence = Int(body[Range(match.range(at: 2), in: body)!]),
                let index = Int(body[Range(match.range(at: 3), in: body)!])
            else {
                foreign += 1
                continue
            }
            present["\(producer).\(sequence)", default: 0] += 1
            // Producer 0 appends one after another; the others' appends
            // may interleave between tasks, never within one producer.
            if let last = lastPlace[producer], (sequence, index) < (last.sequence, last.index) {
                outcome.damage.append("producer \(producer): event \(sequence)-\(index) is logged after \(last.sequence)-\(last.index)")
            }
            lastPlace[producer] = (sequence, index)
        }

        if foreign != expectations.fixtureEvents {
            outcome.damage.append("\(foreign) events of the upgraded database are there, of \(expectations.fixtureEvents)")
            outcome.lost += max(0, expectations.fixtureEvents - foreign)
        }
        for (batch, count) in expectations.acknowledged where (present[batch] ?? 0) < count && !expectations.purgeable.contains(batch) {
            outcome.lost += count - (present[batch] ?? 0)
        }
        for (batch, count) in present where count != expectations.batchSizes[batch] && !expectations.purgeable.contains(batch) {
            outcome.damage.append("append \(batch) is half there: \(count) of \(expectations.batchSizes[batch] ?? 0) events")
        }
        try await drainAfter(outbox, outcome: &outcome)
    }

    /// Everything still owed goes to a fresh mock, once: events the image
    /// holds as settled are not sent again, and none is left behind.
    private static func drainAfter(_ outbox: Outbox, outcome: inout Outcome) async throws {
        for (meter, state) in try await outbox.status().meters where state.pause != nil { try await outbox.resumeMeter(meter) }
        let before = try await outbox.status().totals
        let mock = try await ZuoraMockServer.start(MockConfiguration())
        var configuration = DispatcherConfiguration(
            baseURL: mock.baseURL, credentials: .oauth(clientID: "mock-client-id", clientSecret: Secret("mock-client-secret")))
        // Two days on: every lease of the cut run has lapsed, every backoff ended.
        configuration.clock = ShiftedClock(shift: .seconds(2 * 86400))
        configuration.requestTimeoutSeconds = 10
        configuration.leaseSeconds = 30
        do {
            let summary = try await Dispatcher(outbox: outbox, configuration: configuration).drainOnce(maxTime: .seconds(60))
            let after = try await outbox.status().totals
            let accepted = mock.allAcceptedEvents().values.reduce(0) { $0 + $1.count }
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

/// The wall clock moved on by `shift`; waits are real.
struct ShiftedClock: OutboxClock {
    let shift: Duration

    func wallMilliseconds() -> Int64 { WallClock.nowMilliseconds() + shift.components.seconds * 1000 }
    func monotonicNow() -> ContinuousClock.Instant { .now }
    func sleep(until deadline: ContinuousClock.Instant) async throws { try await Task.sleep(until: deadline, clock: .continuous) }
}
