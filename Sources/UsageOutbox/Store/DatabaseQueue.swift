import Dispatch
import Synchronization

/// Confines one SQLite connection to a serial queue and group-commits writes.
///
/// Writes submitted while a transaction is being written and synced wait in a
/// queue; the next transaction takes all of them at once, each inside its own
/// SAVEPOINT, and one COMMIT (one sync) makes them all durable. So N tasks
/// appending together cost about one sync, not N, and a unit that throws is
/// rolled back alone without failing its neighbours.
///
/// Blocking SQLite calls run on the queue's thread, never on Swift's
/// cooperative pool.
final class DatabaseQueue: Sendable {
    private struct WriteUnit: Sendable {
        let execute: @Sendable (WriteContext) throws -> Void
        let complete: @Sendable (Error?) -> Void
    }

    private struct State {
        var pending: [WriteUnit] = []
        var groupScheduled = false
        var closed = false
    }

    let path: String
    let busyTimeoutMilliseconds: Int
    private let queue: DispatchQueue
    private let state = Mutex(State())
    // Touched only on `queue`.
    private nonisolated(unsafe) var connection: SQLiteConnection?
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
    func write<T: Sendable>(_ body: @escaping @Sendable (WriteContext) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let box = ResultBox<T>()
            let unit = WriteUnit(
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

    func close() {
        state.withLock { $0.closed = true }
        queue.sync { connection = nil }
    }

    private func enqueue(_ unit: WriteUnit) {
        let outcome: (schedule: Bool, closed: Bool) = state.withLock { state in
            if state.closed { return (false, true) }
            state.pending.append(unit)
            if state.groupScheduled { return (false, false) }
            state.groupScheduled = true
            return (true, false)
        }
        if outcome.closed {
            unit.complete(OutboxError(.closed, "the outbox is closed"))
        } else if outcome.schedule {
            queue.async { self.runNextGroup() }
        }
    }

    /// Takes every waiting unit and commits them in one transaction. Reads
    /// queued meanwhile run between groups, so they are never starved.
    private func runNextGroup() {
        let units: [WriteUnit] = state.withLock { state in
            let taken = Array(state.pending.prefix(DatabaseQueue.maxUnitsPerGroup))
            state.pending.removeFirst(taken.count)
            return taken
        }
        if !units.isEmpty {
            commit(units)
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

    private func commit(_ units: [WriteUnit]) {
        guard let connection else {
            units.forEach { $0.complete(OutboxError(.closed, "the outbox is closed")) }
            return
        }
        var errors = [Error?](repeating: nil, count: units.count)
        let context = WriteContext(connection: connection)
        do {
            try connection.execute("BEGIN IMMEDIATE")
        } catch {
            let translated = translate(error)
            units.forEach { $0.complete(translated) }
            return
        }
        let useSavepoints = units.count > 1
        for (index, unit) in units.enumerated() {
            do {
                if useSavepoints { try connection.execute("SAVEPOINT outbox_unit") }
                try unit.execute(context)
                if useSavepoints { try connection.execute("RELEASE outbox_unit") }
                context.keepUnitChanges()
            } catch {
                errors[index] = translate(error)
                context.dropUnitChanges()
                if !connection.isInTransaction {
                    // SQLite rolled the whole transaction back (disk full, I/O
                    // error): nothing of this group is written.
                    units.forEach { $0.complete(translate(error)) }
                    return
                }
                if useSavepoints {
                    try? connection.execute("ROLLBACK TO outbox_unit")
                    try? connection.execute("RELEASE outbox_unit")
                }
            }
        }
        let anySucceeded = errors.contains { $0 == nil }
        do {
            if anySucceeded {
                try context.flushCounters()
                try connection.execute("COMMIT")
            } else {
                try connection.execute("ROLLBACK")
            }
        } catch {
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            let translated = translate(error)
            units.forEach { $0.complete(translated) }
            return
        }
        let appendedCounts = context.committedCounts
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

    /// Failures of the database itself become `OutboxError`s a person can act
    /// on; an app's own SQL errors (a constraint, a typo) stay `SQLiteError`s,
    /// so the app can match them.
    private func translate(_ error: Error) -> Error {
        if let sqlite = error as? SQLiteError, sqlite.isDatabaseFailure {
            return OutboxError(sqlite, path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        }
        return error
    }
}

/// Carries a unit's result out of the queue. Written on the queue before the
/// continuation resumes, read after, so the accesses never overlap.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
