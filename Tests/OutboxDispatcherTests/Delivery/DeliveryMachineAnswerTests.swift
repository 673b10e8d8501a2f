import Logging
import OutboxCore
import Testing

@testable import OutboxDispatcher

/// What each answer comes to, without HTTP or a store: the settlements the
/// machine orders (verdict, events, and the key the events go again under)
/// and how many requests it took.
struct DeliveryMachineAnswerTests {
    /// The key a settlement leaves the events with.
    enum Key: Sendable {
        /// The key the events were sent under (`NextKey.keep`).
        case same
        /// A new one next time (`NextKey.fresh`).
        case fresh
    }

    struct Row: Sendable, CustomTestStringConvertible {
        let name: String
        var events = 1
        let answers: Answers
        let requests: Int
        /// One settlement each: its verdict, its events' ids, its key.
        let settled: [(DeliveryMachine.SettleOrder.Verdict, [String], Key)]
        var testDescription: String { name }
    }

    static let rejection = #"{"success":false,"reasons":[{"code":"53100320","message":"bad quantity"}]}"#
    static let busy = #"{"success":false,"reasons":[{"code":"53100060","message":"busy"}]}"#

    static let rows: [Row] = [
        Row(name: "200 success", events: 3, answers: .always(.status(200)), requests: 1, settled: [(.batch(.accepted), ["e0", "e1", "e2"], .fresh)]),
        Row(
            name: "200 success false, one event", answers: .always(.status(200, rejection, success: .explicitlyFalse)), requests: 1,
            settled: [(.batch(.rejected(reason: "HTTP 200: bad quantity (code 53100320)")), ["e0"], .fresh)]),
        Row(
            name: "200 whose body could not be read", answers: .always(.status(200, "{", success: .unreadable("cut off"))), requests: 1,
            settled: [(.batch(.failed(reason: "HTTP 200 whose body could not be read (cut off); not counted as accepted")), ["e0"], .same)]),
        Row(
            name: "400, one event", answers: .always(.status(400, rejection)), requests: 1,
            settled: [(.batch(.rejected(reason: "HTTP 400: bad quantity (code 53100320)")), ["e0"], .fresh)]),
        Row(
            name: "400, two events both bad", events: 2, answers: .always(.status(400, rejection)), requests: 3,
            settled: [
                (.batch(.rejected(reason: "HTTP 400: bad quantity (code 53100320)")), ["e0"], .fresh),
                (.batch(.rejected(reason: "HTTP 400: bad quantity (code 53100320)")), ["e1"], .fresh),
            ]),
        Row(
            name: "413, one event", answers: .always(.status(413)), requests: 1,
            settled: [(.batch(.rejected(reason: "HTTP 413: the event alone (7 bytes) is larger than Zuora accepts")), ["e0"], .fresh)]),
        Row(
            name: "413, two events that fit alone", events: 2, answers: .bySize(several: .status(413), one: .status(200)), requests: 3,
            settled: [(.batch(.accepted), ["e0"], .fresh), (.batch(.accepted), ["e1"], .fresh)]),
        Row(
            name: "403", answers: .always(.status(403)), requests: 1,
            settled: [(.deferredByMeterBackoff(reason: RejectionReason.configurationHint(status: 403, meter: "m")), ["e0"], .fresh)]),
        Row(
            name: "404", answers: .always(.status(404)), requests: 1,
            settled: [(.deferredByMeterBackoff(reason: RejectionReason.configurationHint(status: 404, meter: "m")), ["e0"], .fresh)]),
        Row(
            name: "401 then 200", events: 2, answers: .inTurn([.status(401), .status(200)]), requests: 2,
            settled: [(.batch(.accepted), ["e0", "e1"], .fresh)]),
        Row(
            name: "401 twice", answers: .always(.status(401)), requests: 2,
            settled: [(.deferredByMeterBackoff(reason: RejectionReason.configurationHint(status: 401, meter: "m")), ["e0"], .fresh)]),
        Row(
            name: "429 with a hint", answers: .always(.status(429, retryAfter: 7)), requests: 1,
            settled: [(.batch(.deferred(reason: "rate limited (HTTP 429); waiting 7s", delayMilliseconds: 7000)), ["e0"], .fresh)]),
        Row(
            name: "429 without a hint", answers: .always(.status(429)), requests: 1,
            settled: [(.batch(.deferred(reason: "rate limited (HTTP 429); waiting 3s", delayMilliseconds: 2500)), ["e0"], .fresh)]),
        Row(name: "408", answers: .always(.status(408)), requests: 1, settled: [(.batch(.failed(reason: "HTTP 408")), ["e0"], .same)]),
        Row(name: "502", answers: .always(.status(502)), requests: 1, settled: [(.batch(.failed(reason: "HTTP 502")), ["e0"], .same)]),
        Row(name: "504", answers: .always(.status(504)), requests: 1, settled: [(.batch(.failed(reason: "HTTP 504")), ["e0"], .same)]),
        Row(name: "500", answers: .always(.status(500)), requests: 1, settled: [(.batch(.failed(reason: "HTTP 500")), ["e0"], .fresh)]),
        Row(
            name: "500 whose codes say retry later", answers: .always(.status(500, busy)), requests: 1,
            settled: [(.deferredByMeterBackoff(reason: "HTTP 500: busy (code 53100060)"), ["e0"], .fresh)]),
        Row(
            name: "409, the key in progress, with a hint", answers: .always(.status(409, retryAfter: 4)), requests: 1,
            settled: [
                (
                    .batch(.deferred(reason: "HTTP 409: the idempotency key's first request is still in progress; waiting 4s", delayMilliseconds: 4000)),
                    ["e0"], .same
                )
            ]),
        Row(
            name: "409, the key in progress, without a hint", answers: .always(.status(409)), requests: 1,
            settled: [
                (
                    .batch(.deferred(reason: "HTTP 409: the idempotency key's first request is still in progress; waiting 1s", delayMilliseconds: 1000)),
                    ["e0"], .same
                )
            ]),
        Row(
            name: "422, the key reused with another body", answers: .always(.status(422)), requests: 1,
            settled: [(.batch(.failed(reason: "HTTP 422: idempotency key reused with another body; retried under a new key")), ["e0"], .fresh)]),
        Row(
            name: "transport failure", events: 2, answers: .always(.transport("timed out waiting for the answer")), requests: 1,
            settled: [(.batch(.failed(reason: "timed out waiting for the answer")), ["e0", "e1"], .same)]),
    ]

