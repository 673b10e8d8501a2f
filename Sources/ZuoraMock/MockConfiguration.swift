/// How the Zuora mock behaves: what it accepts, and which faults it injects.
/// Every knob can also be changed while it runs (`ZuoraMockServer.update`).
public struct MockConfiguration: Sendable {
    // Authentication
    public var clientID = "mock-client-id"
    public var clientSecret = "mock-client-secret"
    /// Fixed bearer tokens always accepted (for `ZUORA_BEARER_TOKEN`).
    public var staticTokens: Set<String> = ["mock-static-token"]
    /// Lifetime of tokens from `/oauth/token`.
    public var tokenLifetimeSeconds: Double = 3600
    /// Share of the announced lifetime a token really lasts: below 1, tokens
    /// die before the client expects (revoked, or clocks apart), so requests
    /// meet 401s mid-drain.
    public var tokenValidityFraction: Double = 1

    // What it accepts
    /// When set, only these meters exist; others get 404.
    public var knownMeters: Set<String>? = nil
    /// Meters that always get 404.
    public var unknownMeters: Set<String> = []
    /// Largest JSON body (after decompression), like Zuora's per-call limit.
    public var maxBodyBytes = 4_194_304
    public var maxEventsPerRequest = 10_000
    /// Events whose CustomerId starts with this are rejected (400), as a
    /// meter's business rule would. Negative quantities are rejected too.
    public var rejectCustomerPrefix = "INVALID"
    /// Meters that always get 403 (a permission problem).
    public var forbiddenMeters: Set<String> = []
    /// Reject bad batches with `200 {"success": false}` instead of 400, as
    /// Zuora's error-handling guide says can happen.
    public var rejectWith200 = false
    /// Pad each rejection's `reasons` list with this many bytes of extra
    /// reasons, placed before `"success": false` (a large error body).
    public var rejectionPaddingBytes = 0
    /// Field holding the event id, used to count duplicates.
    public var eventIdField: String? = "EventId"

    // Mediation after the 200
    /// Events whose CustomerId starts with this are accepted (200), then
    /// rejected by "Mediation": listed as ERROR entries in their meter's
    /// audit trail (`GET /meters/{id}/auditTrail/entries`).
    public var lateRejectPrefix: String? = nil
    /// Numeric meter ids by meter global id, for the audit trail's URL.
    public var meterIDs: [String: Int64] = [:]
    /// A meter's Deduplicator on this field: an event whose value of it was
    /// accepted before is discarded (not billed again) and listed as an
    /// ERROR entry of a Deduplicator operator, as Zuora documents.
    public var deduplicateBy: String? = nil
    /// Audit payloads as a meter that renamed its fields reports them
    /// (`customer id`, `qty`, `event time`, `usage id`); the event id field
    /// is kept unless `auditPayloadDropsEventId`.
    public var reshapeAuditPayloads = false
    public var auditPayloadDropsEventId = false
    /// Usage requests (1-based, counted by the mock) answered 200 with
    /// `"success": false` and a code that is never the events' fault
    /// (`retryableCode`: 58730050 lock competition by default).
    public var scriptedRetryableAnswers: Set<Int> = []
    public var retryableCode = 58_730_050
    /// Honour `Idempotency-Key` on usage requests as Zuora documents for
    /// POSTs (`MockIdempotency`); off plays a tenant that ignores it.
    public var honourIdempotencyKeys = true
    /// Usage requests (1-based) whose events are billed and whose answer
    /// never comes: the connection is held until the client gives up. What a
    /// dispatcher killed mid-request, or timed out, cannot know.
    public var scriptedLostAnswers: Set<Int> = []
    /// Token requests (1-based) answered 429 with `Retry-After: 1`.
    public var scriptedTokenRateLimits: Set<Int> = []
    /// Every 200 says the tenant's quota is spent (`RateLimit-Remaining: 0`)
    /// for this many seconds (`RateLimit-Reset`).
    public var quotaExhaustedResetSeconds: Int? = nil

    // Faults
    /// Share of usage requests answered 500.
    public var failureRate = 0.0
    /// Share of usage requests whose connection is closed without an answer.
    public var dropRate = 0.0
    /// Share of usage requests that never get an answer (the client times out).
    public var hangRate = 0.0
    /// Share of usage requests answered 429 with `Retry-After`.
    public var rateLimitRate = 0.0
    /// Seconds announced in `Retry-After` (and `ratelimit-reset`).
    public var retryAfterSeconds = 1
    /// A request arriving this soon after a 429 was sent is not counted as
    /// a Retry-After violation: it may have been sent before the client saw
    /// the 429. Raise it on loaded machines.
    public var retryAfterGraceSeconds = 0.25
    /// Send the wait as an HTTP date instead of seconds.
    public var retryAfterAsHTTPDate = false
    /// Answer rate limits with 503 instead of 429.
    public var rateLimitWith503 = false
    /// Send rate limits without `Retry-After` or `ratelimit-reset`, so the
    /// client must choose its own wait.
    public var rateLimitWithoutHint = false
    /// Usage requests (counting from 1, in arrival order) answered 429 with
    /// `Retry-After: retryAfterSeconds`, one-off: other requests are not held.
    public var scriptedRateLimits: Set<Int> = []
    /// Delay before each usage answer, in milliseconds.
    public var delayMilliseconds = 0
    /// Answer every usage request 500 (Zuora down).
    public var down = false
    /// Seed for the fault dice, for reproducible runs.
    public var seed: UInt64? = nil

    /// Append every accepted event to this NDJSON file, written before the
    /// 200: `{"meter": "...", "event": "<the event's text as received, as a JSON string>"}`.
    public var recordFile: String? = nil

    public init() {}
}
