import Foundation
import Logging

public struct DispatcherConfigurationError: Error, Sendable, CustomStringConvertible {
    /// Which setting is wrong: an app shows its own name for it, the CLI
    /// its flag and environment variable.
    public enum Setting: String, Sendable, CaseIterable {
        case baseURL, credentials, batchSize, maxBatchBytes, maxRequestsPerMinute, maxRequestsPerHour, maxRequestsPerDay, maxConcurrentRequests
        case environment, concurrency, maxAttempts
        case requestTimeout, lease, backoff, pollInterval, entityIDs, orgIDs
    }

    public let setting: Setting
    public let message: String
    public let hint: String?

    public init(_ setting: Setting, _ message: String, hint: String? = nil) {
        self.setting = setting
        self.message = message
        self.hint = hint
    }

    public var description: String { hint.map { "\(message)\n\($0)" } ?? message }
}
