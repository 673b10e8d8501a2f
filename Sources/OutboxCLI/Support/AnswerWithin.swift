import Synchronization

/// Waits at most `limit` for `read`, then answers without it: a probe or a
/// scrape must answer within a prober's timeout, and a database read may
/// not end when cancelled (SQLite's queue behind a long write, a PostgreSQL
/// query on a dead link). The read is cancelled and left to finish on its
/// own; its late result is dropped.
enum AnswerWithin {
    /// `read`'s result, or nil when it failed or took longer than `limit`.
    static func run<T: Sendable>(_ limit: Duration, _ read: @escaping @Sendable () async throws -> T) async -> T? {
        let answer = FirstAnswer<T>()
        return await withCheckedContinuation { continuation in
            answer.wait(continuation)
            let work = Task { answer.give(try? await read()) }
            answer.timeOut(
                Task {
                    try? await Task.sleep(for: limit)
                    guard !Task.isCancelled else { return }
                    answer.give(nil)
                    work.cancel()
                })
        }
    }
}

/// Resumes a continuation with the first answer given; later ones are
/// dropped. An answer in time stops the timer, so no task outlives it.
private final class FirstAnswer<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T?, Never>?
        var timer: Task<Void, Never>?
        var answered = false
    }

    private let state = Mutex(State())

    func wait(_ continuation: CheckedContinuation<T?, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    /// The timer to stop once an answer comes (at once, if one came first).
    func timeOut(_ timer: Task<Void, Never>) {
        let answered = state.withLock { state in
            state.timer = timer
            return state.answered
        }
        if answered { timer.cancel() }
    }

    func give(_ value: T?) {
        let (continuation, timer) = state.withLock { state in
            state.answered = true
            defer { state.continuation = nil }
            return (state.continuation, state.timer)
        }
        continuation?.resume(returning: value)
        timer?.cancel()
    }
}
