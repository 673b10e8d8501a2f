import Foundation
import Testing
import UsageOutbox

@testable import OutboxDispatcher

/// The drain against answers no honest Zuora gives: it must neither trap
/// nor hang past its deadline, must not count anything it did not read as
/// accepted, and must keep every event (none sent, none dead-lettered).
@Suite(.serialized, .timeLimit(.minutes(1)))
struct HostileServerTests {
    /// A drain of 5 events against `misbehaviour`, `--once` with `maxTime`;
    /// returns its summary and how long it took.
    static func drain(
        against misbehaviour: HostileServer.Misbehaviour, maxTime: Duration = .seconds(3), requestTimeout: Double = 1,
        oauth: Bool = false, server made: HostileServer? = nil
    ) async throws -> (DrainSummary, Duration, OutboxStatus, HostileServer) {
        let server = try made ?? HostileServer(misbehaviour)
        defer { server.stop() }
        let place = try await TestStore.make(.sqlite)
        let outbox = try await place.open()
        defer { Task { await place.remove() } }
        _ = try await outbox.append(jsonEvents: (0..<5).map { StoreBehaviourTests.event("C-\($0)") }, meter: "m")
        var configuration = DispatcherConfiguration(
            baseURL: server.baseURL,
            credentials: oauth ? .oauth(clientID: "id", clientSecret: Secret("secret")) : .bearer(Secret("token")))
        configuration.requestTimeout = .seconds(requestTimeout)
        configuration.lease = .seconds(30)
        configuration.backoff = BackoffPolicy(base: .milliseconds(50), cap: .milliseconds(200))
        configuration.pollInterval = .milliseconds(50)
        let dispatcher = try Dispatcher(store: outbox, configuration: configuration)
        let started = ContinuousClock.now
        let summary = try await dispatcher.drainOnce(maxTime: maxTime)
        let took = started.duration(to: .now)
        let status = try await outbox.status()
        await outbox.close()
        return (summary, took, status, server)
    }

    /// Every event kept, none claimed as sent, none dead, nothing in flight.
    static func expectNothingLost(_ status: OutboxStatus) {
        #expect(status.totals.sent == 0 && status.totals.dead == 0, "\(status.totals)")
        #expect(status.totals.pending + status.totals.failed == 5, "\(status.totals)")
    }

    @Test func aBodyThatTricklesIsCutAtTheRequestTimeout() async throws {
        let (summary, took, status, server) = try await Self.drain(against: .trickleBody(interval: .milliseconds(200)))
        #expect(took < .seconds(8), "the drain ran \(took), past its 3 s limit")
        #expect(summary.sent == 0)
        #expect(!server.requests.isEmpty)
        Self.expectNothingLost(status)
    }

    @Test func aBodyThatNeverEndsIsCutAtTheRequestTimeout() async throws {
        let (summary, took, status, _) = try await Self.drain(against: .endlessBody)
        #expect(took < .seconds(8), "the drain ran \(took), past its 3 s limit")
        #expect(summary.sent == 0)
        Self.expectNothingLost(status)
    }

    @Test func aGzipBombStopsAtTheDecompressionLimit() async throws {
        let server = try HostileServer(.gzipBomb(inflatedBytes: 256 << 20))
        let before = Self.residentBytes()
        let (summary, took, status, _) = try await Self.drain(
            against: server.misbehaviour, maxTime: .seconds(4), requestTimeout: 2, server: server)
        #expect(took < .seconds(10))
        #expect(summary.sent == 0)
        #expect(Self.residentBytes() - before < 160 << 20, "memory grew by \((Self.residentBytes() - before) >> 20) MiB")
        Self.expectNothingLost(status)
    }

