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
            Task {
                try? await Task.sleep(for: limit)
                answer.give(nil)
                work.cancel()
            }
        }
    }
}

/// Resumes a continuation with the first answer given; later ones are dropped.
private final class FirstAnswer<T: Sendable>: Sendable {
    private let waiting = Mutex<CheckedContinuation<T?, Never>?>(nil)

    func wait(_ continuation: CheckedContinuation<T?, Never>) {
        waiting.withLock { $0 = continuation }
    }

    func give(_ value: T?) {
        waiting.withLock { $0.take() }?.resume(returning: value)
    }
}
