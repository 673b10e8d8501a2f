enum ResponseClassifier {
    /// Classifies an HTTP answer. `success` is what the body said about
    /// `success`, read to its end (it matters only for a 2xx).
    /// `category`: what the answer's Zuora error codes say (`ZuoraErrorCategory`);
    /// codes that are never the events' fault make a rejection or a server
    /// error a retry (a 70, a wait like a 429). `keyed`: the request carried
    /// an idempotency key, which gives 409 and 422 their documented meaning.
    static func classify(
        status: Int, success: SuccessFinding, retryAfterSeconds: Double?, category: ZuoraErrorCategory.Verdict = .mayBeTheEvents,
        keyed: Bool = false
    ) -> DeliveryDecision {
        if keyed && status == 409 { return .keyInProgress(retryAfterSeconds: retryAfterSeconds) }
        if keyed && status == 422 { return .keyReusedWithAnotherBody }
        let answeredNo = (200..<300).contains(status) ? success == .explicitlyFalse : true
        if answeredNo && ![401, 403, 404, 413].contains(status) {
            switch category {
            case .retryLater: return [429, 503].contains(status) ? .rateLimited(retryAfterSeconds: retryAfterSeconds) : .retryLater
            case .limitExceeded: return .rateLimited(retryAfterSeconds: retryAfterSeconds)
            case .mayBeTheEvents: break
            }
        }
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
    static func classify(status: Int, body: [UInt8], retryAfterSeconds: Double?) -> DeliveryDecision {
        var scanner = SuccessScanner()
        scanner.feed(body)
        return classify(
            status: status, success: scanner.finish(), retryAfterSeconds: retryAfterSeconds, category: ZuoraErrorCategory.verdict(body: body))
    }
}
