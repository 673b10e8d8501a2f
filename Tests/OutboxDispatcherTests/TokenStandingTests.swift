import OutboxDispatcher
import Testing
import UsageOutbox
import ZuoraMock

@testable import OutboxDispatcher

/// The dispatcher's word on its credentials (`/readyz` follows it) is the
/// latest token request's outcome: a refusal after a good token takes
/// readiness away, and the next good token gives it back.
struct TokenStandingTests {
    @Test func aRotatedSecretIsRefusedAndTheFixedOneIsGoodAgain() async throws {
        try await Harness.with { h in
            let dispatcher = try h.dispatcher()
            #expect(dispatcher.tokenStanding == .untried)
            #expect(dispatcher.tokenStanding.notReadyReason == "no token from Zuora yet")
            guard case .tokenObtained = await dispatcher.checkCredentials() else {
                Issue.record("the mock gave no token")
                return
            }
            #expect(dispatcher.tokenStanding == .good)
            // The secret is rotated at Zuora, not here: the held token is
            // revoked, and a new one is refused.
            h.mock.update { $0.clientSecret = "rotated" }
            h.mock.revokeTokens()
            try await h.append(1)
            async let drained = dispatcher.drainOnce(maxTime: .seconds(60))
            // (A 401 to the revoked token comes first, then the refusal of
            // the rotated secret.)
            try await waitUntil("the old secret is refused") {
                dispatcher.tokenStanding.notReadyReason?.contains("refused the OAuth client credentials") == true
            }
            h.mock.update { $0.clientSecret = "mock-client-secret" }
            let summary = try await drained
            #expect(summary.sent == 1)
            #expect(dispatcher.tokenStanding == .good)
        }
    }

    @Test func aFixedBearerTokenIsGoodUntilZuoraRefusesIt() async throws {
        try await Harness.with { h in
            let dispatcher = try h.dispatcher { $0.credentials = .bearer(Secret("mock-static-token")) }
            #expect(dispatcher.tokenStanding == .good, "Zuora judges a fixed token only when a request carries it")
            h.mock.update { $0.staticTokens = [] }
            try await h.append(1)
            async let drained = dispatcher.drainOnce(maxTime: .seconds(60))
            try await waitUntil("the fixed token is refused") {
                dispatcher.tokenStanding == .refused("Zuora rejected the fixed bearer token (HTTP 401)")
            }
            h.mock.update { $0.staticTokens = ["mock-static-token"] }
            #expect(try await drained.sent == 1)
            #expect(dispatcher.tokenStanding == .good, "Zuora took it again")
        }
    }

    @Test func anOutageIsNotReadyEither() {
        #expect(TokenStanding.unavailable("the token endpoint answered HTTP 503").notReadyReason == "no token from Zuora: the token endpoint answered HTTP 503")
        #expect(TokenStanding.good.notReadyReason == nil)
    }
}
