import Testing
@testable import OutboxDispatcher

/// The pure decisions, as tables.
struct ResponseClassifierTests {
    static let cases: [(Int, String, Double?, DeliveryDecision)] = [
        (200, #"{"success":true,"message":"ok"}"#, nil, .accepted),
        (201, "", nil, .accepted),
        (202, #"{"message":"queued"}"#, nil, .accepted),
        (200, #"{"success": false, "reasons":[{"code":1,"message":"bad"}]}"#, nil, .rejected),
        (200, #"{"success":true,"note":"\"success\": false"}"#, nil, .accepted),
        (400, #"{"success":false}"#, nil, .rejected),
        (401, "", nil, .unauthorized),
        (403, "", nil, .configurationProblem),
        (404, "", nil, .configurationProblem),
        (413, "", nil, .tooLarge),
        (429, "", 3, .rateLimited(retryAfterSeconds: 3)),
        (429, "", nil, .rateLimited(retryAfterSeconds: nil)),
        (503, "", 1.5, .rateLimited(retryAfterSeconds: 1.5)),
        (500, "", nil, .transient),
        (502, "", nil, .transient),
        (504, "", nil, .transient),
        (408, "", nil, .transient),
        (409, "", nil, .transient),
    ]

    @Test(arguments: cases)
    func classifies(_ status: Int, _ body: String, _ retryAfter: Double?, _ expected: DeliveryDecision) {
        #expect(ResponseClassifier.classify(status: status, body: Array(body.utf8), retryAfterSeconds: retryAfter) == expected)
    }
}

struct RetryAfterTests {
    let now = 1_764_410_400.0  // 2025-11-29T10:00:00Z

    @Test func readsSeconds() {
        #expect(RetryAfter.seconds(retryAfter: "5", rateLimitReset: nil, nowUnixSeconds: now) == 5)
        #expect(RetryAfter.seconds(retryAfter: " 0 ", rateLimitReset: nil, nowUnixSeconds: now) == 0)
    }

    @Test func readsAnHTTPDate() {
        #expect(RetryAfter.seconds(retryAfter: "Sat, 29 Nov 2025 10:00:30 GMT", rateLimitReset: nil, nowUnixSeconds: now) == 30)
        // A date in the past means "now".
        #expect(RetryAfter.seconds(retryAfter: "Sat, 29 Nov 2025 09:00:00 GMT", rateLimitReset: nil, nowUnixSeconds: now) == 0)
    }

    @Test func fallsBackToRateLimitReset() {
        #expect(RetryAfter.seconds(retryAfter: nil, rateLimitReset: "12", nowUnixSeconds: now) == 12)
        #expect(RetryAfter.seconds(retryAfter: "soon", rateLimitReset: "7", nowUnixSeconds: now) == 7)
    }

    @Test func ignoresGarbageAndCapsHugeWaits() {
        #expect(RetryAfter.seconds(retryAfter: "soon", rateLimitReset: nil, nowUnixSeconds: now) == nil)
        #expect(RetryAfter.seconds(retryAfter: "-3", rateLimitReset: "x", nowUnixSeconds: now) == nil)
        #expect(RetryAfter.seconds(retryAfter: "99999999", rateLimitReset: nil, nowUnixSeconds: now) == RetryAfter.maximumSeconds)
    }
}

struct BackoffTests {
    @Test func ceilingsDoubleUpToTheCap() {
        let policy = BackoffPolicy(baseSeconds: 1, capSeconds: 30)
        #expect((1...7).map { policy.ceiling(attempt: $0) } == [1, 2, 4, 8, 16, 30, 30])
        #expect(policy.ceiling(attempt: 10_000) == 30)
    }

    @Test func delaysAreFullJitterWithinTheCeiling() {
        let policy = BackoffPolicy(baseSeconds: 0.5, capSeconds: 10)
        var generator = SystemRandomNumberGenerator()
        for attempt in 1...12 {
            let delays = (0..<200).map { _ in policy.delay(attempt: attempt, using: &generator) }
            #expect(delays.allSatisfy { $0 >= 0 && $0 <= policy.ceiling(attempt: attempt) })
            if attempt >= 6 { #expect(delays.contains { $0 < policy.ceiling(attempt: attempt) / 2 }, "full jitter reaches low values") }
        }
    }
}

struct TrackIDTests {
    @Test func staysWithinZuorasRules() {
        let id = TrackID.forBatch(prefix: "outbox", firstEventID: "019acf0e-1d00-7abc-8def-0123456789ab", count: 1000)
        #expect(id == "outbox-019acf0e1d007abc8def0123456789ab-1000")
        let hostile = TrackID.sanitize("a:b;c\"d'e f\u{7F}é\n" + String(repeating: "x", count: 100))
        #expect(hostile.hasPrefix("abcdef"))
        #expect(hostile.utf8.count == 64)
        #expect(hostile.unicodeScalars.allSatisfy { TrackID.isAllowed($0) })
    }
}

struct BatchSplitTests {
    @Test func halvesKeepEveryElementInOrder() {
        let (a, b) = BatchSplit.halves(Array(1...7))
        #expect(a == [1, 2, 3, 4])
        #expect(b == [5, 6, 7])
        let (c, d) = BatchSplit.halves([1, 2])
        #expect(c == [1] && d == [2])
    }
}

struct RejectionReasonTests {
    @Test func readsZuorasReasons() {
        let body = #"{"success":false,"processId":"p","reasons":[{"code":53100320,"message":"Invalid usage"}]}"#
        #expect(RejectionReason.describe(status: 400, body: Array(body.utf8)) == "HTTP 400: Invalid usage (code 53100320)")
        #expect(RejectionReason.describe(status: 400, body: Array("oops".utf8)) == "HTTP 400: oops")
        #expect(RejectionReason.describe(status: 400, body: []) == "HTTP 400")
    }
}

struct ConfigurationTests {
    func base(_ url: String) -> DispatcherConfiguration {
        DispatcherConfiguration(baseURL: url, credentials: .bearer(Secret("t")))
    }

    @Test func refusesPlainHTTPToARemoteHost() throws {
        #expect(throws: DispatcherConfigurationError.self) { try base("http://rest.zuora.com").validate() }
        try base("http://127.0.0.1:8080").validate()
        try base("http://localhost:8080/").validate()
        try base("https://rest.zuora.com").validate()
        var allowed = base("http://10.0.0.5")
        allowed.allowInsecureHTTP = true
        try allowed.validate()
        #expect(throws: DispatcherConfigurationError.self) { try base("rest.zuora.com").validate() }
        #expect(throws: DispatcherConfigurationError.self) { try base("https://user:pw@rest.zuora.com").validate() }
        #expect(throws: DispatcherConfigurationError.self) { try base("ftp://rest.zuora.com").validate() }
    }

    @Test func rejectsOutOfRangeValues() {
        let tweaks: [(inout DispatcherConfiguration) -> Void] = [
            { $0.batchSize = 0 }, { $0.batchSize = 10_001 }, { $0.maxBatchBytes = 4_194_305 },
            { $0.concurrency = 0 }, { $0.maxAttempts = -1 }, { $0.leaseSeconds = 10; $0.requestTimeoutSeconds = 30 },
            { $0.entityIDs = "a\nb" },
        ]
        for tweak in tweaks {
            var configuration = base("https://rest.zuora.com")
            tweak(&configuration)
            #expect(throws: DispatcherConfigurationError.self) { try configuration.validate() }
        }
    }

    @Test func credentialsComeFromTheEnvironmentAndStaySecret() throws {
        let oauth = try ZuoraCredentials.fromEnvironment(["ZUORA_CLIENT_ID": "id", "ZUORA_CLIENT_SECRET": "s3cr3t-value"]) { _ in "" }
        #expect(oauth == .oauth(clientID: "id", clientSecret: Secret("s3cr3t-value")))
        #expect(!"\(oauth!)".contains("s3cr3t-value"))
        #expect(!String(reflecting: Secret("s3cr3t-value")).contains("s3cr3t"))
        let fromFile = try ZuoraCredentials.fromEnvironment(["ZUORA_BEARER_TOKEN_FILE": "/run/secrets/t"]) { path in
            path == "/run/secrets/t" ? "tok-from-file\n" : ""
        }
        #expect(fromFile == .bearer(Secret("tok-from-file")))
        #expect(throws: DispatcherConfigurationError.self) { try ZuoraCredentials.fromEnvironment(["ZUORA_CLIENT_ID": "id"]) { _ in "" } }
        #expect(try ZuoraCredentials.fromEnvironment([:]) { _ in "" } == nil)
    }
}
