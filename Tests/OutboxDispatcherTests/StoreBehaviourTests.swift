import Foundation
import Logging
import PostgresNIO
import Testing

@testable import OutboxCore
@testable import OutboxPostgres
@testable import UsageOutbox

/// The store's contract, run against every store: what `Outbox` (SQLite)
/// does, `PostgresOutbox` must do too.
struct StoreBehaviourTests {
    func withStore(_ kind: StoreKind, eventIdField: String? = nil, _ body: (any OperatedStore, TestStore) async throws -> Void) async throws {
        let place = try await TestStore.make(kind)
        let store: any OperatedStore
        switch kind {
        case .sqlite: store = try Outbox(OutboxConfiguration(path: place.location, eventIdField: eventIdField))
        case .postgres: store = try await TestStore.openPostgres(place.location, eventIdField: eventIdField)
        }
        try await place.using(store) { try await body(store, place) }
    }

    static func event(_ customer: String, quantity: String = "1") -> String {
        #"{"CustomerId":"\#(customer)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":\#(quantity)}"#
    }

    @Test(arguments: StoreKind.available)
    func appendsAllOrNothingAndCounts(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            let ids = try await store.append(jsonEvents: (0..<25).map { Self.event("C-\($0)") }, meter: "m")
            #expect(Set(ids).count == 25)
            let error = await #expect(throws: OutboxError.self) {
                try await store.append(jsonEvents: [Self.event("ok"), Self.event("bad", quantity: "\"x\"")], meter: "m")
            }
            #expect(error?.code == .invalidInput)
            #expect(error?.problems.map(\.position) == [.element(2)])
            let status = try await store.status()
            #expect(status.totals.pending == 25 && status.totals.appended == 25)
            #expect(status.meters["m"]?.counts.pending == 25)
            #expect(status.oldestPendingAgeSeconds != nil)
            #expect(try await store.verify().isOK)
        }
    }

    @Test(arguments: StoreKind.available)
    func streamsAnInputAllOrNothing(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, place: TestStore) async throws in
            let good = (0..<12_000).map { Self.event("C-\($0)") }.joined(separator: "\n")
            #expect(try await Self.appendFile(store, good) == 12_000)
            let bad = good + "\n" + Self.event("x", quantity: "NaN")
            let error = await #expect(throws: OutboxError.self) { try await Self.appendFile(store, bad) }
            #expect(error?.problems.first?.position == .line(12_001))
            #expect(try await store.status().totals.appended == 12_000)
        }
    }

    static func appendFile(_ store: any OperatedStore, _ text: String) async throws -> Int {
        let path = NSTemporaryDirectory() + "outbox-stream-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        return try await store.appendStream(fileDescriptor: fd, meter: "m", progress: nil)
    }

    @Test(arguments: StoreKind.available)
    func writesTheEventIdIntoTheNamedField(kind: StoreKind) async throws {
        try await withStore(kind, eventIdField: "EventId") { (store: any OperatedStore, _: TestStore) async throws in
            let id = try await store.append(json: Self.event("C-1"), meter: "m")
            let claimed = try #require(try await store.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000)).events
            #expect(String(decoding: claimed[0].body, as: UTF8.self) == #"{"EventId":"\#(id)",\#(Self.event("C-1").dropFirst())"#)
        }
    }

    @Test(arguments: StoreKind.available)
    func leasesSettlesAndCountsEveryEvent(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<200).map { Self.event("C-\($0)") }, meter: "m")
            let mine = try #require(try await store.claim(meter: "m", owner: "a", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(mine.events.count == 100)
            // Leased rows are not claimed again while the lease holds.
            let other = try #require(try await store.claim(meter: "m", owner: "b", limit: 1000, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(other.events.count == 100)
            #expect(Set(mine.events.map(\.rowID)).isDisjoint(with: other.events.map(\.rowID)))
            // One settlement, every kind of outcome, one statement.
            let rows = mine.events.map(\.rowID)
            let plan = Settlement(
                meter: "m",
                rows: rows[0..<50].map { .init(rowID: $0, outcome: .sent) }
                    + rows[50..<80].map { .init(rowID: $0, outcome: .retry(afterMilliseconds: 60_000, attempts: 1)) }
                    + rows[80..<90].map { .init(rowID: $0, outcome: .dead(reason: "bad", attempts: 0)) },
                record: .init(status: 500, responseBody: "{}", trackID: "t"), meterFailure: "HTTP 500", isSuccess: false)
            #expect(try await store.settle(plan, token: mine.token) == SettlementResult(sent: 50, retried: 30, dead: 10, lost: 0))
            #expect(try await store.release(Array(rows[90..<100]), meter: "m", token: mine.token) == 10)
            // Another claim's token changes nothing, even with the same owner name.
            let accepted = Settlement(
                meter: "m", rows: other.events.map { .init(rowID: $0.rowID, outcome: .sent) }, record: .init(), meterFailure: nil, isSuccess: true)
            #expect(try await store.settle(accepted, token: mine.token) == SettlementResult(lost: 100))
            #expect(try await store.renewLease(other.events.map(\.rowID), token: mine.token, leaseMilliseconds: 60_000).isEmpty)
            #expect(try await store.release(other.events.map(\.rowID), meter: "m", token: ClaimToken.make(owner: "b")) == 0)
            #expect(try await store.renewLease(other.events.map(\.rowID), token: other.token, leaseMilliseconds: 120_000).count == 100)
            let counts = try await store.status().totals
            #expect(counts == StateCounts(appended: 200, pending: 10, inflight: 100, failed: 30, sent: 50, dead: 10))
            #expect(try await store.verify().isOK)
            #expect(try await store.undeliveredCount() == 140)
            #expect(try await store.metersWithWork() == ["m"])
            // Retried rows are due in a minute, by the store's clock.
            let due = try #require(try await store.nextDueDelay())
            #expect(due <= 0, "the released rows are due at once")
        }
    }

    @Test(arguments: StoreKind.available)
    func eachClaimHasItsOwnToken(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<4).map { Self.event("C-\($0)") }, meter: "m")
            let first = try #require(try await store.claim(meter: "m", owner: "same-process", limit: 2, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            let second = try #require(try await store.claim(meter: "m", owner: "same-process", limit: 2, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(first.token != second.token)
            // Workers of one process cannot act on each other's claims.
            #expect(try await store.renewLease(second.events.map(\.rowID), token: first.token, leaseMilliseconds: 60_000).isEmpty)
            let sent = Settlement(
                meter: "m", rows: second.events.map { .init(rowID: $0.rowID, outcome: .sent) }, record: .init(), meterFailure: nil, isSuccess: true)
            #expect(try await store.settle(sent, token: first.token).lost == 2)
            #expect(try await store.settle(sent, token: second.token).sent == 2)
        }
    }

    @Test(arguments: StoreKind.available)
    func anExpiredLeaseIsTakenOverAndTheOldTokenChangesNothing(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<10).map { Self.event("C-\($0)") }, meter: "m")
            let held = try #require(try await store.claim(meter: "m", owner: "live", limit: 5, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            // A lease of no time at all has lapsed at once: a crashed dispatcher, without the wait.
            let crashed = try #require(try await store.claim(meter: "m", owner: "crashed", limit: 5, maxBytes: 1 << 20, leaseMilliseconds: 0))
            let taken = try #require(try await store.claim(meter: "m", owner: "next", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(Set(taken.events.map(\.rowID)) == Set(crashed.events.map(\.rowID)), "only the lapsed rows are taken over, never the live ones")
            #expect(try await store.claim(meter: "m", owner: "next", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000) == nil)
            var random = SystemRandomNumberGenerator()
            let late = Settlement.plan(.failed(reason: "late"), events: crashed.events, meter: "m", policy: RetryPolicy(), random: &random)
            #expect(try await store.settle(late, token: crashed.token) == SettlementResult(lost: 5))
            #expect(try await store.renewLease(crashed.events.map(\.rowID), token: crashed.token, leaseMilliseconds: 60_000).isEmpty)
            #expect(try await store.release(crashed.events.map(\.rowID), meter: "m", token: crashed.token) == 0)
            #expect(try await store.status().totals.inflight == 10)
            _ = held
            #expect(try await store.verify().isOK)
        }
    }

    @Test(arguments: StoreKind.available)
    func attemptsRunOutIntoADeadLetterThatSaysWhy(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: [Self.event("C-1")], meter: "m")
            var random = SystemRandomNumberGenerator()
            let policy = RetryPolicy(backoff: BackoffPolicy(base: .milliseconds(1), cap: .milliseconds(1)), maxAttempts: 2)
            for attempt in 1...2 {
                let claim = try #require(try await Self.claimWhenDue(store))
                #expect(claim.events[0].attempts == attempt - 1)
                // As the dispatcher does: the request carried them once more.
                let plan = Settlement.plan(
                    .failed(reason: "HTTP 500"), events: claim.events.map { $0.carried() }, meter: "m", policy: policy,
                    record: .init(status: 500, responseBody: "oops"), random: &random)
                _ = try await store.settle(plan, token: claim.token)
            }
            let letter = try #require(try await store.deadLetters(meter: "m", deadBefore: nil, limit: 10).first)
            #expect(letter.reason == "gave up after 2 attempts (the retry limit); last failure: HTTP 500")
            #expect(letter.status == 500 && letter.attempts == 2 && letter.responseBody == "oops")
            #expect(try await store.verify().isOK)
        }
    }

    /// Claims once the store's clock says something is due (a retry a few
    /// milliseconds out), waiting for that condition, not for a fixed time.
    static func claimWhenDue(_ store: any OperatedStore) async throws -> Claim? {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let claim = try await store.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000) { return claim }
            try await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }

    @Test(arguments: StoreKind.available)
    func claimsStopAtTheByteBudgetButAlwaysTakeOne(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            let big =
                #"{"CustomerId":"big","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"pad":"\#(String(repeating: "x", count: 3000))"}"#
            _ = try await store.append(jsonEvents: [big] + (0..<50).map { Self.event("C-\($0)") }, meter: "m")
            let alone = try #require(try await store.claim(meter: "m", owner: "o", limit: 100, maxBytes: 1024, leaseMilliseconds: 60_000)).events
            #expect(alone.count == 1 && alone[0].body.count > 3000)
            let small = try #require(try await store.claim(meter: "m", owner: "o", limit: 100, maxBytes: 1024, leaseMilliseconds: 60_000)).events
            let arrayBytes = small.reduce(1) { $0 + $1.body.count + 1 }
            #expect(small.count > 5 && arrayBytes <= 1024)
        }
    }

    @Test(arguments: StoreKind.available)
    func deadLettersAreListedRetriedAndPurged(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            let ids = try await store.append(jsonEvents: (0..<6).map { Self.event("C-\($0)") }, meter: "m")
            let claim = try #require(try await store.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            var random = SystemRandomNumberGenerator()
            _ = try await store.settle(
                Settlement.plan(
                    .rejected(reason: "HTTP 400: bad"), events: claim.events, meter: "m", policy: RetryPolicy(),
                    record: .init(status: 400, responseBody: #"{"success":false}"#, trackID: "tr"), random: &random),
                token: claim.token)
            let letters = try await store.deadLetters(meter: "m", deadBefore: nil, limit: 100)
            #expect(letters.count == 6)
            let one = try #require(try await store.deadLetter(id: ids[0].value))
            #expect(one.status == 400 && one.responseBody == #"{"success":false}"# && one.trackID == "tr" && one.event == Self.event("C-0"))
            let unknown = await #expect(throws: OutboxError.self) {
                try await store.retryDeadLetters(DeadLetterSelection(ids: [ids[0].value, "no-such-id"]))
            }
            #expect(unknown?.code == .unknownIDs)
            #expect(try await store.status().totals.dead == 6, "an unknown id must change nothing")
            #expect(try await store.retryDeadLetters(DeadLetterSelection(ids: [ids[0].value, ids[1].value])) == 2)
            #expect(try await store.purgeDeadLetters(DeadLetterSelection(meter: "m")) == 4)
            let counts = try await store.status().totals
            #expect(counts.pending == 2 && counts.dead == 0 && counts.purged == 4)
            #expect(try await store.verify().isOK)
        }
    }

    @Test(arguments: StoreKind.available)
    func purgesSentEvents(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<30).map { Self.event("C-\($0)") }, meter: "m")
            // Bounds read around the settlement, not a guess at its duration:
            // a loaded machine can stall for seconds between any two lines.
            let beforeSettling = WallClock.nowMilliseconds()
            let claim = try #require(try await store.claim(meter: "m", owner: "o", limit: 20, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            _ = try await store.settle(
                Settlement(
                    meter: "m", rows: claim.events.map { .init(rowID: $0.rowID, outcome: .sent) }, record: .init(),
                    meterFailure: nil, isSuccess: true), token: claim.token)
            let afterSettling = WallClock.nowMilliseconds()
            #expect(try await store.purgeSent(before: beforeSettling - 1).purged == 0)
            #expect(try await store.purgeSent(before: afterSettling + 1).purged == 20)
            let counts = try await store.status().totals
            #expect(counts.sent == 0 && counts.purged == 20 && counts.pending == 10)
            #expect(try await store.verify().isOK)
        }
    }

    @Test(arguments: StoreKind.available)
    func verifyCatchesARowLostBehindItsBack(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, place: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<5).map { Self.event("C-\($0)") }, meter: "m")
            #expect(try await store.verify().isOK)
            switch kind {
            case .sqlite:
                try SQLiteConnection(path: place.location).execute("DELETE FROM outbox_log WHERE id = (SELECT min(id) FROM outbox_log)")
            case .postgres:
                try await TestStore.admin(place.location) { client in
                    try await client.query("DELETE FROM outbox_log WHERE id = (SELECT min(id) FROM outbox_log)")
                }
            }
            let report = try await store.verify()
            #expect(!report.isOK)
            #expect(report.meters.first?.problems.contains("pending: counter says 5, rows say 4") == true)
        }
    }

    @Test(arguments: StoreKind.available)
    func aPausedMeterTakesAppendsButIsNeverClaimed(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<3).map { Self.event("C-\($0)") }, meter: "m")
            _ = try await store.append(jsonEvents: [Self.event("D-1")], meter: "other")
            try await store.pauseMeter("m", reason: "reconfiguring")
            _ = try await store.append(jsonEvents: [Self.event("C-9")], meter: "m")
            #expect(try await store.metersWithWork() == ["other"])
            #expect(try await store.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000) == nil)
            #expect(try await store.undeliveredCount() == 1)
            #expect(try await store.pausedCount() == 4)
            let meter = try #require(try await store.status().meters["m"])
            #expect(meter.pause?.reason == "reconfiguring" && meter.counts.pending == 4)
            let unknown = await #expect(throws: OutboxError.self) { try await store.pauseMeter("no-such-meter", reason: nil) }
            #expect(unknown?.code == .unknownMeter)
            try await store.resumeMeter("m")
            #expect(try await store.status().meters["m"]?.pause == nil)
            // On PostgreSQL, a claim takes only the events that are final
            // already: the last append may come in a claim of its own.
            var claimed = 0
            while claimed < 4, let claim = try await store.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000) {
                claimed += claim.events.count
            }
            #expect(claimed == 4)
        }
    }

    @Test(arguments: StoreKind.available)
    func lateRejectionsMoveSentEventsToDeadOnceAndVerifyBalances(kind: StoreKind) async throws {
        try await withStore(kind, eventIdField: "EventId") { (store: any OperatedStore, _: TestStore) async throws in
            let ids = try await store.append(jsonEvents: (0..<4).map { Self.event("C-\($0)") }, meter: "m")
            let claim = try #require(try await store.claim(meter: "m", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            _ = try await store.settle(
                Settlement(
                    meter: "m", rows: claim.events.map { .init(rowID: $0.rowID, outcome: .sent) }, record: .init(),
                    meterFailure: nil, isSuccess: true), token: claim.token)
            let candidates = try await store.reconcileCandidates(
                ReconcileQuery(
                    meter: "m", eventIDs: [ids[1].value], eventIdField: "EventId",
                    customers: ["C-2"]))
            #expect(Set(candidates.map(\.eventID)) == [ids[1].value, ids[2].value])
            #expect(candidates.allSatisfy { $0.state == .sent })
            let target = try #require(candidates.first { $0.eventID == ids[1].value })
            let rejection = LateRejection(
                rowID: target.rowID, reason: "rejected by Zuora after acceptance: E1: no such customer", responseBody: #"{"traceId":"t1"}"#)
            #expect(try await store.applyLateRejections([rejection], meter: "m", remember: [AppliedAuditEntry(traceID: "t1", eventID: target.eventID)]) == 1)
            // Applied again: the event is no longer sent; nothing moves.
            #expect(try await store.applyLateRejections([rejection], meter: "m", remember: [AppliedAuditEntry(traceID: "t1", eventID: target.eventID)]) == 0)
            #expect(try await store.appliedAuditEntries(meter: "m", traceIDs: ["t1", "t2"]) == ["t1"])
            let letter = try #require(try await store.deadLetter(id: ids[1].value))
            #expect(letter.status == nil && letter.reason.hasPrefix("rejected by Zuora after acceptance") && letter.responseBody == #"{"traceId":"t1"}"#)
            #expect(letter.event.hasPrefix(#"{"EventId":""#), "the event exactly as appended")
            let status = try await store.status()
            #expect(status.totals.sent == 3 && status.totals.dead == 1 && status.meters["m"]?.lateRejected == 1)
            #expect(try await store.verify().isOK)
        }
    }

    static func sent(_ events: ArraySlice<ClaimedEvent>, meter: String = "m") -> Settlement {
        Settlement(meter: meter, rows: events.map { .init(rowID: $0.rowID, outcome: .sent) }, record: .init(), meterFailure: nil, isSuccess: true)
    }

    @Test(arguments: StoreKind.available)
    func rangesThatCompleteOutOfOrder(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<30).map { Self.event("C-\($0)") }, meter: "m")
            let first = try #require(try await store.claim(meter: "m", owner: "a", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            let second = try #require(try await store.claim(meter: "m", owner: "b", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(Set(first.events.map(\.rowID)).isDisjoint(with: second.events.map(\.rowID)))
            #expect(try await store.settle(Self.sent(second.events[...]), token: second.token).sent == 10)
            #expect(try await store.status().totals == StateCounts(appended: 30, pending: 10, inflight: 10, sent: 10))
            #expect(try await store.verify().isOK)
            #expect(try await store.settle(Self.sent(first.events[...]), token: first.token).sent == 10)
            #expect(try await store.status().totals == StateCounts(appended: 30, pending: 10, sent: 20))
            let third = try #require(try await store.claim(meter: "m", owner: "c", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(third.events.count == 10, "the rest, once each")
            #expect(Set(third.events.map(\.rowID)).isDisjoint(with: (first.events + second.events).map(\.rowID)))
            #expect(try await store.verify().isOK)
        }
    }

    @Test(arguments: StoreKind.available)
    func aFailedEventInsideASentRangeComesBackAlone(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<10).map { Self.event("C-\($0)") }, meter: "m")
            let claim = try #require(try await store.claim(meter: "m", owner: "a", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            let failing = claim.events[4]
            let plan = Settlement(
                meter: "m",
                rows: claim.events.map {
                    .init(rowID: $0.rowID, outcome: $0.rowID == failing.rowID ? .retry(afterMilliseconds: 0, attempts: 1) : .sent)
                }, record: .init(status: 500), meterFailure: "HTTP 500", isSuccess: false)
            #expect(try await store.settle(plan, token: claim.token) == SettlementResult(sent: 9, retried: 1))
            #expect(try await store.status().totals == StateCounts(appended: 10, failed: 1, sent: 9))
            let again = try #require(try await Self.claimWhenDue(store))
            #expect(again.events.map(\.rowID) == [failing.rowID] && again.events[0].attempts == 1 && again.events[0].body == failing.body)
            #expect(try await store.settle(Self.sent(again.events[...]), token: again.token).sent == 1)
            #expect(try await store.status().totals == StateCounts(appended: 10, sent: 10))
            #expect(try await store.verify().isOK)
        }
    }

    /// Bisection settles a claim a half at a time: each half on its own, the
    /// unsent half still held (and renewable) meanwhile.
    @Test(arguments: StoreKind.available)
    func bisectionSettlesARangeHalfByHalf(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<10).map { Self.event("C-\($0)") }, meter: "m")
            let claim = try #require(try await store.claim(meter: "m", owner: "a", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(try await store.settle(Self.sent(claim.events[0..<5]), token: claim.token).sent == 5)
            let rest = Array(claim.events[5...])
            #expect(try await store.renewLease(rest.map(\.rowID), token: claim.token, leaseMilliseconds: 60_000) == Set(rest.map(\.rowID)))
            #expect(try await store.status().totals == StateCounts(appended: 10, inflight: 5, sent: 5))
            let plan = Settlement(
                meter: "m",
                rows: rest.enumerated().map { index, event in
                    .init(rowID: event.rowID, outcome: index == 2 ? .dead(reason: "HTTP 400: bad", attempts: 0) : .sent)
                }, record: .init(status: 400, responseBody: "{}"), meterFailure: nil, isSuccess: false)
            #expect(try await store.settle(plan, token: claim.token) == SettlementResult(sent: 4, dead: 1))
            #expect(try await store.status().totals == StateCounts(appended: 10, sent: 9, dead: 1))
            #expect(try await store.deadLetters(meter: "m", deadBefore: nil, limit: 10).map(\.event) == [String(decoding: rest[2].body, as: UTF8.self)])
            #expect(try await store.verify().isOK)
        }
    }

    /// Retention deletes delivered ranges, and only what they delivered:
    /// an event waiting for its retry, or a dead letter, stays.
    @Test(arguments: StoreKind.available)
    func purgeAcrossRangesKeepsTheExceptions(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<30).map { Self.event("C-\($0)") }, meter: "m")
            var claims: [Claim] = []
            for owner in ["a", "b", "c"] {
                claims.append(try #require(try await store.claim(meter: "m", owner: owner, limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000)))
            }
            let waiting = claims[1].events[3]
            let dead = claims[2].events[7]
            for claim in claims {
                let plan = Settlement(
                    meter: "m",
                    rows: claim.events.map { event in
                        .init(
                            rowID: event.rowID,
                            outcome: event.rowID == waiting.rowID
                                ? .retry(afterMilliseconds: 3_600_000, attempts: 1)
                                : event.rowID == dead.rowID ? .dead(reason: "bad", attempts: 0) : .sent)
                    }, record: .init(), meterFailure: "mixed", isSuccess: false)
                _ = try await store.settle(plan, token: claim.token)
            }
            #expect(try await store.status().totals == StateCounts(appended: 30, failed: 1, sent: 28, dead: 1))
            let result = try await store.purgeSent(before: WallClock.nowMilliseconds() + 60_000)
            #expect(result.purged == 28)
            #expect(try await store.status().totals == StateCounts(appended: 30, failed: 1, dead: 1, purged: 28))
            #expect(try await store.deadLetters(meter: "m", deadBefore: nil, limit: 10).count == 1)
            #expect(try await store.verify().isOK)
            // The dead letter, retried, goes out on its own.
            #expect(try await store.retryDeadLetters(DeadLetterSelection(meter: "m")) == 1)
            let retried = try #require(try await store.claim(meter: "m", owner: "d", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(retried.events.map(\.rowID) == [dead.rowID])
            #expect(try await store.verify().isOK)
            // Sent now, with its range long purged: retention deletes it in turn.
            let sent = Settlement(meter: "m", rows: [.init(rowID: dead.rowID, outcome: .sent)], record: .init(), meterFailure: nil, isSuccess: true)
            #expect(try await store.settle(sent, token: retried.token) == SettlementResult(sent: 1))
            #expect(try await store.purgeSent(before: WallClock.nowMilliseconds() + 60_000).purged == 1)
            #expect(try await store.status().totals == StateCounts(appended: 30, failed: 1, purged: 29))
            #expect(try await store.verify().isOK)
        }
    }

    /// The app's own write breaking a unique key, in the transactional
    /// outbox: the same error code from either store, and neither the row
    /// nor its events are kept.
    @Test(arguments: StoreKind.available)
    func aBrokenConstraintIsTheSameErrorOnBothStores(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        defer { Task { await place.remove() } }
        func order(_ id: String) async throws {
            switch kind {
            case .sqlite:
                let outbox = try Outbox(OutboxConfiguration(path: place.location, allowForeignTables: true))
                defer { outbox.close() }
                try await outbox.write { tx in
                    try tx.execute("CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY)")
                    try tx.execute("INSERT INTO orders (id) VALUES (?1)", .text(id))
                    try tx.append(json: Self.event("C-\(id)"), meter: "orders")
                }
            case .postgres:
                let outbox = try await TestStore.openPostgres(place.location)
                defer { Task { await outbox.close() } }
                let logger = Logger(label: "test")
                try await outbox.write { connection in
                    try await connection.query("CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY)", logger: logger)
                    try await connection.query("INSERT INTO orders (id) VALUES (\(id))", logger: logger)
                    _ = try await outbox.append(jsonEvents: [Self.event("C-\(id)")], meter: "orders", on: connection)
                }
            }
        }
        try await order("o-1")
        let error = await #expect(throws: OutboxError.self) { try await order("o-1") }
        #expect(error?.code == .constraintViolation, "\(String(describing: error))")
        let store = try await place.open()
        #expect(try await store.status().totals.appended == 1, "the failed write's event is not kept")
        await store.close()
    }

    /// Transactions that each append twice to one meter, many at once: the
    /// counter shards are taken in one order (one shard per connection), so
    /// none of them deadlocks (random shards per call made 40P01 possible).
    @Test func concurrentTransactionsAppendingTwiceNeverDeadlock() async throws {
        guard StoreKind.postgresURL != nil else { return }
        try await withStore(.postgres) { (store: any OperatedStore, _: TestStore) async throws in
            let outbox = try #require(store as? PostgresOutbox)
            let logger = Logger(label: "test")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        for round in 0..<15 {
                            try await outbox.client.withTransaction(logger: logger) { connection in
                                _ = try await outbox.append(jsonEvents: [Self.event("T\(task)-\(round)-a")], meter: "m", on: connection)
                                _ = try await outbox.append(jsonEvents: [Self.event("T\(task)-\(round)-b")], meter: "other", on: connection)
                                _ = try await outbox.append(jsonEvents: [Self.event("T\(task)-\(round)-c")], meter: "m", on: connection)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let totals = try await store.status().totals
            #expect(totals.appended == 8 * 15 * 3)
            #expect(try await store.verify().isOK)
        }
    }

    /// The transactional outbox on PostgreSQL: the app's row and its events
    /// commit or roll back together, in the app's own transaction.
    @Test func appendsInsideTheAppsOwnPostgresTransaction() async throws {
        guard StoreKind.postgresURL != nil else { return }
        try await withStore(.postgres) { (store: any OperatedStore, place: TestStore) async throws in
            let outbox = try #require(store as? PostgresOutbox)
            let logger = Logger(label: "test")
            try await outbox.client.query("CREATE TABLE orders (id TEXT PRIMARY KEY, customer TEXT NOT NULL)")
            try await outbox.client.withTransaction(logger: logger) { connection in
                try await connection.query("INSERT INTO orders (id, customer) VALUES ('o-1', 'C-9')", logger: logger)
                _ = try await outbox.append(jsonEvents: [Self.event("C-9")], meter: "orders", on: connection)
            }
            struct Declined: Error {}
            await #expect(throws: (any Error).self) {
                try await outbox.client.withTransaction(logger: logger) { connection in
                    try await connection.query("INSERT INTO orders (id, customer) VALUES ('o-2', 'C-9')", logger: logger)
                    _ = try await outbox.append(jsonEvents: [Self.event("C-9")], meter: "orders", on: connection)
                    throw Declined()
                }
            }
            var orders = 0
            for try await count in try await outbox.client.query("SELECT count(*)::bigint FROM orders").decode(Int64.self) { orders = Int(count) }
            #expect(orders == 1)
            let status = try await store.status()
            #expect(status.totals.appended == 1 && status.meters["orders"]?.counts.pending == 1)
            #expect(try await store.verify().isOK)
        }
    }

    @Test func postgresMigrationsMatchTheMigrationsDirectory() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("migrations/postgres")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.count == PostgresSchema.migrations.count, "run scripts/embed-migrations")
        for (file, migration) in zip(files, PostgresSchema.migrations) {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            #expect(file == String(format: "%04d_%@.sql", migration.version, migration.name))
            #expect(
                text.trimmingCharacters(in: .newlines) == migration.sql.trimmingCharacters(in: .newlines),
                "\(file) differs from its embedded copy: run scripts/embed-migrations")
        }
    }

    @Test func aNewerPostgresSchemaIsRefused() async throws {
        guard StoreKind.postgresURL != nil else { return }
        let place = try await TestStore.make(.postgres)
        let store = try await PostgresOutbox.open(url: place.location, password: nil)
        try await store.client.query("INSERT INTO outbox_schema_migrations VALUES (999, 'future', 0)")
        await store.close()
        let error = await #expect(throws: OutboxError.self) { _ = try await PostgresOutbox.open(url: place.location, password: nil) }
        #expect(error?.code == .schemaTooNew)
        await place.remove()
    }

    @Test func aPasswordInTheURLIsKeptButNeverShown() throws {
        let withPassword = try PostgresLocation(url: "postgres://app:s3%2Fcret@db.internal/app")
        #expect(withPassword.password == "s3/cret")
        #expect(!withPassword.description.contains("s3"))
        #expect(throws: OutboxError.self) { _ = try PostgresLocation(url: "mysql://app@db.internal/app") }
        let location = try PostgresLocation(url: "postgres://app@db.internal:6432/billing")
        #expect(location.description == "postgres://app@db.internal:6432/billing" && location.tls == "require")
        #expect(try PostgresLocation(url: "postgresql://u@127.0.0.1/d").tls == "disable")
    }
}

