import Foundation
import Logging
import OutboxCore
import PostgresNIO
import Testing
import UsageOutbox
import ZuoraMock

@testable import OutboxDispatcher
@testable import OutboxPostgres

/// What each store records for idempotency keys: the outbox's own id, a
/// fresh key seed after an answer, and the key of a request that got no
/// answer, whose events are then claimed together and alone.
struct IdempotencyKeyStoreTests {
    static func event(_ customer: String) -> String {
        #"{"CustomerId":"\#(customer)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
    }

    static func claim(_ store: any OperatedStore, limit: Int = 100) async throws -> Claim? {
        try await store.claim(meter: "m", owner: "o", limit: limit, maxBytes: 1 << 20, leaseMilliseconds: 60_000)
    }

    /// Settles every event of `claim` as due again at once, with `keys`.
    static func retryNow(_ claim: Claim, on store: any OperatedStore, keys: RequestKeyChange, status: Int? = 500) async throws {
        let rows = claim.events.map { Settlement.Row(rowID: $0.rowID, outcome: .retry(afterMilliseconds: 0, attempts: $0.attempts + 1)) }
        let settlement = Settlement(meter: "m", rows: rows, record: .init(status: status), meterFailure: "test", isSuccess: false, keys: keys)
        _ = try await store.settle(settlement, token: claim.token)
    }

