import OutboxCore
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

    /// Dates no calendar has, or with signed and overlong fields, are not
    /// dates: never a trap (an `Int` field of -10^18 hours once overflowed).
    @Test(arguments: [
        "Sun, 06 Nov 300000000000 08:49:37 GMT",
        "Sun, 06 Nov 2026 -999999999999999999:00:00 GMT",
        "Sun, 06 Nov 2026 08:-99999999999999999:00 GMT",
        "Sun, 06 Nov 2026 08:49:-9999999999999999 GMT",
        "Sun, -6 Nov 2026 08:49:37 GMT",
        "Sun, 06 Nov -026 08:49:37 GMT",
        "Sun, 06 Nov 2026 +8:49:37 GMT",
        "Sun, 06 Nov 2026 08:49 GMT",
        "Sun, 06 Nov 2026 08:49:37: GMT",
    ])
    func ignoresDatesNoCalendarHas(_ header: String) {
        #expect(HTTPDate.parse(header) == nil)
        #expect(RetryAfter.seconds(retryAfter: header, rateLimitReset: nil, nowUnixSeconds: now) == nil)
    }
}

struct BackoffTests {
    @Test func ceilingsDoubleUpToTheCap() {
        let policy = BackoffPolicy(base: .seconds(1), cap: .seconds(30))
        #expect((1...7).map { policy.ceiling(attempt: $0) } == [1, 2, 4, 8, 16, 30, 30].map { .seconds($0) })
        #expect(policy.ceiling(attempt: 10_000) == .seconds(30))
    }

