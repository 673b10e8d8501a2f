import Foundation
import Logging

/// Everything that shapes a dispatcher. Defaults are the safe production
/// values from Zuora's documented limits (API Sandbox: 1,000 events, 1 MB).
public struct DispatcherConfiguration: Sendable {
    /// `https://rest.zuora.com` and the like; `http://` only for loopback
    /// hosts unless `allowInsecureHTTP`.
    public var baseURL: String
    public var credentials: ZuoraCredentials
    /// Events per request, 1...10,000.
    public var batchSize = 1000
    /// Bytes per request body before compression, up to 4 MiB.
    public var maxBatchBytes = 1_048_576
    /// Requests in flight at once.
    public var concurrency = 4
    public var gzip = true
    /// Send an `Idempotency-Key` with every usage request (see
    /// `IdempotencyKey`): Zuora replays the first answer to a key, so a
    /// re-send whose answer never came is not billed twice.
    public var idempotencyKeys = true
    /// The `Zuora-Entity-Ids` header, for multi-entity tenants: sent joined
    /// by commas; none when empty.
    public var entityIDs: [String] = []
    /// The `Zuora-Org-Ids` header, for multi-org tenants: sent joined by
    /// commas; none when empty.
    public var orgIDs: [String] = []
    /// Nil retries transient failures forever; N dead-letters an event after
    /// N failed attempts.
    public var maxAttempts: Int?
    /// How long a claim holds before another dispatcher may take it over.
    public var lease: Duration = .seconds(60)
    /// One deadline for a whole request, headers and body.
    public var requestTimeout: Duration = .seconds(30)
    public var connectTimeout: Duration = .seconds(10)
    public var backoff = BackoffPolicy()
    /// How often an idle dispatcher looks for events appended by other
    /// processes (in-process appends wake it at once).
    public var pollInterval: Duration = .milliseconds(500)
    /// Send a bearer token over plain HTTP to a non-loopback host.
    public var allowInsecureHTTP = false
    /// Start of every `Zuora-Track-Id`.
    public var trackIDPrefix = "outbox"
    /// Operator ids of the meters' Deduplicators, besides those whose type or
    /// name says "dedup": their audit entries are discarded copies, not
    /// rejections (reconcile).
    public var deduplicatorOperatorIDs: Set<String> = []
    /// Names this dispatcher in its claims' tokens (each claim adds a random
    /// part of its own); unique per process by default.
    public var owner: String
    public var logger: Logger
    /// Where waits and deadlines are measured. Tests pass a clock they
    /// advance by hand; everything else keeps the system clock.
    public var clock: any OutboxClock = SystemClock()
    /// The Zuora environment whose limits apply: batch size, request body
    /// size and requests per minute must stay within them. Nil: only
    /// Zuora's widest limits (production's) are checked.
    public var environment: ZuoraEnvironment?
    /// No 60-second window holds more requests than this from every
    /// dispatcher of the outbox together (usage requests, retries and
    /// bisection halves, and audit reads; kept in the store). Nil: the
    /// environment's calls per minute, or no limit without one.
    public var maxRequestsPerMinute: Int?
    /// The same for any hour. Nil: no limit.
    public var maxRequestsPerHour: Int?
    /// The same for any 24 hours. Nil: the environment's daily cap (the
    /// sandboxes'), or no limit without one.
    public var maxRequestsPerDay: Int?
    /// Requests in flight at once from every dispatcher of the outbox
    /// together (Zuora allows 40 per tenant by default). Nil: no cap.
    public var maxConcurrentRequests: Int? = 40

    /// The longest request timeout (and connect timeout) accepted.
    public static let maximumRequestTimeout: Duration = .seconds(600)
    /// The longest lease, backoff or other wait accepted.
    public static let maximumWait: Duration = .seconds(86_400)
    /// The longest poll interval accepted.
    public static let maximumPollInterval: Duration = .seconds(3600)

    /// The request rate this dispatcher keeps to, if any.
    public var effectiveMaxRequestsPerMinute: Int? { maxRequestsPerMinute ?? environment?.maxRequestsPerMinute }
    public var effectiveMaxRequestsPerDay: Int? { maxRequestsPerDay ?? environment?.maxRequestsPerDay }

    /// The budgets every dispatcher of the outbox shares.
    package var requestBudget: RequestBudget {
        let windows: [RequestBudget.Window] = [
            effectiveMaxRequestsPerMinute.map { RequestBudget.Window(limit: $0, seconds: 60) },
            maxRequestsPerHour.map { RequestBudget.Window(limit: $0, seconds: 3600) },
            effectiveMaxRequestsPerDay.map { RequestBudget.Window(limit: $0, seconds: 86_400) },
        ].compactMap { $0 }
        return RequestBudget(windows: windows, maxConcurrent: maxConcurrentRequests)
    }

    /// The retry rules the settlement plan follows.
    package var retryPolicy: RetryPolicy { RetryPolicy(backoff: backoff, maxAttempts: maxAttempts) }