    @Test(arguments: StoreKind.available)
    func eachOutboxHasItsOwnIdWhichItKeeps(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let other = try await TestStore.make(kind)
        let store = try await place.open()
        let neighbour = try await other.open()
        try await place.using(store) {
            try await other.using(neighbour) {
                let id = try await store.outboxID()
                #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))
                #expect(try await neighbour.outboxID() != id)
                let reopened = try await place.open()
                #expect(try await reopened.outboxID() == id)
                await reopened.close()
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func eventsWithoutAnAnswerComeBackTogetherUnderTheirKey(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let store = try await place.open()
        try await place.using(store) {
            _ = try await store.append(jsonEvents: (0..<6).map { Self.event("C-\($0)") }, meter: "m")
            // Three requests of two events: one lost its answer, one was
            // answered 500, one lost its answer too.
            let lost = try #require(try await Self.claim(store, limit: 2))
            let answered = try #require(try await Self.claim(store, limit: 2))
            let lostToo = try #require(try await Self.claim(store, limit: 2))
            #expect(lost.events.allSatisfy { $0.keySeed == 0 && $0.unansweredKey == nil }, "a range's events have nothing recorded")
            try await Self.retryNow(lost, on: store, keys: .unanswered(key: "ob1-lost"), status: nil)
            try await Self.retryNow(answered, on: store, keys: .answered(seed: 77))
            try await Self.retryNow(lostToo, on: store, keys: .unanswered(key: "ob1-lost-too"), status: nil)

            // Each unanswered request's events come back alone, even with
            // room for more; the answered events may go with any others.
            var claims: [Claim] = []
            for _ in 0..<3 {
                let claim = try #require(try await Self.claim(store))
                let keys = Set(claim.events.map { $0.unansweredKey ?? "seed \($0.keySeed)" })
                #expect(keys.count == 1, "one group per claim: \(keys)")
                switch keys.first {
                case "ob1-lost": #expect(claim.events.map(\.rowID).sorted() == lost.events.map(\.rowID).sorted())
                case "ob1-lost-too": #expect(claim.events.map(\.rowID).sorted() == lostToo.events.map(\.rowID).sorted())
                default:
                    #expect(claim.events.map(\.rowID).sorted() == answered.events.map(\.rowID).sorted())
                    #expect(claim.events.allSatisfy { $0.keySeed == 77 && $0.unansweredKey == nil })
                }
                claims.append(claim)
            }
            #expect(Set(claims.flatMap { $0.events.map(\.rowID) }).count == 6)
            // Answers now: the keys are gone, a new seed in their place, and
            // the rows may go out together.
            for claim in claims { try await Self.retryNow(claim, on: store, keys: .answered(seed: 5)) }
            let together = try #require(try await Self.claim(store))
            #expect(together.events.count == 6 && together.events.allSatisfy { $0.keySeed == 5 && $0.unansweredKey == nil })
            // No request left (a token failure): seeds and keys stay.
            try await Self.retryNow(together, on: store, keys: .unchanged, status: nil)
            let same = try #require(try await Self.claim(store))
            #expect(same.events.allSatisfy { $0.keySeed == 5 && $0.unansweredKey == nil })
            #expect(try await store.verify().isOK)
        }
    }

    @Test(arguments: StoreKind.available)
    func aRedrivenDeadLetterGetsAFreshSeed(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let store = try await place.open()
        try await place.using(store) {
            _ = try await store.append(jsonEvents: [Self.event("C-1")], meter: "m")
            let claim = try #require(try await Self.claim(store))
            let dead = Settlement(
                meter: "m", rows: [.init(rowID: claim.events[0].rowID, outcome: .dead(reason: "rejected", attempts: 1))], record: .init(status: 400),
                meterFailure: nil, isSuccess: false, keys: .answered(seed: 3))
            _ = try await store.settle(dead, token: claim.token)
            #expect(try await store.retryDeadLetters(.all) == 1)
            let again = try #require(try await Self.claim(store))
            // Zuora answered the event before: its next key must be new.
            #expect(again.events[0].keySeed != 0 && again.events[0].unansweredKey == nil)
        }
    }

    /// What the dispatcher would send for `claim`: its key and its bytes.
    static func request(_ claim: Claim, outboxID: String) throws -> (key: String, body: [UInt8]) {
        let body = try RequestBody.make(claim.events, gzip: true)
        return (IdempotencyKey.make(outboxID: outboxID, meter: claim.meter, events: claim.events), Array(body.buffer.readableBytesView))
    }

    /// The same events re-sent after no answer, from the store's rows alone
    /// (as another process would): the same key and the same bytes; and
    /// after an answer, a new key.
    @Test(arguments: StoreKind.available)
    func aReSendAfterNoAnswerHasTheSameKeyAndBytes(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let store = try await place.open()
        try await place.using(store) {
            let outboxID = try await store.outboxID()
            _ = try await store.append(jsonEvents: (0..<5).map { Self.event("C-\($0)") }, meter: "m")
            // A claim whose lease lapses at once: a killed dispatcher's.
            let killed = try #require(try await store.claim(meter: "m", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 1))
            let first = try Self.request(killed, outboxID: outboxID)
            var takenOver: Claim?
            try await waitUntil("the lapsed claim is taken over") {
                takenOver = try await Self.claim(store)
                return takenOver != nil
            }
            let again = try Self.request(try #require(takenOver), outboxID: outboxID)
            #expect(again.key == first.key && again.body == first.body, "a range taken over")
            // Its request times out: the events come back as retry rows.
            try await Self.retryNow(try #require(takenOver), on: store, keys: .unanswered(key: again.key), status: nil)
            let retried = try #require(try await Self.claim(store))
            let third = try Self.request(retried, outboxID: outboxID)
            #expect(third.key == first.key && third.body == first.body, "retry rows after no answer")
            // Answered (a 500): the next request has a new key.
            try await Self.retryNow(retried, on: store, keys: .answeredWithFreshSeed())
            let afterAnswer = try Self.request(try #require(try await Self.claim(store)), outboxID: outboxID)
            #expect(afterAnswer.key != first.key && afterAnswer.body == first.body)
        }
    }

    /// On PostgreSQL the log is ordered by transaction, then id: two
    /// transactions appending at once interleave ids. A rejected batch's
    /// halves must still be runs of the log (a range settles only such a
    /// run), so every good event is sent once and the bad one dead-lettered.
    @Test func interleavedTransactionsBisectCleanlyOnPostgres() async throws {
        guard StoreKind.postgresURL != nil else { return }
        try await Harness.with(.postgres) { h in
            let outbox = try #require(h.outbox as? PostgresOutbox)
            let logger = Logger(label: "test")
            let configuration = try PostgresLocation(url: h.place.location).connectionConfiguration(password: nil)
            // Two connections on different counter shards (one shard's row
            // lock would make the second transaction wait for the first).
            var connections: [PostgresConnection] = []
            defer { for connection in connections { Task { try? await connection.close() } } }
            var shards: Set<Int64> = []
            for id in 0..<16 where connections.count < 2 {
                let candidate = try await PostgresConnection.connect(configuration: configuration, id: 200 + id, logger: logger)
                let shard = try await PostgresLogOrderTests.shard(of: candidate)
                if shards.insert(shard).inserted { connections.append(candidate) } else { try await candidate.close() }
            }
            try #require(connections.count == 2)
            for connection in connections { try await connection.query("BEGIN", logger: logger) }
            // Ids 1..8 alternate between the transactions; the log holds
            // the first transaction's four, then the second's.
            for index in 0..<8 {
                let customer = index == 5 ? "INVALID-\(index)" : "C-\(index)"
                _ = try await outbox.append(jsonEvents: [Self.event(customer)], meter: "m", on: connections[index % 2])
            }
            for connection in connections { try await connection.query("COMMIT", logger: logger) }
            let summary = try await h.dispatcher { $0.batchSize = 8 }.drainOnce(maxTime: .seconds(60))
            #expect(summary.sent == 7 && summary.dead == 1, "\(summary)")
            #expect(h.mock.statistics.acceptedEvents == 7 && h.mock.statistics.duplicateEvents == 0, "\(h.mock.statistics)")
            #expect(!h.logs.text.contains("cannot record a delivery outcome"), "\(h.logs.all.filter { $0.contains("cannot record") })")
            #expect(try await h.outbox.verify().isOK)
        }
    }
}