    @Test(arguments: rows)
    func answer(_ row: Row) {
        var world = ScriptedDelivery()
        world.answers = row.answers
        world.run(ScriptedDelivery.events(row.events))
        #expect(world.sent.count == row.requests)
        #expect(world.settled.count == row.settled.count)
        for (order, (verdict, ids, key)) in zip(world.settled, row.settled) {
            #expect(order.verdict == verdict)
            #expect(order.events.map(\.eventID) == ids)
            switch key {
            case .same: #expect(order.keys == .keep(ScriptedDelivery.key(order.events)))
            case .fresh: #expect(order.keys == .fresh)
            }
        }
        #expect(world.nexts.last == .finished)
    }

    @Test func aResendAfter401GoesWithAFreshTokenUnderTheSameKey() {
        var world = ScriptedDelivery()
        world.answers = .inTurn([.status(401), .status(200)])
        world.run(ScriptedDelivery.events(2))
        #expect(world.tokenFetches == 2)
        #expect(world.nexts.contains(.fetchFreshToken(rejected: world.sends[0].token)))
        #expect(world.sends.map(\.idempotencyKey) == Array(repeating: ScriptedDelivery.key(ScriptedDelivery.events(2)), count: 2))
        #expect(world.sends[0].token != world.sends[1].token)
        #expect(world.sends[0].body == world.sends[1].body)
        // Both requests carried the events, and both count.
        #expect(world.settled[0].events.map(\.tries) == [2, 2])
        #expect(world.effects.filter { $0 == .count(.requests(1)) }.count == 2)
        #expect(world.logs.contains { $0.level == .warning && $0.message == "Zuora answered 401; fetching a new token and resending once" })
    }

