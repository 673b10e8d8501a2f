import Logging
import OutboxCore

/// Delivery of one claimed batch, as a state machine without I/O: every
/// rule of what to send, when, under which key, and what each answer means
/// for the events lives here; `BatchDelivery` (the shell) only does what an
/// `Action` says and reports back an `Event`. No clock and no randomness:
/// the shell passes times in and draws the random parts (a fresh key seed,
/// a backoff's jitter).
///
/// A rejected batch is bisected until the rejected events stand alone, so
/// one bad event never holds the good ones back. Every request is fenced:
/// it leaves only while the claim's token still holds its rows
/// (`ClaimFence`), and every settlement and release is conditional on the
/// token, so a worker that waited past its lease never sends or records
/// anything for rows another dispatcher took over.
struct DeliveryMachine {
    /// What stays the same for the whole claim.
    struct Settings: Equatable {
        /// The store's own id, the root of every idempotency key.
        let outboxID: String
        /// Whether requests carry an `Idempotency-Key`.
        let idempotencyKeys: Bool
        let trackIDPrefix: String
        /// How long to wait after a 409 that gave no hint.
        let backoffBaseSeconds: Double
        /// The logger's level: a request line that is not logged is not built.
        let logLevel: Logger.Level
    }

    let settings: Settings
    let meter: String
    var fence: ClaimFence
    /// Work left, last on top.
    private var jobs: [DeliveryJob]
    /// What the last finished job came to (for a second half).
    private var lastResult = BatchResult.other
    var phase = Phase.idle

    init(claim: Claim, fence: ClaimFence, settings: Settings) {
        self.settings = settings
        meter = claim.meter
        self.fence = fence
        // In the order the store handed them out (the log's), which a
        // re-send of the same events repeats: the same key, the same bytes.
        jobs = [.deliver(claim.events, knownToHoldRejects: false)]
    }

    var isFinished: Bool {
        if case .finished = phase { return true }
        return false
    }

    mutating func start() -> Action {
        precondition(phase == .idle, "a delivery starts once")
        return nextJob()
    }

    /// The outcome of the last `Next`, and what to do now.
    mutating func receive(_ event: Event) -> Action {
        switch (phase, event) {
        case (.fetchingToken(let events), .tokenObtained(let token)):
            return beginReadiness(events, for: .firstSend(token))
        case (.fetchingToken(let events), .tokenFailed(let error)):
            // No request left, but the events may have been sent before (a
            // claim taken over after a kill): they stay together, so their
            // re-send derives that request's key.
            return tokenFailed(error, events, keys: .keep(key(for: events)))
        case (.refreshingToken(var attempt), .tokenObtained(let token)):
            attempt.token = token
            return beginReadiness(attempt.events, for: .resend(attempt))
        case (.refreshingToken(let attempt), .tokenFailed(let error)):
            // Zuora answered this key (401), and may keep that answer.
            return tokenFailed(error, attempt.events, keys: .fresh)
        case (.readying(let readiness), _):
            return continueReadiness(readiness, event)
        case (.buildingBody(let attempt), .bodyBuilt(let body)):
            return send(attempt, body: body)
        case (.buildingBody(let attempt), .bodyFailed(let error)):
            return bodyFailed(attempt, error)
        case (.awaitingAnswer(let attempt), .answered(let outcome, let sentAt, let answeredAt)):
            return answered(attempt, outcome, sentAt: sentAt, answeredAt: answeredAt)
        case (.holdingGate(let hold), .gateHeld(let wait, let streak)):
            return gateHeld(hold, waitSeconds: wait, streak: streak)
        case (.settling(let settling), .settled(let result)):
            return settled(settling, result)
        default:
            preconditionFailure("delivery: \(event) does not answer \(phase)")
        }
    }

    // MARK: Jobs

    /// Starts the next job on the stack, after `effects`.
    mutating func nextJob(after effects: [Effect] = []) -> Action {
        while let job = jobs.popLast() {
            switch job {
            case .conclude(let result):
                lastResult = result
            case .deliver(let events, let known):
                return beginDelivery(events, knownToHoldRejects: known, after: effects)
            case .secondHalf(let events):
                return beginDelivery(events, knownToHoldRejects: lastResult == .accepted, after: effects)
            }
        }
        phase = .finished
        return Action(effects: effects, next: .finished)
    }

    /// The current job came to `result`.
    mutating func endJob(_ result: BatchResult, after effects: [Effect] = []) -> Action {
        lastResult = result
        return nextJob(after: effects)
    }

    private mutating func beginDelivery(_ events: [ClaimedEvent], knownToHoldRejects: Bool, after effects: [Effect]) -> Action {
        if events.count > 1 && knownToHoldRejects {
            return bisect(events, after: effects)
        }
        // The token first: fetching one can take as long as a request, and
        // the fence must be fresh when the request leaves.
        phase = .fetchingToken(events)
        return Action(effects: effects, next: .fetchToken)
    }

    /// Splits a rejected batch and sends the halves. If the first half is
    /// accepted, the second must hold the rejected events, so it is split
    /// straight away: k bad events among n cost about k·log2(n) requests.
    mutating func bisect(_ events: [ClaimedEvent], after effects: [Effect]) -> Action {
        let (first, second) = BatchSplit.halves(events)
        jobs += [.conclude(.rejected), .secondHalf(second), .deliver(first, knownToHoldRejects: false)]
        return nextJob(after: effects)
    }

    /// A 413: both halves are sent, neither known to hold anything.
    mutating func splitForSize(_ events: [ClaimedEvent], after effects: [Effect]) -> Action {
        let (first, second) = BatchSplit.halves(events)
        jobs += [.conclude(.other), .deliver(second, knownToHoldRejects: false), .deliver(first, knownToHoldRejects: false)]
        return nextJob(after: effects)
    }

    func key(for events: [ClaimedEvent]) -> String {
        IdempotencyKey.make(outboxID: settings.outboxID, meter: meter, events: events)
    }
}
