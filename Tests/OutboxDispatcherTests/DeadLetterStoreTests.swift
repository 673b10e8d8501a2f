import Foundation
import PostgresNIO
import Testing

@testable import OutboxCore
@testable import OutboxPostgres
@testable import UsageOutbox

/// What the stores keep about dead letters for an operator, on every store.
struct DeadLetterStoreTests {
    func withStore(_ kind: StoreKind, _ body: (any OperatedStore, TestStore) async throws -> Void) async throws {
        try await StoreBehaviourTests().withStore(kind, body)
    }

    static let policy = RetryPolicy(backoff: BackoffPolicy(base: .milliseconds(1), cap: .milliseconds(1)))

    /// Claims the meter's next events, waiting for a retry to fall due.
    static func claim(_ store: any OperatedStore, meter: String = "m") async throws -> Claim {
        var claim: Claim?
        try await waitUntil("a claim of \(meter)") {
            claim = try await store.claim(meter: meter, owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000)
            return claim != nil
        }
        return try #require(claim)
    }

    /// Settles `verdict` for the whole claim, after one more request carried its events.
    @discardableResult
    static func answer(
        _ verdict: BatchVerdict, _ claim: Claim, in store: any OperatedStore, record: Settlement.Record = .init(status: 500)
    ) async throws -> SettlementResult {
        var random = SystemRandomNumberGenerator()
        let plan = Settlement.plan(
            verdict, events: claim.events.map { $0.carried() }, meter: claim.meter, policy: policy, record: record, random: &random)
        return try await store.settle(plan, token: claim.token)
    }

