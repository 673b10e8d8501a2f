import Testing

@testable import OutboxCore

/// Where a claim's events came from decides whether they may have been
/// sent before without a recorded answer (then they stay together when given
/// back, so their re-send keeps the lost request's key).
struct ClaimSourceTests {
    @Test(arguments: [
        (ClaimSource.lapsedRange, true),
        (.dueRetries(.lapsedClaim(token: "t")), true),
        (.dueRetries(.unanswered(key: "k")), true),
        (.dueRetries(.free), false),
        (.nextRange, false),
    ])
    func mayHaveBeenSent(source: ClaimSource, expected: Bool) {
        #expect(source.mayHaveBeenSent == expected)
    }
}
