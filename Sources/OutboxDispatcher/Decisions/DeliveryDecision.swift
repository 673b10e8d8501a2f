/// What to do with Zuora's answer to one batch: the contract's table as a
/// pure function, apart from the I/O that follows it.
enum DeliveryDecision: Equatable, Sendable {
    /// Every event of the batch is accepted.
    case accepted
    /// Zuora rejected the batch (400, or 2xx with `"success": false`): a
    /// single event is dead-lettered; a larger batch is bisected.
    case rejected
    /// 413: split the batch; a single event still too large is dead-lettered.
    case tooLarge
    /// 401: fetch a new token and resend once.
    case unauthorized
    /// 403 or 404: a configuration problem (permission, unknown meter).
    /// Retried with backoff, reported loudly, never dead-lettered.
    case configurationProblem
    /// 429 or 503: wait `retryAfterSeconds` (when the answer said; else the
    /// host-wide backoff) before any usage request to this host; attempts
    /// are not spent.
    case rateLimited(retryAfterSeconds: Double?)
    /// Zuora's codes say "retry later" (categories 50, 60, 61): not the
    /// events' fault. Retried with the meter's backoff like a 5xx, but
    /// spending no attempt, so it can never dead-letter anything.
    case retryLater
    /// 409 to a request that carried an idempotency key: the key's first
    /// request is still being worked on. Sent again later under the same
    /// key, spending no attempt.
    case keyInProgress(retryAfterSeconds: Double?)
    /// 422 to a request that carried an idempotency key: the key came
    /// before with another body (a fault of ours). Retried under a new
    /// key, spending an attempt.
    case keyReusedWithAnotherBody
    /// Other 5xx, timeouts, connection errors, and a 2xx whose body could
    /// not be read to the end: retry with backoff, spending an attempt.
    case transient
}