    @Test func delaysAreFullJitterWithinTheCeiling() {
        let policy = BackoffPolicy(base: .milliseconds(500), cap: .seconds(10))
        var generator = SystemRandomNumberGenerator()
        for attempt in 1...12 {
            let delays = (0..<200).map { _ in policy.delay(attempt: attempt, using: &generator) }
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= policy.ceiling(attempt: attempt) })
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
            { $0.concurrency = 0 }, { $0.maxAttempts = -1 }, { $0.maxAttempts = 0 },
            {
                $0.lease = .seconds(10)
                $0.requestTimeout = .seconds(30)
            },
            { $0.entityIDs = ["a\nb"] }, { $0.entityIDs = [""] }, { $0.orgIDs = ["a,b"] },
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

/// What a 2xx body says about `success`, read in pieces of any size.
struct SuccessScannerTests {
    static let cases: [(String, String, SuccessFinding)] = [
        ("empty", "", .notFalse),
        ("whitespace only", " \n", .notFalse),
        ("success true", #"{"success":true,"message":"ok"}"#, .notFalse),
        ("no success key", #"{"message":"queued"}"#, .notFalse),
        ("success false", #"{"success":false}"#, .explicitlyFalse),
        ("spaced", #"{ "reasons" : [ {"code":1} ] , "success" : false }"#, .explicitlyFalse),
        ("false only when nested", #"{"data":{"success":false},"success":true}"#, .notFalse),
        ("the words inside a string", #"{"note":"\"success\": false","success":true}"#, .notFalse),
        ("a key with an escape is not taken for success", #"{"succ\u0065ss":false}"#, .notFalse),
        ("a longer key", #"{"successful":false}"#, .notFalse),
        ("success as a string", #"{"success":"false"}"#, .notFalse),
        ("an array document", #"[{"success":false}]"#, .notFalse),
        ("cut off", #"{"success":true,"message":"o"#, .unreadable("the body ends before its JSON does")),
        ("cut off inside the reasons", #"{"reasons":[{"code":1}"#, .unreadable("the body ends before its JSON does")),
        ("not JSON", "<html>OK</html>", .unreadable("the body is not a JSON object (it starts with byte 0x3c)")),
        ("more after the JSON", #"{"success":true} trailing"#, .unreadable("the body has more after its JSON")),
    ]

    @Test(arguments: cases)
    func reads(_ name: String, _ body: String, _ expected: SuccessFinding) {
        var whole = SuccessScanner()
        whole.feed(Array(body.utf8))
        #expect(whole.finish() == expected, "\(name)")
        // One byte at a time: the same answer.
        var bytewise = SuccessScanner()
        for byte in body.utf8 { bytewise.feed([byte]) }
        #expect(bytewise.finish() == expected, "\(name), byte by byte")
    }

    /// Zuora's error shape with a reasons list far past the 64 KiB the client
    /// keeps: `success` comes last, and is still found.
    @Test func findsFalseAfterAHugeReasonsList() {
        let reasons = (0..<3000).map { #"{"code":53100320,"message":"event \#($0) does not match the meter's definition"}"# }.joined(separator: ",")
        let body = #"{"processId":"p","reasons":[\#(reasons)],"success":false}"#
        #expect(body.utf8.count > 200_000)
        var scanner = SuccessScanner()
        var bytes = Array(body.utf8)[...]
        while !bytes.isEmpty {
            scanner.feed(bytes.prefix(4096))
            bytes = bytes.dropFirst(4096)
        }
        #expect(scanner.finish() == .explicitlyFalse)
        #expect(ResponseClassifier.classify(status: 200, body: Array(body.utf8), retryAfterSeconds: nil) == .rejected)
    }

    @Test func anUnreadable2xxIsRetriedNotAccepted() {
        #expect(ResponseClassifier.classify(status: 200, success: .unreadable("cut"), retryAfterSeconds: nil) == .transient)
        #expect(ResponseClassifier.classify(status: 400, success: .unreadable("cut"), retryAfterSeconds: nil) == .rejected)
    }
}

/// Base URLs: credentials refused and never shown; loopback means loopback.
struct ZuoraEndpointTests {
    @Test(arguments: ["http://127.0.0.1:8080", "http://127.1.2.3", "http://localhost:9", "http://LOCALHOST", "http://[::1]:8080", "https://rest.zuora.com"])
    func accepts(_ url: String) throws {
        _ = try ZuoraEndpoint(baseURL: url, allowInsecureHTTP: false)
    }

    @Test(arguments: [
        "http://127.example.net", "http://127.0.0.1.example.net", "http://127.0.0.256", "http://127.0.0", "http://1270.0.0.1",
        "http://localhost.example.net", "http://10.0.0.1", "http://[::2]",
    ])
    func refusesPlainHTTPBeyondLoopback(_ url: String) {
        let error = #expect(throws: DispatcherConfigurationError.self) { try ZuoraEndpoint(baseURL: url, allowInsecureHTTP: false) }
        #expect(error?.message.contains("plain http://") == true)
        #expect(throws: Never.self) { try ZuoraEndpoint(baseURL: url, allowInsecureHTTP: true) }
    }

    @Test(arguments: ["https://user:hunter2@rest.zuora.com", "http://admin:hunter2@127.0.0.1:8080/path", "admin:hunter2@rest.zuora.com"])
    func refusesCredentialsWithoutShowingThem(_ url: String) {
        let error = #expect(throws: DispatcherConfigurationError.self) { try ZuoraEndpoint(baseURL: url, allowInsecureHTTP: false) }
        #expect(error.map { !$0.description.contains("hunter2") } == true, "\(error?.description ?? "")")
    }
}

/// The host-wide gate: hinted waits as told, unhinted ones growing with the
/// streak, reset by a success.
struct RateLimitGateTests {
    let now = ContinuousClock.now

    @Test func unhintedAnswersGrowOneStreakAndASuccessEndsIt() {
        let backoff = BackoffPolicy(base: .seconds(1), cap: .seconds(8))
        let gate = RateLimitGate(backoff: backoff)
        for streak in 1...6 {
            let wait = gate.hold(hintSeconds: nil, now: now)
            #expect(gate.streak == streak)
            #expect(wait >= 0 && .seconds(wait) <= backoff.ceiling(attempt: streak), "wait \(wait) past the ceiling for streak \(streak)")
        }
        #expect(backoff.ceiling(attempt: 6) == .seconds(8), "capped")
        gate.hold(hintSeconds: 30, now: now)
        #expect(gate.streak == 6, "a hinted answer is waited as told and leaves the streak alone")
        gate.succeeded()
        #expect(gate.streak == 0)
        #expect(gate.holdCount == 7)
    }

    @Test func aHoldIsNeverShortenedAndEndsOnTime() {
        let gate = RateLimitGate(backoff: BackoffPolicy())
        gate.hold(hintSeconds: 10, now: now)
        gate.hold(hintSeconds: 2, now: now)
        #expect(gate.closedUntil(now: now) == now + .seconds(10))
        #expect(gate.closedUntil(now: now + .seconds(9)) != nil)
        #expect(gate.closedUntil(now: now + .seconds(10)) == nil)
    }
}

/// A proof of the claim covers a request only while the lease, less a whole
/// request, still has room: a lease barely longer than the request timeout
/// must be renewed before nearly every request.
struct ClaimFenceFreshnessTests {
    static func fence(leaseMilliseconds: Int64, requestTimeout: Duration, at start: ContinuousClock.Instant) -> ClaimFence {
        let claim = Claim(token: ClaimToken(value: "t"), meter: "m", events: [], leaseMilliseconds: leaseMilliseconds)
        return ClaimFence(claim: claim, claimedAt: start, requestTimeout: requestTimeout)
    }

    @Test func aRoomyLeaseTrustsAProofForASecond() {
        let start = ContinuousClock.now
        let fence = Self.fence(leaseMilliseconds: 60_000, requestTimeout: .seconds(30), at: start)
        #expect(!fence.needsRenewal(now: start + .milliseconds(900)))
        #expect(fence.needsRenewal(now: start + .milliseconds(1100)))
    }

    @Test func aTightLeaseTrustsAProofOnlyForHalfItsSlack() {
        let start = ContinuousClock.now
        // 30.5 s lease, 30 s timeout: a request sent 0.3 s after the proof
        // could still be on the wire when the lease lapses.
        let fence = Self.fence(leaseMilliseconds: 30_500, requestTimeout: .seconds(30), at: start)
        #expect(!fence.needsRenewal(now: start + .milliseconds(200)))
        #expect(fence.needsRenewal(now: start + .milliseconds(300)))
    }
}