    /// The requests that carried an event are kept on its retry row from
    /// claim to claim, whatever the answers, and shown as the dead letter's
    /// attempts; an operator's retry gives fresh attempts for the limit,
    /// and the tries go on.
    @Test(arguments: StoreKind.available)
    func triesAreKeptFromClaimToClaimAndShownOnTheDeadLetter(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            let id = try await store.append(json: StoreBehaviourTests.event("C-1"), meter: "m").value
            let first = try await Self.claim(store)
            #expect(first.events.map(\.tries) == [0])
            // A rate limit: no attempt spent, one try.
            try await Self.answer(.deferred(reason: "rate limited (HTTP 429)", delayMilliseconds: 0), first, in: store, record: .init(status: 429))
            let second = try await Self.claim(store)
            #expect(second.events.map(\.tries) == [1] && second.events.map(\.attempts) == [0])
            try await Self.answer(.failed(reason: "HTTP 500"), second, in: store)
            let third = try await Self.claim(store)
            #expect(third.events.map(\.tries) == [2] && third.events.map(\.attempts) == [1])
            try await Self.answer(.rejected(reason: "HTTP 400: bad"), third, in: store, record: .init(status: 400))
            let letter = try #require(try await store.deadLetter(id: id))
            #expect(letter.attempts == 3)

            #expect(try await store.retryDeadLetters(DeadLetterSelection(ids: [id])) == 1)
            let again = try await Self.claim(store)
            #expect(again.events.map(\.tries) == [3] && again.events.map(\.attempts) == [0])
            // Sent, then rejected after the 200 (reconcile): tried at least
            // once, the request Zuora accepted.
            try await Self.answer(.accepted, again, in: store, record: .init(status: 200))
            let moved = try await store.applyLateRejections(
                [LateRejection(rowID: again.events[0].rowID, reason: "rejected by Zuora after acceptance: X: y", responseBody: "{}")], meter: "m",
                remember: [])
            #expect(moved == 1)
            #expect(try await store.deadLetter(id: id)?.attempts == 1)
            #expect(try await store.verify().isOK)
        }
    }

    /// Every failed, answered-deferred and dead settlement leaves an answer
    /// in the event's history: status, time, request id, the reason's first
    /// 200 bytes; the last 20 are kept.
    @Test(arguments: StoreKind.available)
    func theHistoryKeepsTheLastAnswersOfEachEvent(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, place: TestStore) async throws in
            let id = try await store.append(json: StoreBehaviourTests.event("C-1"), meter: "m").value
            let long = "HTTP 500: " + String(repeating: "é", count: 150)
            for attempt in 1...22 {
                let claim = try await Self.claim(store)
                try await Self.answer(
                    .failed(reason: attempt == 22 ? long : "HTTP 500: try \(attempt)"), claim, in: store,
                    record: .init(status: 500, requestID: "r-\(attempt)"))
            }
            // Given back unsent: no answer, nothing recorded.
            let unsent = try await Self.claim(store)
            try await Self.answer(.deferred(reason: "given back unsent", delayMilliseconds: 0), unsent, in: store, record: .init())
            let limited = try await Self.claim(store)
            try await Self.answer(.deferred(reason: "rate limited (HTTP 429)", delayMilliseconds: 0), limited, in: store, record: .init(status: 429))
            let last = try await Self.claim(store)
            try await Self.answer(.rejected(reason: "HTTP 400: bad"), last, in: store, record: .init(status: 400, requestID: "final"))

            let letter = try #require(try await store.deadLetter(id: id))
            #expect(letter.attempts == 25)
            #expect(letter.history.count == AnswerHistory.limit)
            #expect(letter.history.map(\.requestID) == (5...22).map { "r-\($0)" } + [nil, "final"])
            #expect(letter.history.map(\.status) == Array(repeating: 500, count: 18) + [429, 400])
            #expect(letter.history.last?.reason == "HTTP 400: bad")
            #expect(letter.history[17].reason == AnswerHistory.cut(long) && letter.history[17].reason.utf8.count <= 200)
            #expect(letter.history.dropLast().last?.reason == "rate limited (HTTP 429)")
            #expect(zip(letter.history, letter.history.dropFirst()).allSatisfy { $0.at <= $1.at })
            #expect(try await Self.answerRows(place) == AnswerHistory.limit)
            // Listing reads no history; an export asks for it.
            #expect(try await store.deadLetters(meter: nil, deadBefore: nil, limit: 10).first?.history == [])
            #expect(try await store.deadLetters(.all, limit: 10, withHistory: true).first?.history == letter.history)
        }
    }

    /// Reasons are cut to 200 bytes of UTF-8, never inside a character.
    @Test func reasonsAreCutOnACharacterBoundary() {
        // 9 bytes, then 2 per character: the 96th would end at byte 201.
        let long = "HTTP 500 " + String(repeating: "é", count: 150)
        let cut = AnswerHistory.cut(long)
        #expect(cut.utf8.count == 199 && long.hasPrefix(cut))
        #expect(AnswerHistory.cut("short") == "short")
        #expect(AnswerHistory.cut(String(repeating: "a", count: 300)).utf8.count == 200)
    }

    /// An event's history goes when it is sent (from its retry row), and
    /// with its dead letter when that is purged; a retried dead letter
    /// keeps it, and a late rejection adds to it.
    @Test(arguments: StoreKind.available)
    func theHistoryGoesWhenTheEventIsSentOrItsDeadLetterPurged(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, place: TestStore) async throws in
            let id = try await store.append(json: StoreBehaviourTests.event("C-1"), meter: "m").value
            try await Self.answer(.failed(reason: "HTTP 500"), try await Self.claim(store), in: store)
            #expect(try await Self.answerRows(place) == 1)
            try await Self.answer(.accepted, try await Self.claim(store), in: store, record: .init(status: 200))
            #expect(try await Self.answerRows(place) == 0, "sent: its history went")

            let other = try await store.append(json: StoreBehaviourTests.event("C-2"), meter: "m").value
            try await Self.answer(.rejected(reason: "HTTP 400: bad"), try await Self.claim(store), in: store, record: .init(status: 400))
            #expect(try await store.retryDeadLetters(DeadLetterSelection(ids: [other])) == 1)
            let again = try await Self.claim(store)
            try await Self.answer(.accepted, again, in: store, record: .init(status: 200))
            #expect(try await Self.answerRows(place) == 0)
            _ = try await store.applyLateRejections(
                [LateRejection(rowID: again.events[0].rowID, reason: "rejected by Zuora after acceptance: X: y", responseBody: "{}")], meter: "m",
                remember: [])
            let late = try #require(try await store.deadLetter(id: other))
            #expect(late.history.map(\.status) == [nil] && late.history.map(\.reason) == ["rejected by Zuora after acceptance: X: y"])
            #expect(try await store.retryDeadLetters(DeadLetterSelection(ids: [other])) == 1)
            try await Self.answer(.rejected(reason: "HTTP 400: still bad"), try await Self.claim(store), in: store, record: .init(status: 400))
            #expect(try await store.deadLetter(id: other)?.history.map(\.status) == [nil, 400], "a retried dead letter keeps its history")
            #expect(try await store.purgeDeadLetters(DeadLetterSelection(ids: [other])) == 1)
            #expect(try await Self.answerRows(place) == 0, "purged with its dead letter")
            #expect(try await store.deadLetter(id: id) == nil)
            #expect(try await store.verify().isOK)
        }
    }

    /// A history left behind by a send that did not delete it (a drain
    /// from before schema 8, still running after the upgrade) goes when
    /// retention purges the event, and no history of a live event does.
    @Test(arguments: StoreKind.available)
    func retentionTakesTheHistoryOfThePurgedEvents(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, place: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<3).map { StoreBehaviourTests.event("C-\($0)") }, meter: "m")
            let claim = try await Self.claim(store)
            #expect(try await Self.answer(.accepted, claim, in: store, record: .init(status: 200)).sent == 3)
            _ = try await store.append(json: StoreBehaviourTests.event("C-live"), meter: "m")
            try await Self.answer(.failed(reason: "HTTP 500"), try await Self.claim(store), in: store)
            let sentID = claim.events[0].rowID
            try await Self.execute(
                "INSERT INTO outbox_answers (id, n, at, status, request_id, reason) VALUES (\(sentID), 1, 0, 500, NULL, 'left behind')", in: place)
            #expect(try await Self.answerRows(place) == 2)
            let purged = try await store.purgeSent(before: WallClock.nowMilliseconds() + 1000)
            #expect(purged.purged == 3)
            #expect(try await Self.answerRows(place) == 1, "the purged event's history went; the failing event's stayed")
        }
    }

    /// Appends and 2xx settlements of ranges never touch the history: they
    /// work with its table gone, which a failure then proves it would need.
    @Test(arguments: StoreKind.available)
    func theSuccessPathNeverTouchesTheHistory(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, place: TestStore) async throws in
            try await Self.execute("DROP TABLE outbox_answers", in: place)
            _ = try await store.append(jsonEvents: (0..<50).map { StoreBehaviourTests.event("C-\($0)") }, meter: "m")
            let claim = try await Self.claim(store)
            #expect(try await Self.answer(.accepted, claim, in: store, record: .init(status: 200)).sent == 50)
            _ = try await store.append(json: StoreBehaviourTests.event("C-x"), meter: "m")
            let failing = try await Self.claim(store)
            await #expect(throws: (any Error).self, "a failure writes the history") {
                try await Self.answer(.failed(reason: "HTTP 500"), failing, in: store)
            }
        }
    }

    /// Rows of `outbox_answers`, read beside the store.
    static func answerRows(_ place: TestStore) async throws -> Int {
        try await UpgradeTests.count("SELECT count(*) FROM outbox_answers", in: place)
    }

    /// Runs one statement beside the store.
    static func execute(_ sql: String, in place: TestStore) async throws {
        switch place.kind {
        case .sqlite:
            try SQLiteConnection(path: place.location).execute(sql)
        case .postgres:
            try await TestStore.admin(place.location) { client in try await client.query(PostgresQuery(unsafeSQL: sql)) }
        }
    }

    /// The ids of dead letters that begin with a prefix: in byte order (so
    /// a whole id comes first), of one meter when asked, at most so many.
    @Test(arguments: StoreKind.available)
    func findsDeadLettersByTheStartOfTheirIds(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            var ids: [String: String] = [:]
            for (index, meter) in ["m", "m", "m", "m", "n"].enumerated() {
                ids[try await store.append(json: StoreBehaviourTests.event("C-\(index)"), meter: meter).value] = meter
                try await Self.answer(.rejected(reason: "HTTP 400: bad"), try await Self.claim(store, meter: meter), in: store, record: .init(status: 400))
            }
            let sorted = ids.keys.sorted()
            #expect(try await store.deadLetterIDs(startingWith: "", meter: nil, limit: 10) == sorted)
            #expect(try await store.deadLetterIDs(startingWith: "", meter: nil, limit: 2) == Array(sorted.prefix(2)))
            #expect(try await store.deadLetterIDs(startingWith: "", meter: "n", limit: 10) == ids.filter { $0.value == "n" }.map(\.key))
            for id in sorted {
                #expect(try await store.deadLetterIDs(startingWith: id, meter: nil, limit: 10) == [id])
                let prefix = String(id.prefix(13))
                #expect(try await store.deadLetterIDs(startingWith: prefix, meter: nil, limit: 10) == sorted.filter { $0.hasPrefix(prefix) })
            }
            #expect(try await store.deadLetterIDs(startingWith: "zzzzzz", meter: nil, limit: 10) == [])
            #expect(try await store.deadLetterIDs(startingWith: "%", meter: nil, limit: 10) == [], "no pattern characters")
            #expect(try await store.deadLetterIDs(startingWith: "_", meter: nil, limit: 10) == [])
        }
    }

    /// A listing or an export selects in the store's query: by meter,
    /// status, a piece of the reason (ASCII letters in any case, no pattern
    /// characters), and when they died; the newest selected come first.
    @Test(arguments: StoreKind.available)
    func selectsDeadLettersInTheQuery(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            func kill(_ customer: String, meter: String, status: Int, reason: String) async throws {
                _ = try await store.append(json: StoreBehaviourTests.event(customer), meter: meter)
                try await Self.answer(.rejected(reason: reason), try await Self.claim(store, meter: meter), in: store, record: .init(status: status))
            }
            try await kill("A", meter: "m", status: 400, reason: "HTTP 400: CustomerId does not match an active account (code 53100320)")
            try await kill("B", meter: "m", status: 413, reason: "HTTP 413: the event alone (90 bytes) is larger than Zuora accepts")
            try await kill("C", meter: "n", status: 400, reason: "HTTP 400: Quantity must not be negative (code 53100320)")
            _ = try await store.append(json: StoreBehaviourTests.event("D"), meter: "m")
            let sent = try await Self.claim(store)
            try await Self.answer(.accepted, sent, in: store, record: .init(status: 200))
            _ = try await store.applyLateRejections(
                [LateRejection(rowID: sent.events[0].rowID, reason: "rejected by Zuora after acceptance: 53100320: Unknown UOM", responseBody: "{}")],
                meter: "m", remember: [])

            let all = try await store.deadLetters(.all, limit: 100, withHistory: false)
            #expect(all.count == 4)
            func customers(_ filter: DeadLetterFilter, limit: Int = 100) async throws -> [String] {
                try await store.deadLetters(filter, limit: limit, withHistory: false).map { DeadLetterStoreTests.customer($0.event) }
            }
            #expect(Set(try await customers(DeadLetterFilter(meter: "m"))) == ["A", "B", "D"])
            #expect(Set(try await customers(DeadLetterFilter(status: 400))) == ["A", "C"])
            #expect(try await customers(DeadLetterFilter(meter: "m", status: 400)) == ["A"])
            #expect(Set(try await customers(DeadLetterFilter(reasonContains: "ACTIVE Account"))) == ["A"])
            #expect(Set(try await customers(DeadLetterFilter(reasonContains: "53100320"))) == ["A", "C", "D"])
            #expect(try await customers(DeadLetterFilter(reasonContains: "%")) == [])
            #expect(try await customers(DeadLetterFilter(reasonContains: "_")) == [])
            // Selected before the limit: the newest of those selected.
            #expect(try await customers(DeadLetterFilter(status: 413), limit: 1) == ["B"])
            #expect(try await customers(DeadLetterFilter(meter: "m", reasonContains: "http 4"), limit: 1) == ["B"])
            for letter in all {
                let before = all.filter { $0.deadAt < letter.deadAt }.map { Self.customer($0.event) }
                let since = all.filter { $0.deadAt >= letter.deadAt }.map { Self.customer($0.event) }
                #expect(Set(try await customers(DeadLetterFilter(deadBefore: letter.deadAt))) == Set(before))
                #expect(Set(try await customers(DeadLetterFilter(deadSince: letter.deadAt))) == Set(since))
            }
            #expect(try await customers(DeadLetterFilter(deadBefore: all.last!.deadAt, deadSince: all.last!.deadAt)) == [])
        }
    }

    static func customer(_ event: String) -> String {
        ((try? JSONSerialization.jsonObject(with: Data(event.utf8))) as? [String: Any])?["CustomerId"] as? String ?? "?"
    }

    /// Dead letters counted by cause in the store's query (per status,
    /// meter and reason's start), merged by `DeadLetterCauses`; the
    /// selection applies.
    @Test(arguments: StoreKind.available)
    func countsDeadLettersByCause(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            let long = "HTTP 400: " + String(repeating: "a", count: 80)
            let deaths: [(String, Int, String)] = [
                ("m", 400, long + "-1"), ("n", 400, long + "-2"), ("m", 400, "HTTP 400: line one\nline two"), ("m", 413, "HTTP 413: too large"),
                ("m", 413, "HTTP 413: too large"),
            ]
            for (index, (meter, status, reason)) in deaths.enumerated() {
                _ = try await store.append(json: StoreBehaviourTests.event("C-\(index)"), meter: meter)
                try await Self.answer(.rejected(reason: reason), try await Self.claim(store, meter: meter), in: store, record: .init(status: status))
            }
            let letters = try await store.deadLetters(.all, limit: 10, withHistory: false)
            func oldest(_ customers: [Int]) -> Int64 {
                letters.filter { letter in customers.contains { Self.customer(letter.event) == "C-\($0)" } }.map(\.deadAt).min() ?? -1
            }
            let cut = String(long.prefix(80))
            #expect(
                DeadLetterCauses.merge(try await store.deadLetterTallies(.all)) == [
                    .init(status: 400, reason: cut, count: 2, meters: ["m", "n"], oldestDeadAt: oldest([0, 1])),
                    .init(status: 413, reason: "HTTP 413: too large", count: 2, meters: ["m"], oldestDeadAt: oldest([3, 4])),
                    .init(status: 400, reason: "HTTP 400: line one", count: 1, meters: ["m"], oldestDeadAt: oldest([2])),
                ])
            #expect(
                DeadLetterCauses.merge(try await store.deadLetterTallies(DeadLetterFilter(meter: "m", status: 400))) == [
                    .init(status: 400, reason: cut, count: 1, meters: ["m"], oldestDeadAt: oldest([0])),
                    .init(status: 400, reason: "HTTP 400: line one", count: 1, meters: ["m"], oldestDeadAt: oldest([2])),
                ])
            #expect(try await store.deadLetterTallies(DeadLetterFilter(reasonContains: "nothing like it")) == [])
        }
    }

    /// `verify` tells the purged events apart: sent events retention
    /// deleted, and dead letters an operator purged (never billed).
    @Test(arguments: StoreKind.available)
    func verifyTellsPurgedDeadLettersFromPurgedSentEvents(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<5).map { StoreBehaviourTests.event("C-\($0)") }, meter: "m")
            let claim = try await Self.claim(store)
            let rows = claim.events.map(\.rowID)
            let plan = Settlement(
                meter: "m",
                rows: rows[0..<3].map { .init(rowID: $0, outcome: .sent) } + rows[3...].map { .init(rowID: $0, outcome: .dead(reason: "bad", attempts: 0)) },
                record: .init(status: 400), meterFailure: nil, isSuccess: false)
            _ = try await store.settle(plan, token: claim.token)
            #expect(try await store.purgeSent(before: Int64.max).purged == 3)
            #expect(try await store.purgeDeadLetters(DeadLetterSelection(meter: "m")) == 2)
            let report = try await store.verify()
            #expect(report.isOK)
            let check = try #require(report.meters.first)
            #expect(check.counters.purged == 5 && check.purgedSent == 3 && check.counters.purgedDead == 2 && check.purgedBeforeSplit == 0)
            #expect(try await store.status().totals == StateCounts(appended: 5, purged: 5, purgedDead: 2))
        }
    }
}
