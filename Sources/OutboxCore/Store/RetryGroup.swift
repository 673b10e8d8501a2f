/// Which retry rows a claim takes together. A re-send must hold the same
/// events as the request it repeats, or it goes under another idempotency
/// key (and Zuora may bill twice); so a claim of retry rows takes one group,
/// picked by the first due row:
package enum RetryGroup: Sendable, Equatable {
    /// The rows of a claim whose lease lapsed (a killed or stalled
    /// dispatcher), all of them: the request it may have sent held them.
    case lapsedClaim(token: String)
    /// The rows of a request that got no answer, sharing its key.
    case unanswered(key: String)
    /// Rows whose every request was answered, or that were never sent: free
    /// to go with any others.
    case free

    /// The group of the first due row (its state, claim token and
    /// unanswered key).
    package static func of(firstDue state: EventState, token: String?, unansweredKey: String?) -> RetryGroup {
        if state == .inflight, let token { return .lapsedClaim(token: token) }
        if let unansweredKey { return .unanswered(key: unansweredKey) }
        return .free
    }
}
