import Synchronization

/// Group commit for the PostgreSQL store: appends that arrive while a
/// transaction is being written wait, and the next transaction takes all of
/// them at once; each waiter reads its own rows' part of what was written.
final class AppendBatcher: Sendable {
    typealias Flush = @Sendable ([(String, [PostgresOutbox.Row])]) async throws -> PostgresOutbox.Written

    private struct Waiter {
        let meter: String
        let rows: [PostgresOutbox.Row]
        let continuation: CheckedContinuation<PostgresOutbox.Written, Error>
    }

    private struct State {
        var waiting: [Waiter] = []
        var flushing = false
    }

    private let state = Mutex(State())

    func submit(rows: [PostgresOutbox.Row], meter: String, flush: @escaping Flush) async throws -> PostgresOutbox.Written {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PostgresOutbox.Written, Error>) in
            let start = state.withLock { state -> Bool in
                state.waiting.append(Waiter(meter: meter, rows: rows, continuation: continuation))
                if state.flushing { return false }
                state.flushing = true
                return true
            }
            if start { Task { await self.drain(flush) } }
        }
    }

    private func drain(_ flush: @escaping Flush) async {
        while true {
            let batch: [Waiter] = state.withLock { state in
                let batch = state.waiting
                state.waiting.removeAll()
                if batch.isEmpty { state.flushing = false }
                return batch
            }
            if batch.isEmpty { return }
            // Waiters in arrival order within each meter: of two appends of
            // one own id, the first to arrive keeps it.
            var groups: [String: [PostgresOutbox.Row]] = [:]
            for waiter in batch { groups[waiter.meter, default: []] += waiter.rows }
            do {
                let written = try await flush(groups.map { ($0.key, $0.value) })
                for waiter in batch { waiter.continuation.resume(returning: written) }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
    }
}
