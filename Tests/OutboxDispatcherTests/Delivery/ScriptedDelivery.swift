import Foundation
import Logging
import OutboxCore

@testable import OutboxDispatcher

/// Zuora's reply to one request, as a table row states it.
struct Reply: Sendable {
    var status: Int
    var body = ""
    var success = SuccessFinding.notFalse
    var retryAfter: Double? = nil
    var quotaExhaustedFor: Double? = nil
    /// No answer at all: the transport failed with this.
    var transportFailure: String? = nil

    static func status(_ status: Int, _ body: String = "", success: SuccessFinding = .notFalse, retryAfter: Double? = nil) -> Reply {
        Reply(status: status, body: body, success: success, retryAfter: retryAfter)
    }

    static func transport(_ reason: String) -> Reply { Reply(status: 0, transportFailure: reason) }

    var outcome: SendOutcome {
        if let transportFailure { return .transportFailed(transportFailure) }
        return .answered(
            ZuoraAnswer(
                status: status, body: Array(body.utf8), success: success, requestID: "req", retryAfterSeconds: retryAfter,
                quotaExhaustedForSeconds: quotaExhaustedFor))
    }
}

/// How Zuora answers the requests of one run.
enum Answers: Sendable {
    case always(Reply)
    /// One reply for a batch of several events, another for a single one.
    case bySize(several: Reply, one: Reply)
    /// The n-th request gets the n-th reply.
    case inTurn([Reply])
    /// 400 to any batch holding one of these event ids, else 200.
    case rejecting(Set<String>)

    func reply(to eventIDs: [String], index: Int) -> Reply {
        switch self {
        case .always(let reply): reply
        case .bySize(let several, let one): eventIDs.count > 1 ? several : one
        case .inTurn(let replies): replies[index]
        case .rejecting(let bad): eventIDs.contains(where: bad.contains) ? .status(400) : .status(200)
        }
    }
}

/// Everything `BatchDelivery`'s shell talks to, scripted: it answers each
/// `Next` of a `DeliveryMachine` and keeps what the machine asked for.
struct ScriptedDelivery {
    static let outboxID = "ob"
    static let meter = "m"
    static let leaseMilliseconds: Int64 = 30_000

    var answers: Answers = .always(.status(200))
    /// Answers to token fetches, in turn; then a token each time.
    var tokenFailures: [TokenError?] = []
    var spentBudget: [Duration?] = []
    var gateWaits: [WorkerPacing.GateWait] = []
    /// Which of the asked rows a renewal holds (nil: the store failed).
    var renew: @Sendable ([Int64]) -> Set<Int64>? = { Set($0) }
    var admissions: [SharedRequestBudget.Outcome] = []
    /// How long an admission takes: longer than a proof's freshness makes
    /// the machine prove the claim again before sending.
    var admissionTakes = Duration.zero
    var gateClosed: [Bool] = []
    var bodyFails = false
    var idempotencyKeys = true
    var mayHaveBeenSent = false
    var logLevel = Logger.Level.info

    // What the machine asked for.
    private(set) var actions: [DeliveryMachine.Action] = []
    /// The event ids of each request, in order.
    private(set) var sent: [[String]] = []
    private(set) var sends: [DeliveryMachine.Send] = []
    private(set) var settled: [DeliveryMachine.SettleOrder] = []
    private(set) var tokenFetches = 0

    private let start = ContinuousClock.now
    private var built: [(RequestBody, [ClaimedEvent])] = []

    static func events(_ count: Int) -> [ClaimedEvent] {
        (0..<count).map { ClaimedEvent(rowID: Int64($0 + 1), eventID: "e\($0)", body: Array(#"{"n":\#($0)}"#.utf8), attempts: 0) }
    }

    static func key(_ events: [ClaimedEvent]) -> String { IdempotencyKey.make(outboxID: outboxID, meter: meter, events: events) }

    var effects: [DeliveryMachine.Effect] { actions.flatMap(\.effects) }
    var nexts: [DeliveryMachine.Next] { actions.map(\.next) }
    var logs: [LogLine] {
        effects.compactMap {
            if case .log(let line) = $0 { return line }
            return nil
        }
    }

    /// Runs a claim of `events` through a machine until it is finished.
    mutating func run(_ events: [ClaimedEvent]) {
        let claim = Claim(
            token: ClaimToken(value: "t"), meter: Self.meter, events: events, leaseMilliseconds: Self.leaseMilliseconds,
            mayHaveBeenSent: mayHaveBeenSent)
        let settings = DeliveryMachine.Settings(
            outboxID: Self.outboxID, idempotencyKeys: idempotencyKeys, trackIDPrefix: "tr", backoffBaseSeconds: 1, logLevel: logLevel)
        var machine = DeliveryMachine(
            claim: claim, fence: ClaimFence(claim: claim, claimedAt: start, requestTimeout: .seconds(10)), settings: settings)
        var action = machine.start()
        for _ in 0..<10_000 {
            actions.append(action)
            guard let event = respond(to: action.next) else {
                precondition(machine.isFinished)
                return
            }
            action = machine.receive(event)
        }
        preconditionFailure("the machine never finished")
    }

    private mutating func respond(to next: DeliveryMachine.Next) -> DeliveryMachine.Event? {
        switch next {
        case .finished:
            return nil
        case .fetchToken, .fetchFreshToken:
            tokenFetches += 1
            if !tokenFailures.isEmpty, let failure = tokenFailures.removeFirst() { return .tokenFailed(failure) }
            return .tokenObtained(TokenProvider.Token(value: Secret("token\(tokenFetches)"), refreshAt: nil))
        case .lookAtSpentBudget:
            return .spentBudget(freesIn: spentBudget.isEmpty ? nil : spentBudget.removeFirst())
        case .waitUntilRequestCouldGo:
            return .requestCouldGo(gateWaits.isEmpty ? .openAtOnce : gateWaits.removeFirst(), now: start)
        case .renewLease(let rowIDs):
            return .leaseRenewed(held: renew(rowIDs), issuedAt: start)
        case .admitRequest:
            return .admission(admissions.isEmpty ? .admitted(holder: "slot") : admissions.removeFirst(), now: start + admissionTakes)
        case .sleep:
            return .slept
        case .lookAtGate:
            return .gateChecked(closed: gateClosed.isEmpty ? false : gateClosed.removeFirst())
        case .buildBody(let events):
            if bodyFails { return .bodyFailed("no room") }
            let body = try! RequestBody.make(events, gzip: false)
            built.append((body, events))
            return .bodyBuilt(body)
        case .send(let send):
            let events = built.last { $0.0 == send.body }!.1
            let ids = events.map(\.eventID)
            let reply = answers.reply(to: ids, index: sent.count)
            sent.append(ids)
            sends.append(send)
            return .answered(reply.outcome, sentAt: start, answeredAt: start + .milliseconds(40))
        case .holdGate(let hint):
            // The gate's own backoff, were no hint given: 2.5 s, streak 1.
            return .gateHeld(waitSeconds: hint ?? 2.5, streak: hint == nil ? 1 : 0)
        case .settle(let order):
            settled.append(order)
            let count = order.events.count
            return switch order.verdict {
            case .batch(.accepted): .settled(SettlementResult(sent: count))
            case .batch(.rejected): .settled(SettlementResult(dead: count))
            default: .settled(SettlementResult(retried: count))
            }
        }
    }
}
