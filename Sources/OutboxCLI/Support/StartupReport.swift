import Logging
import OutboxDispatcher

/// The line a drain (and `outbox check`) starts with: what it will run as,
/// so the first log line answers "which database, which tenant, how fast".
struct StartupReport {
    let database: String
    let configuration: DispatcherConfiguration

    var fields: [(String, String)] {
        let budgets = [
            configuration.effectiveMaxRequestsPerMinute.map { "\(ProgressDisplay.group($0))/min" },
            configuration.maxRequestsPerHour.map { "\(ProgressDisplay.group($0))/h" },
            configuration.effectiveMaxRequestsPerDay.map { "\(ProgressDisplay.group($0))/day" },
            configuration.maxConcurrentRequests.map { "\($0) concurrent" },
        ].compactMap { $0 }
        return [
            ("version", OutboxVersion.current),
            ("database", database),
            ("base_url", configuration.baseURL),
            ("environment", configuration.environment.map { "\($0)" } ?? "unknown"),
            ("concurrency", "\(configuration.concurrency)"),
            ("batch_size", "\(configuration.batchSize)"),
            ("budgets", budgets.isEmpty ? "none" : budgets.joined(separator: ", ")),
            ("idempotency_keys", configuration.idempotencyKeys ? "on" : "off"),
        ]
    }

    var line: String {
        "outbox \(OutboxVersion.current): " + fields.dropFirst().map { "\($0.0.replacingOccurrences(of: "_", with: " ")) \($0.1)" }.joined(separator: ", ")
    }

    func log(to logger: Logger) {
        var metadata: Logger.Metadata = [:]
        for (key, value) in fields { metadata[key] = "\(value)" }
        // Numbers stay numbers in JSON logs.
        metadata["concurrency"] = .stringConvertible(configuration.concurrency)
        metadata["batch_size"] = .stringConvertible(configuration.batchSize)
        logger.notice("starting", metadata: metadata)
    }
}