    @Test func aRefusedCredentialIsDeferredByTheMeterUnderTheSameKey() {
        var world = ScriptedDelivery()
        world.tokenFailures = [.rejected("Zuora refused the OAuth client credentials", hint: "check them")]
        world.run(ScriptedDelivery.events(2))
        #expect(world.sent.isEmpty)
        let order = world.settled.first
        #expect(order?.verdict == .deferredByMeterBackoff(reason: "Zuora refused the OAuth client credentials"))
        #expect(order?.record == Settlement.Record(status: 401))
        #expect(order?.keys == .keep(ScriptedDelivery.key(ScriptedDelivery.events(2))))
        #expect(
            world.logs.first == LogLine(level: .error, message: "Zuora refused the OAuth client credentials", metadata: ["meter": "m", "hint": "check them"]))
    }

    @Test func anUnavailableTokenHoldsTheGateForItsHint() {
        var world = ScriptedDelivery()
        world.tokenFailures = [.unavailable("the token endpoint answered HTTP 503", retryAfterSeconds: 5)]
        world.run(ScriptedDelivery.events(1))
        #expect(world.sent.isEmpty)
        #expect(world.nexts.contains(.holdGate(hintSeconds: 5)))
        #expect(world.effects.contains(.count(.transient(1))))
        #expect(
            world.settled.first?.verdict
                == .batch(.deferred(reason: "token: the token endpoint answered HTTP 503; waiting 5s", delayMilliseconds: 5000)))
        #expect(world.settled.first?.keys == .keep(ScriptedDelivery.key(ScriptedDelivery.events(1))))
    }

    @Test func aTokenFailureAfterA401LeavesTheAnsweredKeyBehind() {
        var world = ScriptedDelivery()
        world.answers = .always(.status(401))
        world.tokenFailures = [nil, .unavailable("down")]
        world.run(ScriptedDelivery.events(1))
        #expect(world.sent.count == 1)
        #expect(world.settled.first?.keys == .fresh)
        #expect(world.settled.first?.events.map(\.tries) == [1])
    }

    @Test func withoutKeys409And422AreRetriedLikeAnyOtherAnswer() {
        for status in [409, 422] {
            var world = ScriptedDelivery()
            world.idempotencyKeys = false
            world.answers = .always(.status(status))
            world.run(ScriptedDelivery.events(1))
            #expect(world.sends.first?.idempotencyKey == nil)
            #expect(world.settled.first?.verdict == .batch(.failed(reason: "HTTP \(status)")))
            #expect(world.settled.first?.keys == .fresh)
        }
    }

    @Test func aSuccessResetsTheMeterAndEndsTheRateLimitStreak() {
        var world = ScriptedDelivery()
        world.run(ScriptedDelivery.events(1))
        #expect(world.effects.contains(.gateSucceeded))
        #expect(world.effects.contains(.resetMeterBackoff))
        #expect(world.effects.contains(.tally(SettlementResult(sent: 1))))
    }

    @Test func aSuccessSayingTheQuotaIsSpentPausesTheGate() {
        var world = ScriptedDelivery()
        var reply = Reply.status(200)
        reply.quotaExhaustedFor = 12
        world.answers = .always(reply)
        world.run(ScriptedDelivery.events(1))
        #expect(world.effects.contains(.pauseGate(seconds: 12)))
        #expect(world.settled.first?.verdict == .batch(.accepted))
    }

    @Test func aTwoHundredSayingRetryLaterIsNoSuccess() {
        var world = ScriptedDelivery()
        world.answers = .always(.status(200, Self.busy, success: .explicitlyFalse))
        world.run(ScriptedDelivery.events(1))
        #expect(!world.effects.contains(.gateSucceeded))
        #expect(world.settled.first?.verdict == .deferredByMeterBackoff(reason: "HTTP 200: busy (code 53100060)"))
    }

    @Test func aDeadLetterIsLoggedOnceTheStoreHasIt() throws {
        var world = ScriptedDelivery()
        world.answers = .always(.status(400))
        world.run(ScriptedDelivery.events(1))
        let settle = try #require(world.nexts.firstIndex { if case .settle = $0 { true } else { false } })
        let line = LogLine(
            level: .warning, message: "event dead-lettered",
            metadata: ["meter": "m", "event_id": "e0", "status": .stringConvertible(400), "reason": "HTTP 400"])
        #expect(world.actions[settle + 1].effects.contains(.log(line)))
        #expect(!world.actions[settle].effects.contains(.log(line)))
    }

    /// One line per request: debug for the routine answers, notice for
    /// rate limits, warning for the rest.
    @Test(arguments: [(200, Logger.Level.debug), (400, .debug), (413, .debug), (429, .notice), (503, .notice), (500, .warning), (404, .warning)])
    func requestLineLevel(status: Int, level: Logger.Level) {
        for (threshold, logged) in [(level, true), (Logger.Level.error, false)] {
            var world = ScriptedDelivery()
            world.logLevel = threshold
            world.answers = .always(.status(status, retryAfter: 1))
            world.run(ScriptedDelivery.events(1))
            let line = world.logs.first { $0.message == "usage request" }
            #expect((line != nil) == logged)
            if let line {
                #expect(line.level == level)
                #expect(line.metadata["status"] == .stringConvertible(status))
                #expect(line.metadata["idempotency_key"] == "\(ScriptedDelivery.key(ScriptedDelivery.events(1)))")
            }
        }
    }
}
