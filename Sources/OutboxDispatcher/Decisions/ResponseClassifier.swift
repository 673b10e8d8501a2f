public enum ResponseClassifier {
    /// Classifies an HTTP answer. `success` is what the body said about
    /// `success`, read to its end (it matters only for a 2xx).
    public static func classify(status: Int, success: SuccessFinding, retryAfterSeconds: Double?) -> DeliveryDecision {
        switch status {
        case 200..<300:
            switch success {
            case .notFalse: return .accepted
            case .explicitlyFalse: return .rejected
            case .unreadable: return .transient
            }
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

    /// The same for a body held whole (tests, and callers without a stream).
    public static func classify(status: Int, body: [UInt8], retryAfterSeconds: Double?) -> DeliveryDecision {
        var scanner = SuccessScanner()
        scanner.feed(body)
        return classify(status: status, success: scanner.finish(), retryAfterSeconds: retryAfterSeconds)
    }
}
