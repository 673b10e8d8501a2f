import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Confines one SQLite connection to a serial queue and group-commits writes.
///
/// Writes submitted while a transaction is being written and synced wait in a
/// queue; the next transaction takes all of them at once (and, for a moment,
/// those still arriving), isolated writes each inside its own SAVEPOINT, and
/// one COMMIT (one sync) makes them all durable. So N tasks
/// appending together cost about one sync, not N, and a unit that throws is
/// rolled back alone without failing its neighbours.
///
/// Blocking SQLite calls run on the queue's thread, never on Swift's
/// cooperative pool.
final class DatabaseQueue: Sendable {
    private struct WriteUnit: Sendable {
        /// Whether the unit runs in its own savepoint, so that its failure
        /// rolls back only its own changes. Units that can fail only with the
        /// database itself (validated appends, claims, marks) skip it.
        let isolated: Bool
        /// Producers' writes (appends), whose writers are worth waiting for;
        /// a dispatcher's claims and marks are not: they would only wait.
        let gathers: Bool
        let execute: @Sendable (WriteContext) throws -> Void
        let complete: @Sendable (Error?) -> Void
    }

    private struct State {
        var pending: [WriteUnit] = []
        var groupScheduled = false
        var closed = false
        /// Appends the last transaction carried: the concurrency to wait for.
        var lastGroupSize = 0
    }

    let path: String
    let busyTimeoutMilliseconds: Int
    private let queue: DispatchQueue
    private let state = Mutex(State())
    // Touched only on `queue`.
    private nonisolated(unsafe) var connection: SQLiteConnection?
    /// Event ids for every write on this connection (used on `queue` only).
    let ids = IDGenerator()
    private let gather = GatherSignal()
    private let afterCommit: @Sendable (StateCounts) -> Void
    private let transactionsCommitted = Atomic<Int>(0)
    private let unitsCommitted = Atomic<Int>(0)

    /// How well group commit is doing: units per transaction.
    struct Statistics: Sendable, CustomStringConvertible {
        let transactions: Int
        let unitsCommitted: Int
        var description: String { "\(unitsCommitted) writes in \(transactions) transactions" }
    }

    var statistics: Statistics {
        Statistics(transactions: transactionsCommitted.load(ordering: .relaxed), unitsCommitted: unitsCommitted.load(ordering: .relaxed))
    }

    /// Most units one transaction takes; bounds its duration under a flood.
    private static let maxUnitsPerGroup = 4096

    init(connection: SQLiteConnection, busyTimeoutMilliseconds: Int, afterCommit: @escaping @Sendable (StateCounts) -> Void) {
        self.connection = connection
        self.path = connection.path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.queue = DispatchQueue(label: "outbox.database")
        self.afterCommit = afterCommit
    }

