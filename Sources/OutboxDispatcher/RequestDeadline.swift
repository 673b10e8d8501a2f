/// One deadline for a whole request: connecting, sending, the answer's
/// headers and every byte of its body. AsyncHTTPClient's own timeout ends
/// when the headers arrive, so a body that trickles (one byte every few
/// seconds) or never ends would hold the worker, and its claim, past the
/// lease: here the request is cancelled at the deadline, whatever it is
/// doing (AsyncHTTPClient then drops the connection).
enum RequestDeadline {
    struct Exceeded: Error, CustomStringConvertible {
        let limit: Duration
        var description: String { "no complete answer within \(limit.seconds.formatted)s (the request timeout)" }
    }

    /// Runs `operation`; past `limit` it is cancelled and `Exceeded` thrown.
    /// Real time, never a test's clock: it bounds real I/O.
    static func run<T: Sendable>(within limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw Exceeded(limit: limit)
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw Exceeded(limit: limit) }
            return first
        }
    }
}

extension Double {
    /// Seconds as people write them: `30`, `2.5`.
    var formatted: String {
        self == rounded() && Swift.abs(self) < 1e15 ? String(Int64(self)) : String(self)
    }
}