    public init(
        baseURL: String, credentials: ZuoraCredentials, owner: String? = nil,
        logger: Logger = Logger(label: "outbox.dispatcher", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.baseURL = baseURL
        self.credentials = credentials
        self.owner = owner ?? DispatcherConfiguration.makeOwner()
        self.logger = logger
    }

    static func makeOwner() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<8).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16) }.joined()
        return "dispatcher-\(getpid())-\(random)"
    }

    /// Checks every value against its range. Errors name the setting
    /// (`DispatcherConfigurationError.setting`), not a command-line flag:
    /// the CLI maps settings to its flags.
    public func validate() throws {
        typealias Setting = DispatcherConfigurationError.Setting
        func fail(_ setting: Setting, _ message: String, hint: String? = nil) throws -> Never {
            throw DispatcherConfigurationError(setting, message, hint: hint)
        }
        let limits = environment ?? .production
        let limitsName = environment.map { "the \($0)'s limit" } ?? "Zuora's maximum"
        guard (1...limits.maxBatchSize).contains(batchSize) else {
            try fail(.batchSize, "the batch size must be between 1 and \(limits.maxBatchSize) events per request (\(limitsName)), got \(batchSize)")
        }
        guard (1024...limits.maxBatchBytes).contains(maxBatchBytes) else {
            try fail(.maxBatchBytes, "the request body limit must be between 1024 and \(limits.maxBatchBytes) bytes (\(limitsName)), got \(maxBatchBytes)")
        }
        if let maxRequestsPerMinute, !(1...limits.maxRequestsPerMinute).contains(maxRequestsPerMinute) {
            try fail(
                .maxRequestsPerMinute,
                "the request rate must be between 1 and \(limits.maxRequestsPerMinute) requests per minute (\(limitsName)), got \(maxRequestsPerMinute)")
        }
        if let maxRequestsPerHour, !(1...limits.maxRequestsPerMinute * 60).contains(maxRequestsPerHour) {
            try fail(
                .maxRequestsPerHour,
                "the hourly budget must be between 1 and \(limits.maxRequestsPerMinute * 60) requests (\(limitsName)), got \(maxRequestsPerHour)")
        }
        let dailyCap = limits.maxRequestsPerDay ?? limits.maxRequestsPerMinute * 1440
        if let maxRequestsPerDay, !(1...dailyCap).contains(maxRequestsPerDay) {
            try fail(
                .maxRequestsPerDay, "the daily budget must be between 1 and \(dailyCap) requests (\(limitsName)), got \(maxRequestsPerDay)")
        }
        if let maxConcurrentRequests, !(1...1000).contains(maxConcurrentRequests) {
            try fail(
                .maxConcurrentRequests,
                "the cap on requests in flight must be between 1 and 1000 (Zuora allows 40 per tenant by default), got \(maxConcurrentRequests)")
        }
        guard (1...64).contains(concurrency) else {
            try fail(.concurrency, "the concurrency must be between 1 and 64 requests in flight (Zuora allows 40 per tenant), got \(concurrency)")
        }
        if let maxAttempts, maxAttempts < 1 {
            try fail(.maxAttempts, "the attempt limit must be 1 or more (no limit retries transient failures forever), got \(maxAttempts)")
        }
        // Every duration within sane bounds first: the conversions to
        // milliseconds and nanoseconds below and elsewhere never overflow.
        func within(_ duration: Duration, _ most: Duration) -> Bool { duration > .zero && duration <= most }
        guard within(requestTimeout, Self.maximumRequestTimeout), within(connectTimeout, Self.maximumRequestTimeout) else {
            try fail(.requestTimeout, "timeouts must be longer than zero and at most \(Self.maximumRequestTimeout.components.seconds)s")
        }
        guard within(lease, Self.maximumWait) else {
            try fail(.lease, "the lease must be longer than zero and at most \(Self.maximumWait.components.seconds)s (a day)")
        }
        guard within(backoff.base, Self.maximumWait), within(backoff.cap, Self.maximumWait) else {
            try fail(.backoff, "the backoff base and cap must be longer than zero and at most \(Self.maximumWait.components.seconds)s (a day)")
        }
        guard within(pollInterval, Self.maximumPollInterval) else {
            try fail(.pollInterval, "the poll interval must be longer than zero and at most an hour")
        }
        guard lease > requestTimeout else {
            try fail(
                .lease, "the lease (\(Int(lease.seconds))s) must be longer than the request timeout (\(Int(requestTimeout.seconds))s)",
                hint: "otherwise another dispatcher could take over a batch that is still being sent")
        }
        guard backoff.cap >= backoff.base else {
            try fail(.backoff, "the backoff base must be positive and no larger than its cap")
        }
        if let bad = entityIDs.first(where: { !HeaderValue.isSafeListItem($0) }) {
            try fail(.entityIDs, "the entity id \"\(bad)\" is empty, holds a comma or holds characters not allowed in an HTTP header")
        }
        if let bad = orgIDs.first(where: { !HeaderValue.isSafeListItem($0) }) {
            try fail(.orgIDs, "the org id \"\(bad)\" is empty, holds a comma or holds characters not allowed in an HTTP header")
        }
        _ = try ZuoraEndpoint(baseURL: baseURL, allowInsecureHTTP: allowInsecureHTTP)
    }
}
