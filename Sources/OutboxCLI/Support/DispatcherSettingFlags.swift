import OutboxDispatcher

/// The CLI's names for the dispatcher's settings: a library error names
/// the setting, the CLI's message names the flag and variable that set it.
extension DispatcherConfigurationError.Setting {
    var flagAndVariable: String {
        switch self {
        case .baseURL: "--base-url or ZUORA_BASE_URL (--allow-insecure-http for plain http:// beyond loopback)"
        case .credentials: "ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET, or ZUORA_BEARER_TOKEN"
        case .batchSize: "--batch-size or OUTBOX_BATCH_SIZE"
        case .maxBatchBytes: "--max-batch-bytes or OUTBOX_MAX_BATCH_BYTES"
        case .maxRequestsPerMinute: "--max-requests-per-minute or OUTBOX_MAX_REQUESTS_PER_MINUTE"
        case .maxRequestsPerHour: "--max-requests-per-hour or OUTBOX_MAX_REQUESTS_PER_HOUR"
        case .maxRequestsPerDay: "--max-requests-per-day or OUTBOX_MAX_REQUESTS_PER_DAY"
        case .maxConcurrentRequests: "--max-concurrent-requests or OUTBOX_MAX_CONCURRENT_REQUESTS"
        case .environment: "--zuora-environment or ZUORA_ENVIRONMENT"
        case .concurrency: "--concurrency or OUTBOX_CONCURRENCY"
        case .maxAttempts: "--max-attempts or OUTBOX_MAX_ATTEMPTS"
        case .requestTimeout: "--request-timeout or OUTBOX_REQUEST_TIMEOUT"
        case .lease: "--lease or OUTBOX_LEASE"
        case .backoff: "--backoff-base and --backoff-cap (OUTBOX_BACKOFF_BASE, OUTBOX_BACKOFF_CAP)"
        case .pollInterval: "--poll-interval or OUTBOX_POLL_INTERVAL"
        case .entityIDs: "--entity-ids or ZUORA_ENTITY_IDS"
        case .orgIDs: "--org-ids or ZUORA_ORG_IDS"
        }
    }
}

extension CommandFailure {
    /// A dispatcher configuration error as the CLI reports it: the library's
    /// message, then a hint that names the flag to change.
    init(_ error: DispatcherConfigurationError) {
        let hint = [error.hint, "set with \(error.setting.flagAndVariable)"].compactMap { $0 }.joined(separator: "; ")
        self.init(error.message, hint: hint, exitCode: Exit.usage)
    }
}