    /// The same bomb, one request, looked at directly: the answer is never a
    /// yes, and what is kept of it stays within its cap.
    @Test func aGzipBombIsNeverReadAsAnAnswer() async throws {
        let server = try HostileServer(.gzipBomb(inflatedBytes: 256 << 20))
        defer { server.stop() }
        var configuration = DispatcherConfiguration(baseURL: server.baseURL, credentials: .bearer(Secret("token")))
        configuration.requestTimeout = .seconds(5)
        let http = ZuoraClient.makeHTTPClient(configuration: configuration)
        let endpoint = try ZuoraEndpoint(baseURL: configuration.baseURL, allowInsecureHTTP: false)
        let tokens = TokenProvider(credentials: configuration.credentials, endpoint: endpoint, timeout: .seconds(5), logger: configuration.logger)
        let client = try ZuoraClient(configuration: configuration, http: http, tokens: tokens)
        let body = try RequestBody.make([ClaimedEvent(rowID: 1, eventID: "e", body: Array(StoreBehaviourTests.event("C-1").utf8), attempts: 0)], gzip: false)
        let outcome = await client.post(meter: "m", body: body, trackID: "t", idempotencyKey: "k", token: try await client.token())
        try await http.shutdown()
        switch outcome {
        case .answered(let answer):
            guard case .unreadable = answer.success else {
                Issue.record("a bomb's answer was read as \(answer.success)")
                return
            }
            #expect(answer.body.count <= ZuoraClient.maxKeptBodyBytes)
        case .transportFailed:
            break  // the decompressor's limit ended the request: also never a yes
        }
    }

    @Test func aHugeAnswerIsNotReadPastItsCap() async throws {
        let (summary, took, status, _) = try await Self.drain(against: .hugeBody(bytes: 8 << 20))
        #expect(took < .seconds(8))
        #expect(summary.sent == 0, "an answer not read to its end counted as accepted")
        Self.expectNothingLost(status)
    }

    @Test func aRetryAfterDateBeyondAnyCalendarNeitherTrapsNorStalls() async throws {
        let (summary, took, status, server) = try await Self.drain(against: .retryAfter("Sun, 06 Nov 300000000000 08:49:37 GMT"))
        #expect(took < .seconds(8))
        #expect(summary.sent == 0)
        #expect(server.requests.count >= 1)
        Self.expectNothingLost(status)
    }

    @Test func aTokenThatLivesForeverIsClampedAndUsed() async throws {
        let (summary, took, status, _) = try await Self.drain(against: .tokenExpiresIn("1e20"), oauth: true)
        #expect(took < .seconds(8))
        #expect(summary.sent == 5, "the events go with the clamped token")
        #expect(status.totals.sent == 5)
    }

    @Test func aTokenAnswerThatTricklesTimesOutAndIsTriedAgain() async throws {
        let (summary, took, status, server) = try await Self.drain(against: .trickleToken, oauth: true)
        #expect(took < .seconds(8))
        #expect(summary.sent == 0)
        #expect(server.requests.filter { $0.contains("/oauth/token") }.count >= 2, "a stalled refresh must end, and the next one start")
        Self.expectNothingLost(status)
    }

    @Test func reconcileEndsWhenTheAuditTrailRepeatsItsCursor() async throws {
        let server = try HostileServer(.repeatingCursor)
        defer { server.stop() }
        let place = try await TestStore.make(.sqlite)
        let outbox = try await place.open()
        defer { Task { await place.remove() } }
        var configuration = DispatcherConfiguration(baseURL: server.baseURL, credentials: .bearer(Secret("token")))
        configuration.requestTimeout = .seconds(2)
        let reconciler = try Reconciler(store: outbox, configuration: configuration, meterIDs: ["m": 101], eventIdField: nil)
        let report = try await reconciler.run(since: .seconds(3600))
        await outbox.close()
        #expect(report.totals.entries == 0)
        #expect(server.requests.count <= 3, "\(server.requests.count) audit reads for a cursor that repeats")
        #expect(report.totals.truncated, "a run cut short must say so")
    }

    /// This process's resident memory, from /proc (0 where there is none).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
