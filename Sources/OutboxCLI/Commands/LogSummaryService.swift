import Logging
import OutboxDispatcher
import ServiceLifecycle

/// While a drain runs, one info line every interval saying what it did
/// since the last one; each request has its own line only at debug level.
/// A quiet interval logs nothing: an idle drain does not fill the log.
struct LogSummaryService: Service {
    let dispatcher: Dispatcher
    let every: Duration
    let logger: Logger

    func run() async throws {
        // Ends quietly when the group shuts down: cancellation is its stop signal.
        try? await cancelWhenGracefulShutdown {
            var last = dispatcher.summary
            while !Task.isCancelled {
                try await Task.sleep(for: every)
                let now = dispatcher.summary
                if let metadata = Self.metadata(from: last, to: now, every: every) {
                    logger.info("delivered", metadata: metadata)
                }
                last = now
            }
        }
    }

    /// What changed between two summaries, as typed log fields; nil when
    /// nothing did.
    static func metadata(from last: DrainSummary, to now: DrainSummary, every: Duration) -> Logger.Metadata? {
        let changes: [(String, Int)] = [
            ("sent", now.sent - last.sent), ("dead", now.dead - last.dead), ("requests", now.requests - last.requests),
            ("transient_failures", now.transientFailures - last.transientFailures), ("rate_limit_waits", now.rateLimitWaits - last.rateLimitWaits),
            ("token_refreshes", now.tokenRefreshes - last.tokenRefreshes),
        ]
        guard changes.contains(where: { $0.1 != 0 }) else { return nil }
        var metadata: Logger.Metadata = ["interval_s": .stringConvertible(every.seconds)]
        for (key, change) in changes { metadata[key] = .stringConvertible(change) }
        return metadata
    }
}
