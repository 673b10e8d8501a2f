import Foundation

/// What to do with Zuora's answer to one batch: the contract's table as a
/// pure function, apart from the I/O that follows it.
public enum DeliveryDecision: Equatable, Sendable {
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
    /// 429 or 503: wait `retryAfterSeconds` (when the answer said) before any
    /// usage request to this host; attempts are not spent.
    case rateLimited(retryAfterSeconds: Double?)
    /// Other 5xx, timeouts and connection errors: retry with backoff,
    /// spending an attempt.
    case transient
}

public enum ResponseClassifier {
    /// Classifies an HTTP answer. `body` is the (decompressed) response body,
    /// used only to spot a 2xx that says `"success": false`.
    public static func classify(status: Int, body: [UInt8], retryAfterSeconds: Double?) -> DeliveryDecision {
        switch status {
        case 200..<300:
            return SuccessFlag.isExplicitlyFalse(body) ? .rejected : .accepted
        case 400: return .rejected
        case 401: return .unauthorized
        case 403, 404: return .configurationProblem
        case 413: return .tooLarge
        case 429, 503: return .rateLimited(retryAfterSeconds: retryAfterSeconds)
        default:
            // Other 4xx (405, 408, 409, 422...) are not in Zuora's documented
            // set; a forwarder must not drop data on an unknown answer, so
            // they are retried like server errors.
            return .transient
        }
    }
}

/// Finds a top-level `"success": false` in a JSON body.
enum SuccessFlag {
    static func isExplicitlyFalse(_ body: [UInt8]) -> Bool {
        // Most 2xx bodies never mention it; skip the parse for those.
        guard body.count < 1 << 20, body.contains(UInt8(ascii: "s")),
              let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let success = object["success"]
        else { return false }
        return (success as? Bool) == false
    }
}
