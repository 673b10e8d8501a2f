import CompressNIO
import Foundation
import HTTPServing
import NIOCore
import OutboxCore

/// A Zuora-compatible server for tests, the demo, and users' own integration
/// tests: `/oauth/token` and `/usage/bulk/{meter}` with the documented
/// answers (200, 400, 401, 404, 413, 429, 500), fault knobs, and a record of
/// every event it accepted, exactly as received.
public final class ZuoraMockServer: Sendable {
    private let server: LoopbackHTTPServer
    let state: MockState

    private init(server: LoopbackHTTPServer, state: MockState) {
        self.server = server
        self.state = state
    }

    /// Starts the mock on `host:port` (port 0 picks a free one).
    public static func start(_ configuration: MockConfiguration = MockConfiguration(), host: String = "127.0.0.1", port: Int = 0) async throws
        -> ZuoraMockServer
    {
        let state = try MockState(configuration: configuration)
        let server = try await LoopbackHTTPServer.start(host: host, port: port, limits: ServerLimits(maxBodyBytes: 64 << 20)) { request in
            await ZuoraMockServer.handle(request, state: state)
        }
        return ZuoraMockServer(server: server, state: state)
    }

    public var port: Int { server.port }
    public var baseURL: String { server.baseURL }

    public var statistics: MockStatistics { state.inner.withLock { $0.statistics } }

    /// Waits until the statistics satisfy `condition` (true), or `timeout`
    /// passes (false): a test waits for the requests it expects as they
    /// arrive, without polling.
    public func waitUntil(timeout: Duration = .seconds(20), _ condition: @escaping @Sendable (MockStatistics) -> Bool) async -> Bool {
        await state.inner.waitUntil(timeout: timeout, observe: { $0.statistics }, condition)
    }

    /// Every event accepted for `meter`, as received, in arrival order.
    public func acceptedEvents(meter: String) -> [String] {
        state.inner.withLock { $0.accepted[meter] ?? [] }
    }

    public func allAcceptedEvents() -> [String: [String]] {
        state.inner.withLock { $0.accepted }
    }

    /// Changes knobs while running (a test turning faults on and off).
    public func update(_ change: (inout MockConfiguration) -> Void) {
        state.inner.withLock { change(&$0.configuration) }
    }

    /// Forgets every issued token: the next usage request with one gets 401
    /// (a token revoked or expired early).
    public func revokeTokens() {
        state.inner.withLock { $0.tokens.removeAll() }
    }

    public func shutdown() async {
        await server.shutdown()
        state.inner.withLock { $0.record?.closeFile() }
    }

    // MARK: Routing