    /// Runs `body` alone on the connection: reads, and work that manages its
    /// own transaction (a bulk append).
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                guard let connection = self.connection else {
                    continuation.resume(throwing: OutboxError(.closed, "the outbox is closed"))
                    return
                }
                do {
                    continuation.resume(returning: try body(connection))
                } catch {
                    continuation.resume(throwing: self.translate(error))
                }
            }
        }
    }

    /// Runs `body` inside a group-committed write transaction. Returns once
    /// the transaction holding it has committed and synced.
    func write<T: Sendable>(isolated: Bool = true, gathers: Bool = false, _ body: @escaping @Sendable (WriteContext) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let box = ResultBox<T>()
            let unit = WriteUnit(
                isolated: isolated,
                gathers: gathers,
                execute: { context in box.value = try body(context) },
                complete: { error in
                    if let error {
                        continuation.resume(throwing: error)
                    } else {
                        continuation.resume(returning: box.value!)
                    }
                }
            )
            enqueue(unit)
        }
    }

    /// Writes waiting for the next group (tests wait on it).
    var waitingWrites: Int { state.withLock { $0.pending.count } }

    func close() {
        state.withLock { $0.closed = true }
        queue.sync { connection = nil }
    }

    private func enqueue(_ unit: WriteUnit) {
        let outcome: (schedule: Bool, closed: Bool, queued: Int) = state.withLock { state in
            if state.closed { return (false, true, 0) }
            state.pending.append(unit)
            if state.groupScheduled { return (false, false, state.pending.count) }
            state.groupScheduled = true
            return (true, false, state.pending.count)
        }
        gather.queued(outcome.queued)
        if outcome.closed {
            unit.complete(OutboxError(.closed, "the outbox is closed"))
        } else if outcome.schedule {
            queue.async { self.runNextGroup() }
        }
    }

    /// Takes every waiting unit and commits them in one transaction. Reads
    /// queued meanwhile run between groups, so they are never starved.
    private func runNextGroup() {
        let first = takePending(limit: DatabaseQueue.maxUnitsPerGroup)
        if !first.isEmpty {
            commitGroup(startingWith: first)
        }
        let more = state.withLock { state in
            if state.pending.isEmpty {
                state.groupScheduled = false
                return false
            }
            return true
        }
        if more { queue.async { self.runNextGroup() } }
    }

    private func takePending(limit: Int) -> [WriteUnit] {
        let units: [WriteUnit] = state.withLock { state in
            let taken = Array(state.pending.prefix(limit))
            state.pending.removeFirst(taken.count)
            return taken
        }
        gather.drained()
        return units
    }

    /// How a group's transaction ended when a unit broke it off.
    private enum GroupBreak: Error {
        /// The units were completed or requeued; nothing of the group is written.
        case abandoned
    }

    /// One group-committed transaction. It starts with the units waiting
    /// now; when the last group carried several producers, they are likely
    /// about to write again, so it takes their writes in as they arrive,
    /// executing each batch at once, until as many are in or none arrived
    /// for 200 µs (a fraction of an fsync). So the database thread inserts
    /// while the producers are still preparing their next events, instead of
    /// waiting for all of them first, and one sync serves them all instead of
    /// alternating half-full groups. A lone writer never waits.
    private func commitGroup(startingWith first: [WriteUnit]) {
        guard let connection else {
            first.forEach { $0.complete(OutboxError(.closed, "the outbox is closed")) }
            return
        }
        do {
            try connection.executeCached("BEGIN IMMEDIATE")
        } catch {
            let translated = translate(error)
            first.forEach { $0.complete(translated) }
            return
        }
        let context = WriteContext(connection: connection, ids: ids)
        var units: [WriteUnit] = []
        var errors: [Error?] = []
        var ranIsolated = false
        let expected = state.withLock { $0.lastGroupSize }
        var batch = first
        var timedOut = false
        do {
            while true {
                try execute(batch, units: &units, errors: &errors, ranIsolated: &ranIsolated, context: context, connection: connection)
                let producers = units.count { $0.gathers }
                guard !timedOut, expected >= 4, producers < expected, units.count < DatabaseQueue.maxUnitsPerGroup else { break }
                let waiting = state.withLock { $0.pending.count }
                if waiting == 0 {
                    // Woken by a handful at a time: a wake-up per write would
                    // cost more than it saves. The group closes once no write
                    // arrived for 200 µs.
                    let deadline = ContinuousClock.now + .microseconds(200)
                    timedOut = !gather.wait(forQueued: min(8, expected - producers), current: waiting, until: deadline)
                }
                batch = takePending(limit: DatabaseQueue.maxUnitsPerGroup - units.count)
                if batch.isEmpty { break }
            }
        } catch {
            return
        }
        state.withLock { $0.lastGroupSize = units.count { $0.gathers } }
        let anySucceeded = errors.contains { $0 == nil }
        // Read before flushCounters, which empties them.
        let appendedCounts = context.committedCounts
        do {
            if anySucceeded {
                try context.flushCounters()
                try connection.executeCached("COMMIT")
            } else {
                try connection.executeCached("ROLLBACK")
            }
        } catch {
            if connection.isInTransaction { try? connection.executeCached("ROLLBACK") }
            let translated = translate(error)
            units.forEach { $0.complete(translated) }
            return
        }
        if anySucceeded {
            transactionsCommitted.add(1, ordering: .relaxed)
            unitsCommitted.add(errors.count { $0 == nil }, ordering: .relaxed)
        }
        for (unit, error) in zip(units, errors) {
            unit.complete(error)
        }
        if anySucceeded, appendedCounts.appended > 0 {
            afterCommit(appendedCounts)
        }
    }

    /// Runs `batch` inside the open transaction, appending each unit and its
    /// outcome to `units` and `errors`. An isolated unit runs in a savepoint
    /// and fails alone. Throws `GroupBreak` when the group cannot go on: the
    /// units are then already completed (or requeued) and nothing is written.
    ///
    /// A unit that is not isolated skips the savepoint (its failure undoes
    /// the group, whose units run again in the next one), unless an isolated
    /// unit ran before it in this transaction: isolated units are an app's
    /// own code, which must run once, so from then on every unit fails alone.
    private func execute(
        _ batch: [WriteUnit], units: inout [WriteUnit], errors: inout [Error?], ranIsolated: inout Bool,
        context: WriteContext, connection: SQLiteConnection
    ) throws(GroupBreak) {
        for (position, unit) in batch.enumerated() {
            units.append(unit)
            errors.append(nil)
            let failsAlone = unit.isolated || ranIsolated
            ranIsolated = ranIsolated || unit.isolated
            do {
                if failsAlone { try connection.executeCached("SAVEPOINT outbox_unit") }
                try unit.execute(context)
                if failsAlone { try connection.executeCached("RELEASE outbox_unit") }
                context.keepUnitChanges()
            } catch {
                let translated = translate(error)
                context.dropUnitChanges()
                let notRun = batch[(position + 1)...]
                if !connection.isInTransaction {
                    // SQLite rolled the whole transaction back (disk full, I/O
                    // error): nothing of this group is written.
                    (units + notRun).forEach { $0.complete(translated) }
                    throw .abandoned
                }
                if failsAlone {
                    errors[errors.count - 1] = translated
                    try? connection.executeCached("ROLLBACK TO outbox_unit")
                    try? connection.executeCached("RELEASE outbox_unit")
                } else {
                    // A unit without a savepoint failed half-way: undo the
                    // whole group, fail that unit, and run the others again
                    // (none of them is an app's code: see above).
                    try? connection.executeCached("ROLLBACK")
                    units.removeLast()
                    unit.complete(translated)
                    requeueFirst(units + notRun)
                    throw .abandoned
                }
            }
        }
    }

    /// Puts units back at the head of the queue, for the next group.
    private func requeueFirst(_ units: [WriteUnit]) {
        let schedule = state.withLock { state -> Bool in
            state.pending.insert(contentsOf: units, at: 0)
            if state.groupScheduled { return false }
            state.groupScheduled = true
            return true
        }
        if schedule { queue.async { self.runNextGroup() } }
    }

    /// Failures of the database itself become `OutboxError`s a person can act
    /// on; a constraint an app's own write broke becomes `.constraintViolation`
    /// (as on PostgreSQL); other SQL errors of the app's (a typo) stay
    /// `SQLiteError`s.
    private func translate(_ error: Error) -> Error {
        if let sqlite = error as? SQLiteError, sqlite.isDatabaseFailure {
            return OutboxError(sqlite, path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        }
        if let sqlite = error as? SQLiteError, sqlite.isConstraintViolation {
            return OutboxError.constraintViolation(sqlite.message, underlying: sqlite)
        }
        return error
    }
}

/// Carries a unit's result out of the queue. Written on the queue before the
/// continuation resumes, read after, so the accesses never overlap.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
