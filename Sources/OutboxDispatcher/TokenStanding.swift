/// What the latest word on the dispatcher's credentials was: the last token
/// request's outcome, or Zuora's 401 to a fixed bearer token. `/readyz`
/// follows it both ways, so a drain whose secret is revoked (or rotated
/// without it) stops being ready, and is ready again once a token comes.
package enum TokenStanding: Sendable, Equatable {
    /// No token asked for yet.
    case untried
    /// The last token request gave one (or a fixed bearer token that Zuora
    /// has not refused).
    case good
    /// Zuora refused the credentials.
    case refused(String)
    /// The token endpoint could not be used (out of reach, 5xx, 429).
    case unavailable(String)

    /// Why a drain with this standing is not ready; nil when it is.
    package var notReadyReason: String? {
        switch self {
        case .good: nil
        case .untried: "no token from Zuora yet"
        case .refused(let message): "no token from Zuora: \(message)"
        case .unavailable(let message): "no token from Zuora: \(message)"
        }
    }
}
