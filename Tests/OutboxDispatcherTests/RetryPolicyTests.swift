import Testing

@testable import OutboxCore

/// When an event's transient failures end in a dead letter.
struct RetryPolicyTests {
    @Test(arguments: [
        // (maxAttempts, attempts failed, gives up)
        (Int?.none, 1_000_000, false),
        (3, 2, false),
        (3, 3, true),
        (1, 1, true),
        // 0 was "no limit" before the field became optional: still is.
        (0, 1_000_000, false),
        (-1, 5, false),
    ])
    func givesUpAfterItsAttempts(maxAttempts: Int?, attempts: Int, givesUp: Bool) {
        #expect(RetryPolicy(maxAttempts: maxAttempts).givesUp(afterAttempts: attempts) == givesUp)
    }
}
