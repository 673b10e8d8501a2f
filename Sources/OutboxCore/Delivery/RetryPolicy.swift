/// When to retry a failed event, and when to give up on it.
package struct RetryPolicy: Sendable, Equatable {
    package var backoff: BackoffPolicy
    /// Nil retries transient failures forever; N dead-letters an event once
    /// N attempts have failed. 0 (or less), this field's "no limit" before
    /// it became optional, still means no limit, so code written then keeps
    /// its meaning; `DispatcherConfiguration` refuses it with a clear error.
    package var maxAttempts: Int?

    package init(backoff: BackoffPolicy = BackoffPolicy(), maxAttempts: Int? = nil) {
        self.backoff = backoff
        self.maxAttempts = maxAttempts
    }

    /// Whether an event that has now failed `attempts` times is given up on.
    package func givesUp(afterAttempts attempts: Int) -> Bool {
        guard let maxAttempts, maxAttempts > 0 else { return false }
        return attempts >= maxAttempts
    }
}
