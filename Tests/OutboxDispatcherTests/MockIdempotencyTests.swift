import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

@testable import ZuoraMock

/// The mock honours idempotency keys as Zuora documents them for POSTs: the
/// first answer to a key is replayed, 409 while it is being worked on, 422
/// for another body. Real requests over loopback.
struct MockIdempotencyTests {
    static let event = #"{"CustomerId":"C-1","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#

    struct Answer {
        let status: Int
        let body: String
    }

    static func post(_ mock: ZuoraMockServer, _ client: HTTPClient, key: String?, body: String, timeout: TimeAmount = .seconds(10)) async throws -> Answer {
        var request = HTTPClientRequest(url: mock.baseURL + "/usage/bulk/m")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer mock-static-token")
        request.headers.add(name: "Content-Type", value: "application/json")
        if let key { request.headers.add(name: "Idempotency-Key", value: key) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), body: String(buffer: bytes))
    }

    static func with(_ configuration: MockConfiguration = MockConfiguration(), _ body: (ZuoraMockServer, HTTPClient) async throws -> Void) async throws {
        let mock = try await ZuoraMockServer.start(configuration)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await body(mock, client)
        } catch {
            try? await client.shutdown()
            await mock.shutdown()
            throw error
        }
        try await client.shutdown()
        await mock.shutdown()
    }

    @Test func aRepeatedKeyIsAnsweredOnceAndBilledOnce() async throws {
        try await Self.with { (mock: ZuoraMockServer, client: HTTPClient) async throws in
            let first = try await Self.post(mock, client, key: "k-1", body: "[\(Self.event)]")
            let again = try await Self.post(mock, client, key: "k-1", body: "[\(Self.event)]")
            #expect(first.status == 200 && again.status == 200 && again.body == first.body)
            #expect(mock.statistics.acceptedEvents == 1 && mock.statistics.idempotentReplays == 1)
            // Another body under the same key: 422, nothing billed.
            let other = try await Self.post(mock, client, key: "k-1", body: "[\(Self.event),\(Self.event)]")
            #expect(other.status == 422 && mock.statistics.idempotencyMismatches == 1 && mock.statistics.acceptedEvents == 1)
            // No key, or a new one: worked on as usual.
            #expect(try await Self.post(mock, client, key: nil, body: "[\(Self.event)]").status == 200)
            #expect(try await Self.post(mock, client, key: "k-2", body: "[\(Self.event)]").status == 200)
            #expect(mock.statistics.acceptedEvents == 3)
        }
    }

    /// A failure is saved too: the key answers 500 again (which is why a
    /// client must take a new key after any answer).
    @Test func aFailureIsReplayedToo() async throws {
        var configuration = MockConfiguration()
        configuration.down = true
        try await Self.with(configuration) { (mock: ZuoraMockServer, client: HTTPClient) async throws in
            #expect(try await Self.post(mock, client, key: "k", body: "[\(Self.event)]").status == 500)
            mock.update { $0.down = false }
            #expect(try await Self.post(mock, client, key: "k", body: "[\(Self.event)]").status == 500)
            #expect(try await Self.post(mock, client, key: "k-new", body: "[\(Self.event)]").status == 200)
            #expect(mock.statistics.acceptedEvents == 1 && mock.statistics.idempotentReplays == 1)
        }
    }

    /// The answer to the first request is lost after Zuora billed it; the
    /// re-send with the same key gets the saved answer and bills nothing.
    @Test func aLostAnswerIsReplayedToTheResend() async throws {
        var configuration = MockConfiguration()
        configuration.scriptedLostAnswers = [1]
        try await Self.with(configuration) { (mock: ZuoraMockServer, client: HTTPClient) async throws in
            await #expect(throws: (any Error).self) {
                try await Self.post(mock, client, key: "lost", body: "[\(Self.event)]", timeout: .milliseconds(500))
            }
            let resent = try await Self.post(mock, client, key: "lost", body: "[\(Self.event)]")
            #expect(resent.status == 200 && resent.body.contains("1 events ingested"))
            #expect(mock.statistics.acceptedEvents == 1 && mock.statistics.lostAnswers == 1 && mock.statistics.idempotentReplays == 1)
        }
    }

    /// A request whose key is still being worked on gets 409.
    @Test func aKeyInProgressIs409() async throws {
        var configuration = MockConfiguration()
        configuration.delayMilliseconds = 3000
        try await Self.with(configuration) { (mock: ZuoraMockServer, client: HTTPClient) async throws in
            async let slow = Self.post(mock, client, key: "busy", body: "[\(Self.event)]")
            try await waitForMock(mock, "the first request is being worked on") { $0.usageRequests == 1 }
            let second = try await Self.post(mock, client, key: "busy", body: "[\(Self.event)]")
            #expect(second.status == 409 && mock.statistics.idempotencyConflicts == 1)
            #expect(try await slow.status == 200)
            #expect(mock.statistics.acceptedEvents == 1)
        }
    }

    /// A tenant that ignores the header bills every copy.
    @Test func keysCanBeIgnoredAsATenantMight() async throws {
        var configuration = MockConfiguration()
        configuration.honourIdempotencyKeys = false
        try await Self.with(configuration) { (mock: ZuoraMockServer, client: HTTPClient) async throws in
            for _ in 0..<2 { #expect(try await Self.post(mock, client, key: "k", body: "[\(Self.event)]").status == 200) }
            #expect(mock.statistics.acceptedEvents == 2 && mock.statistics.idempotentReplays == 0)
        }
    }
}
