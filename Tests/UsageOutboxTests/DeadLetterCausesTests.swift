import Testing

@testable import OutboxCore

/// Dead letters counted by cause, as tables: what makes a cause, and how
/// tallies merge.
struct DeadLetterCausesTests {
    static let long = "HTTP 400: " + String(repeating: "x", count: 100)

    @Test(arguments: [
        ("HTTP 400: bad", "HTTP 400: bad"),
        ("HTTP 400: first line\nsecond line", "HTTP 400: first line"),
        ("HTTP 400: windows\r\nline", "HTTP 400: windows"),
        ("  padded  \n", "padded"),
        (long, String(long.prefix(80))),
        (String(repeating: "é", count: 90), String(repeating: "é", count: 80)),
        ("", ""),
    ])
    func causeOfAReason(reason: String, cause: String) {
        #expect(DeadLetterCauses.cause(of: reason) == cause)
        // A store may cut the reason to 80 characters first: the same cause.
        #expect(DeadLetterCauses.cause(of: String(String.UnicodeScalarView(reason.unicodeScalars.prefix(80)))) == cause)
    }

    @Test func talliesMergeByStatusAndCauseLargestFirst() {
        let tallies = [
            DeadLetterTally(status: 400, reason: Self.long + "-1", meter: "m", count: 2, oldestDeadAt: 50),
            DeadLetterTally(status: 400, reason: Self.long + "-2", meter: "n", count: 1, oldestDeadAt: 40),
            DeadLetterTally(status: 413, reason: "HTTP 413: too large", meter: "m", count: 3, oldestDeadAt: 70),
            DeadLetterTally(status: nil, reason: "rejected by Zuora after acceptance: X", meter: "m", count: 1, oldestDeadAt: 10),
            DeadLetterTally(status: 400, reason: "HTTP 400: other", meter: "m", count: 1, oldestDeadAt: 20),
            DeadLetterTally(status: 500, reason: "HTTP 413: too large", meter: "m", count: 3, oldestDeadAt: 5),
        ]
        #expect(
            DeadLetterCauses.merge(tallies) == [
                .init(status: 400, reason: String(Self.long.prefix(80)), count: 3, meters: ["m", "n"], oldestDeadAt: 40),
                .init(status: 413, reason: "HTTP 413: too large", count: 3, meters: ["m"], oldestDeadAt: 70),
                .init(status: 500, reason: "HTTP 413: too large", count: 3, meters: ["m"], oldestDeadAt: 5),
                .init(status: 400, reason: "HTTP 400: other", count: 1, meters: ["m"], oldestDeadAt: 20),
                .init(status: nil, reason: "rejected by Zuora after acceptance: X", count: 1, meters: ["m"], oldestDeadAt: 10),
            ])
        #expect(DeadLetterCauses.merge([]) == [])
    }
}