/// A paused meter's events wait on purpose: the backlog age an alert pages
/// on leaves them out, and they have an age of their own.
struct PausedBacklogAgeTests {
    static func event(_ customer: String) -> String {
        #"{"CustomerId":"\#(customer)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
    }

    @Test(arguments: StoreKind.available)
    func pausedMetersAreLeftOutOfTheBacklogAge(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let store = try await place.open()
        try await place.using(store) {
            _ = try await store.append(jsonEvents: [Self.event("P-1")], meter: "paused")
            try await store.pauseMeter("paused", reason: "a test")
            var status = try await store.status()
            #expect(status.oldestPausedAgeSeconds != nil && status.oldestUnpausedAgeSeconds == nil, "\(status)")
            #expect(status.oldestPendingAgeSeconds != nil, "the overall age still counts every meter")
            _ = try await store.append(jsonEvents: [Self.event("A-1")], meter: "active")
            status = try await store.status()
            #expect(status.oldestPausedAgeSeconds != nil && status.oldestUnpausedAgeSeconds != nil, "\(status)")
            // Each meter carries its own age, for the per-meter gauge.
            #expect(status.meters["paused"]?.oldestPendingAgeSeconds != nil && status.meters["active"]?.oldestPendingAgeSeconds != nil)
            #expect(status.oldestPendingAgeSeconds == status.meters.values.compactMap(\.oldestPendingAgeSeconds).max())
            try await store.resumeMeter("paused")
            status = try await store.status()
            #expect(status.oldestPausedAgeSeconds == nil && status.oldestUnpausedAgeSeconds != nil, "\(status)")
        }
    }
}
