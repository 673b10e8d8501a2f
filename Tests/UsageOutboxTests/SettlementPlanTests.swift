import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// The settlement plan, as tables: what each answer means for each event,
/// decided without a database.
struct SettlementPlanTests {
    /// Retry outcomes compared by their ceiling: a drawn delay must lie in
    /// `0...ceiling`, and every retried event of a batch shares one draw.
    static func matches(_ actual: [EventOutcome], _ expected: [EventOutcome]) -> Bool {
        guard actual.count == expected.count else { return false }
        let delays = Set(
            actual.compactMap { outcome -> Int64? in
                if case .retry(let delay, _) = outcome { return delay }
                return nil
            })
        guard delays.count <= 1 else { return false }
        return zip(actual, expected).allSatisfy { actual, expected in
            switch (actual, expected) {
            case (.retry(let delay, let attempts), .retry(let ceiling, let expectedAttempts)):
                return attempts == expectedAttempts && delay >= 0 && delay <= ceiling
            default:
                return actual == expected
            }
        }
    }

    static func events(_ attempts: [Int]) -> [ClaimedEvent] {
        attempts.enumerated().map { index, spent in
            ClaimedEvent(rowID: Int64(index + 1), eventID: "e\(index)", body: Array("{}".utf8), attempts: spent)
        }
    }

    static let policy = RetryPolicy(backoff: BackoffPolicy(base: .seconds(1), cap: .seconds(60)), maxAttempts: 3)

    static let cases: [(String, BatchVerdict, [Int], RetryPolicy, [EventOutcome])] = [
        ("accepted: every event sent", .accepted, [0, 2], policy, [.sent, .sent]),
        (
            "rejected: dead letters keep their attempts", .rejected(reason: "HTTP 400: bad"), [0, 1], policy,
            [.dead(reason: "HTTP 400: bad", attempts: 0), .dead(reason: "HTTP 400: bad", attempts: 1)]
        ),
        (
            "failed: one attempt spent each, one delay for the batch (drawn for the highest attempt)",
            .failed(reason: "HTTP 500"), [0, 1], RetryPolicy(backoff: BackoffPolicy(base: .seconds(1), cap: .seconds(60))),
            [.retry(afterMilliseconds: 2000, attempts: 1), .retry(afterMilliseconds: 2000, attempts: 2)]
        ),
        (
            "failed: the event reaching the limit is given up on, the others retried",
            .failed(reason: "timeout"), [0, 1, 2], policy,
            [
                .retry(afterMilliseconds: 4000, attempts: 1), .retry(afterMilliseconds: 4000, attempts: 2),
                .dead(reason: "gave up after 3 attempts (the retry limit); last failure: timeout", attempts: 3),
            ]
        ),
        (
            "failed: an event already past a lowered limit is given up on too",
            .failed(reason: "timeout"), [7], policy, [.dead(reason: "gave up after 8 attempts (the retry limit); last failure: timeout", attempts: 8)]
        ),
        (
            "failed: the cap bounds the delay", .failed(reason: "x"), [20], RetryPolicy(backoff: BackoffPolicy(base: .seconds(1), cap: .seconds(60))),
            [.retry(afterMilliseconds: 60_000, attempts: 21)]
        ),
        (
            "deferred: no attempt spent, never dead, whatever the limit", .deferred(reason: "rate limited", delayMilliseconds: 10_000), [2, 5], policy,
            [.retry(afterMilliseconds: 10_000, attempts: 2), .retry(afterMilliseconds: 10_000, attempts: 5)]
        ),
        ("deferred: a negative delay is due at once", .deferred(reason: "x", delayMilliseconds: -5), [0], policy, [.retry(afterMilliseconds: 0, attempts: 0)]),
    ]

    @Test(arguments: cases)
    func plans(_ name: String, _ verdict: BatchVerdict, _ attempts: [Int], _ policy: RetryPolicy, _ expected: [EventOutcome]) {
        for seed in 0..<50 as Range<UInt64> {
            var random = SeededRandom(seed: seed)
            let plan = Settlement.plan(verdict, events: Self.events(attempts), meter: "m", policy: policy, random: &random)
            #expect(Self.matches(plan.rows.map(\.outcome), expected), "\(name): \(plan.rows.map(\.outcome))")
            #expect(plan.rows.map(\.rowID) == (1...Int64(attempts.count)).map { $0 })
        }
    }

    @Test func recordsWhatTheMeterShows() {
        var random = SeededRandom(seed: 1)
        let accepted = Settlement.plan(.accepted, events: Self.events([0]), meter: "m", policy: Self.policy, random: &random)
        #expect(accepted.isSuccess && accepted.meterFailure == nil)
        let failed = Settlement.plan(
            .failed(reason: "HTTP 502"), events: Self.events([0]), meter: "m", policy: Self.policy,
            record: .init(status: 502, responseBody: "gateway", trackID: "t"), random: &random)
        #expect(!failed.isSuccess && failed.meterFailure == "HTTP 502" && failed.record.status == 502)
        #expect(Self.matches([failed.rows[0].outcome], [.retry(afterMilliseconds: 1000, attempts: 1)]))
        let rejected = Settlement.plan(.rejected(reason: "bad"), events: Self.events([0]), meter: "m", policy: Self.policy, random: &random)
        #expect(!rejected.isSuccess && rejected.meterFailure == nil, "a bad event is not the meter's problem")
    }

    /// Every row keeps the requests that carried its event, whatever the
    /// verdict: the retry limit's count is another matter.
    @Test(arguments: [
        BatchVerdict.accepted, .rejected(reason: "bad"), .failed(reason: "HTTP 500"), .deferred(reason: "HTTP 429", delayMilliseconds: 10),
    ])
    func rowsKeepTheTriesOfTheirEvents(verdict: BatchVerdict) {
        var random = SeededRandom(seed: 3)
        let events = Self.events([0, 2, 1]).map { $0.carried() }.enumerated().map { index, event in index == 1 ? event.carried() : event }
        let plan = Settlement.plan(verdict, events: events, meter: "m", policy: Self.policy, random: &random)
        #expect(plan.rows.map(\.tries) == [1, 2, 1])
        #expect(events.map(\.attempts) == [0, 2, 1], "carrying spends no attempt")
    }

    @Test func countersMoveOnlyForTheRowsTheClaimStillHeld() {
        var random = SeededRandom(seed: 2)
        let plan = Settlement.plan(.failed(reason: "x"), events: Self.events([0, 2, 0]), meter: "m", policy: Self.policy, random: &random)
        // Rows 1 and 2 applied (row 2 gives up); row 3 was taken over.
        #expect(plan.counterChange(applied: [1, 2]) == StateCounts(inflight: -2, failed: 1, dead: 1))
        #expect(plan.counterChange(applied: []) == StateCounts())
        #expect(SettlementResult(appliedStates: [.failed, .dead], planned: 3) == SettlementResult(retried: 1, dead: 1, lost: 1))
    }

    @Test func eachTokenIsItsOwn() {
        let tokens = (0..<1000).map { _ in ClaimToken.make(owner: "dispatcher-1") }
        #expect(Set(tokens).count == 1000)
        #expect(tokens.allSatisfy { $0.value.hasPrefix("dispatcher-1/") && $0.value.count == "dispatcher-1/".count + 32 })
    }
}
