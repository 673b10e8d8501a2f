import Foundation
import Synchronization

/// What the mock saw: requests, accepted events, and rule breaches by the
/// client (a request sent before a `Retry-After` had passed).
public struct MockStatistics: Sendable, Codable, Equatable {
    public var usageRequests = 0
    public var tokenRequests = 0
    public var acceptedRequests = 0
    public var acceptedEvents = 0
    /// Events accepted more than once (by event id field, else by text).
    public var duplicateEvents = 0
    public var rejectedRequests = 0
    public var unauthorizedRequests = 0
    public var injectedFailures = 0
    public var injectedDrops = 0
    public var injectedHangs = 0
    public var rateLimited = 0
    /// Usage requests that arrived while an announced Retry-After was still
    /// running (beyond a short grace for requests already in flight).
    public var retryAfterViolations = 0
    public var gzipRequests = 0
    /// Audit trail requests, and ERROR entries recorded for late rejections.
    public var auditRequests = 0
    public var lateRejected = 0
    /// Repeats a Deduplicator discarded (listed in the audit trail, not billed).
    public var duplicatesDiscarded = 0
    /// Answers whose code said "retry later", and token requests refused 429.
    public var retryableAnswers = 0
    public var tokenRateLimited = 0
    /// Requests billed whose answer was never sent (`scriptedLostAnswers`).
    public var lostAnswers = 0
    /// Idempotency keys: answers replayed, 409s (key in progress) and 422s
    /// (key with another body).
    public var idempotentReplays = 0
    public var idempotencyConflicts = 0
    public var idempotencyMismatches = 0
    /// The most events seen in one request.
    public var largestBatch = 0
    /// The most usage requests being worked on at once.
    public var maxInFlight = 0
    public var acceptedByMeter: [String: Int] = [:]
}