    static func handle(_ request: ServerRequest, state: MockState) async -> ServerReply {
        switch (request.method, request.path) {
        case ("POST", "/oauth/token"):
            return token(request, state: state)
        case ("POST", let path) where path.hasPrefix("/usage/bulk/"):
            let meter = String(path.dropFirst("/usage/bulk/".count)).removingPercentEncoding ?? ""
            return await usage(request, meter: meter, state: state)
        case ("GET", let path) where path.hasPrefix("/meters/") && path.hasSuffix("/auditTrail/entries"):
            let meterID = String(path.dropFirst("/meters/".count).dropLast("/auditTrail/entries".count))
            return auditTrail(request, meterID: meterID, state: state)
        case ("GET", "/_mock/stats"):
            let statistics = state.inner.withLock { $0.statistics }
            let data = (try? JSONEncoder().encode(statistics)) ?? Data("{}".utf8)
            return .json(200, String(decoding: data, as: UTF8.self))
        default:
            return .json(404, #"{"success":false,"reasons":[{"code":50000040,"message":"Not found"}]}"#)
        }
    }

    static func token(_ request: ServerRequest, state: MockState) -> ServerReply {
        let form = FormBody.parse(request.body)
        return state.inner.withLock { inner -> ServerReply in
            inner.statistics.tokenRequests += 1
            if inner.configuration.scriptedTokenRateLimits.contains(inner.statistics.tokenRequests) {
                inner.statistics.tokenRateLimited += 1
                return .json(
                    429, #"{"success":false,"reasons":[{"code":50000070,"message":"Too many token requests"}]}"#, headers: [("Retry-After", "1")])
            }
            guard form["grant_type"] == "client_credentials" else {
                return .json(400, #"{"error":"unsupported_grant_type"}"#)
            }
            guard form["client_id"] == inner.configuration.clientID, form["client_secret"] == inner.configuration.clientSecret else {
                return .json(401, #"{"error":"invalid_client","error_description":"Bad client credentials"}"#)
            }
            inner.tokenCounter += 1
            let token = "mock-token-\(inner.tokenCounter)-\(UInt32.random(in: 0...UInt32.max, using: &inner.random))"
            let lifetime = inner.configuration.tokenLifetimeSeconds
            inner.tokens[token] = Date().timeIntervalSince1970 + lifetime * inner.configuration.tokenValidityFraction
            return .json(
                200,
                #"{"access_token":"\#(token)","token_type":"bearer","expires_in":\#(Int(lifetime.rounded(.up))),"scope":"entity.1","jti":"\#(inner.tokenCounter)"}"#
            )
        }
    }

    /// A usage request: with an `Idempotency-Key` (when honoured), the first
    /// answer to the key is the answer to every request with it.
    static func usage(_ request: ServerRequest, meter: String, state: MockState) async -> ServerReply {
        guard let key = request.header("Idempotency-Key"), state.inner.withLock({ $0.configuration.honourIdempotencyKeys }) else {
            return await workOnUsage(request, meter: meter, key: nil, state: state)
        }
        let started = Date().timeIntervalSince1970
        if let answer = state.inner.withLock({ inner in inner.idempotency.begin(key: key, body: request.body, now: started, statistics: &inner.statistics) }) {
            return answer
        }
        let reply = await workOnUsage(request, meter: meter, key: key, state: state)
        state.inner.withLock { $0.idempotency.finish(key: key, reply: reply, now: Date().timeIntervalSince1970) }
        return reply
    }

    private static func workOnUsage(_ request: ServerRequest, meter: String, key: String?, state: MockState) async -> ServerReply {
        let now = Date().timeIntervalSince1970
        let requestID = UUID().uuidString.lowercased()
        let trackID = request.header("Zuora-Track-Id")
        var common: [(String, String)] = [("Zuora-Request-Id", requestID)]
        if let trackID { common.append(("Zuora-Track-Id", trackID)) }

        // Checks and dice under the lock; sleeping and parsing outside it.
        enum Gate { case reply(ServerReply), hang, proceed(delay: Int, loseAnswer: Bool) }
        let gate: Gate = state.inner.withLock { inner in
            let configuration = inner.configuration
            inner.statistics.usageRequests += 1
            if configuration.scriptedRateLimits.contains(inner.statistics.usageRequests) {
                inner.statistics.rateLimited += 1
                return .reply(
                    rateLimitReply(
                        seconds: configuration.retryAfterSeconds, until: now + Double(configuration.retryAfterSeconds),
                        configuration: configuration, common: common))
            }
            if now < inner.holdUntil {
                if now > inner.holdAnnouncedAt + configuration.retryAfterGraceSeconds { inner.statistics.retryAfterViolations += 1 }
                inner.statistics.rateLimited += 1
                return .reply(
                    rateLimitReply(
                        seconds: max(1, Int((inner.holdUntil - now).rounded(.up))), until: inner.holdUntil, configuration: configuration, common: common))
            }
            let token = request.header("Authorization").flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            let tokenValid = token.map { configuration.staticTokens.contains($0) || (inner.tokens[$0].map { $0 > now } ?? false) } ?? false
            guard tokenValid else {
                inner.statistics.unauthorizedRequests += 1
                return .reply(
                    .json(401, #"{"success":false,"reasons":[{"code":90000011,"message":"Authentication error: invalid or expired token"}]}"#, headers: common))
            }
            if configuration.unknownMeters.contains(meter) || !(configuration.knownMeters?.contains(meter) ?? true) || meter.isEmpty {
                return .reply(.json(404, #"{"success":false,"reasons":[{"code":50000040,"message":"Meter not found"}]}"#, headers: common))
            }
            if configuration.forbiddenMeters.contains(meter) {
                return .reply(.json(403, #"{"success":false,"reasons":[{"code":50000030,"message":"Permission denied"}]}"#, headers: common))
            }
            if configuration.scriptedRetryableAnswers.contains(inner.statistics.usageRequests) {
                inner.statistics.retryableAnswers += 1
                return .reply(
                    .json(
                        200,
                        #"{"success":false,"processId":"P-\#(inner.statistics.usageRequests)","reasons":[{"code":\#(configuration.retryableCode),"message":"Operation failed due to a lock competition, please retry later."}]}"#,
                        headers: common))
            }
            if configuration.down {
                inner.statistics.injectedFailures += 1
                return .reply(.json(500, #"{"success":false,"reasons":[{"code":50000000,"message":"Internal server error"}]}"#, headers: common))
            }
            let roll = Double.random(in: 0..<1, using: &inner.random)
            var threshold = configuration.dropRate
            if roll < threshold {
                inner.statistics.injectedDrops += 1
                return .reply(.dropConnection)
            }
            threshold += configuration.hangRate
            if roll < threshold {
                inner.statistics.injectedHangs += 1
                return .hang
            }
            threshold += configuration.failureRate
            if roll < threshold {
                inner.statistics.injectedFailures += 1
                return .reply(.json(500, #"{"success":false,"reasons":[{"code":50000000,"message":"Internal server error"}]}"#, headers: common))
            }
            threshold += configuration.rateLimitRate
            if roll < threshold {
                inner.statistics.rateLimited += 1
                // An HTTP date has whole seconds: announce (and hold until) a
                // whole second, so the client can honour exactly what it was told.
                inner.holdUntil =
                    configuration.retryAfterAsHTTPDate
                    ? (now + Double(configuration.retryAfterSeconds)).rounded(.up)
                    : now + Double(configuration.retryAfterSeconds)
                inner.holdAnnouncedAt = now
                return .reply(rateLimitReply(seconds: configuration.retryAfterSeconds, until: inner.holdUntil, configuration: configuration, common: common))
            }
            return .proceed(
                delay: configuration.delayMilliseconds, loseAnswer: configuration.scriptedLostAnswers.contains(inner.statistics.usageRequests))
        }
        let losesAnswer: Bool
        switch gate {
        case .reply(let reply):
            return reply
        case .hang:
            // Lost before it was worked on: a re-send with its key starts afresh.
            if let key { state.inner.withLock { $0.idempotency.abandon(key: key) } }
            try? await Task.sleep(for: .seconds(600))
            return .dropConnection
        case .proceed(let delay, let loseAnswer):
            losesAnswer = loseAnswer
            state.inner.withLock { inner in
                inner.inFlight += 1
                inner.statistics.maxInFlight = max(inner.statistics.maxInFlight, inner.inFlight)
            }
            if delay > 0 { try? await Task.sleep(for: .milliseconds(delay)) }
        }
        defer { state.inner.withLock { $0.inFlight -= 1 } }

        var body = request.body
        let gzipped = request.header("Content-Encoding")?.lowercased() == "gzip"
        if gzipped {
            var buffer = ByteBuffer(bytes: body)
            guard let inflated = try? buffer.decompress(with: .gzip(), maxSize: 64 << 20) else {
                return .json(400, #"{"success":false,"reasons":[{"code":53100020,"message":"Request body is not valid gzip"}]}"#, headers: common)
            }
            body = Array(inflated.readableBytesView)
        }
        let configuration = state.inner.withLock { inner in
            if gzipped { inner.statistics.gzipRequests += 1 }
            return inner.configuration
        }
        if body.count > configuration.maxBodyBytes {
            return .json(413, #"{"success":false,"reasons":[{"code":53100413,"message":"Payload too large"}]}"#, headers: common)
        }
        guard let ranges = JSONArrayElements.ranges(in: body),
            let parsed = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        else {
            return rejected("Request body is not valid JSON", state: state, common: common)
        }
        let events = (parsed as? [Any]) ?? [parsed]
        if events.count > configuration.maxEventsPerRequest {
            return .json(413, #"{"success":false,"reasons":[{"code":53100413,"message":"Too many events in one request"}]}"#, headers: common)
        }
        if events.isEmpty { return rejected("No events in the request", state: state, common: common) }
        for event in events {
            if let problem = MockEventRules.problem(event, rejectCustomerPrefix: configuration.rejectCustomerPrefix) {
                return rejected("Invalid usage event in the request: \(problem)", state: state, common: common)
            }
        }
        let texts = ranges.map { String(decoding: body[$0], as: UTF8.self) }
        let identities: [String] = zip(events, texts).map { event, text in
            // Identity per meter: the event id field when present, else the text.
            if let field = configuration.eventIdField, let id = (event as? [String: Any])?[field] as? String { return meter + "\u{0}" + id }
            return meter + "\u{0}" + text
        }
        state.inner.withLock { inner in
            inner.statistics.acceptedRequests += 1
            // A Deduplicator on a field discards repeats: listed as errors, not billed.
            let kept = discardDuplicates(texts, events: events, meter: meter, now: now, into: &inner)
            let keptTexts = kept.map { texts[$0] }
            inner.statistics.acceptedEvents += keptTexts.count
            inner.statistics.largestBatch = max(inner.statistics.largestBatch, texts.count)
            inner.statistics.acceptedByMeter[meter, default: 0] += keptTexts.count
            inner.accepted[meter, default: []].append(contentsOf: keptTexts)
            recordLateRejections(keptTexts, events: kept.map { events[$0] }, meter: meter, now: now, into: &inner)
            for identity in kept.map({ identities[$0] }) {
                let times = inner.seen[identity, default: 0]
                if times > 0 { inner.statistics.duplicateEvents += 1 }
                inner.seen[identity] = times + 1
            }
            if let record = inner.record {
                var lines = ""
                let quotedMeter = JSONValue.string(meter).jsonText
                // The raw text as a JSON string: one line per event even when
                // the event was pretty-printed, and exactly the bytes received.
                for text in keptTexts { lines += "{\"meter\":\(quotedMeter),\"event\":\(JSONValue.string(text).jsonText)}\n" }
                record.write(Data(lines.utf8))
            }
        }
        var headers = common
        if let reset = configuration.quotaExhaustedResetSeconds {
            headers += [("RateLimit-Limit", "600"), ("RateLimit-Remaining", "0"), ("RateLimit-Reset", String(reset))]
        }
        if losesAnswer {
            // Billed, and the answer never comes; Zuora saved it for the key.
            let answer = ServerReply.json(200, #"{"success":true,"message":"\#(texts.count) events ingested"}"#, headers: headers)
            state.inner.withLock { inner in
                inner.statistics.lostAnswers += 1
                if let key { inner.idempotency.finish(key: key, reply: answer, now: now) }
            }
            try? await Task.sleep(for: .seconds(600))
            return .dropConnection
        }
        return .json(200, #"{"success":true,"message":"\#(texts.count) events ingested"}"#, headers: headers)
    }

    private static func rejected(_ message: String, state: MockState, common: [(String, String)]) -> ServerReply {
        let (with200, padding) = state.inner.withLock { inner in
            inner.statistics.rejectedRequests += 1
            return (inner.configuration.rejectWith200, inner.configuration.rejectionPaddingBytes)
        }
        var reasons: [JSONValue] = [["code": 53100320, "message": .string(message)]]
        if padding > 0 {
            let filler = String(repeating: "x", count: 200)
            reasons += Array(repeating: ["code": 53100999, "message": .string(filler)], count: padding / 230 + 1)
        }
        // Reasons first: a long body puts `"success": false` far from the start.
        let text = "{\"processId\":\(JSONValue.string(UUID().uuidString).jsonText),\"reasons\":\(JSONValue.array(reasons).jsonText),\"success\":false}"
        return .json(with200 ? 200 : 400, text, headers: common)
    }

    private static func rateLimitReply(seconds: Int, until: Double, configuration: MockConfiguration, common: [(String, String)]) -> ServerReply {
        var headers = common
        if configuration.rateLimitWithoutHint {
            let status = configuration.rateLimitWith503 ? 503 : 429
            return .json(status, #"{"success":false,"reasons":[{"code":50000429,"message":"Too many requests"}]}"#, headers: headers)
        }
        if configuration.retryAfterAsHTTPDate {
            headers.append(("Retry-After", HTTPDateFormat.format(Date(timeIntervalSince1970: until.rounded(.up)))))
        } else {
            headers.append(("Retry-After", String(seconds)))
        }
        headers += [("ratelimit-limit", "600"), ("ratelimit-remaining", "0"), ("ratelimit-reset", String(seconds))]
        let status = configuration.rateLimitWith503 ? 503 : 429
        return .json(status, #"{"success":false,"reasons":[{"code":50000429,"message":"Too many requests"}]}"#, headers: headers)
    }
}

enum FormBody {
    static func parse(_ body: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            let key = String(parts[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            let value = parts.count > 1 ? (String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
            fields[key] = value
        }
        return fields
    }
}

enum HTTPDateFormat {
    static func format(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
