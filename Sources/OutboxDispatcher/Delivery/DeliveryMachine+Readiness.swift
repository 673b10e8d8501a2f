import Logging
import OutboxCore

extension DeliveryMachine {
    /// What must hold right before a request leaves: the worker is not
    /// stopping, the claim's token still holds the rows (proven recently
    /// enough), the shared budgets admit one more request, and the
    /// rate-limit gate is open. Nothing goes when stopping, when a budget is
    /// spent for longer than half the lease (the rows are released, due at
    /// once), or when the claim is lost (the rows are another dispatcher's
    /// now). Only the rows still held are sent.
    struct Readiness: Equatable {
        var events: [ClaimedEvent]
        let purpose: Purpose
        var stage: Stage

        enum Purpose: Equatable {
            case firstSend(TokenProvider.Token)
            /// After a 401: the body is built, so every row of it must still be held.
            case resend(Attempt)
        }

        enum Stage: Equatable {
            case spentBudget
            case gateWait
            case proving(Proof)
            case admission
            case sleeping
            case gateCheck(slot: String?)
        }
    }

    /// A renewal under way, and what follows it.
    struct Proof: Equatable {
        let then: AfterProof
        /// The rows the current renewal asks for.
        var asked: [ClaimedEvent]
        var dropped = 0

        enum AfterProof: Equatable {
            /// Proven before the request is admitted, so a lost claim costs no budget.
            case admit
            /// Proven again after a slow admission, holding this slot.
            case checkGate(slot: String?)
        }
    }

    mutating func beginReadiness(_ events: [ClaimedEvent], for purpose: Readiness.Purpose, after effects: [Effect] = []) -> Action {
        phase = .readying(Readiness(events: events, purpose: purpose, stage: .spentBudget))
        return Action(effects: effects, next: .lookAtSpentBudget)
    }

    mutating func continueReadiness(_ readiness: Readiness, _ event: Event) -> Action {
        var readiness = readiness
        let halfLease = Duration.milliseconds(fence.leaseMilliseconds / 2)
        switch (readiness.stage, event) {
        case (.spentBudget, .spentBudget(let freesIn)):
            if let freesIn, freesIn > halfLease {
                // A spent budget is waited out holding no claim: the worker
                // waits for it before it claims again.
                return release(readiness.events, after: [.log(spentBudgetLine(budget: nil))])
            }
            readiness.stage = .gateWait
            phase = .readying(readiness)
            return Action(effects: [], next: .waitUntilRequestCouldGo)
        case (.gateWait, .requestCouldGo(let wait, let now)):
            switch wait {
            case .stopping: return release(readiness.events)
            case .openAfterWaiting: fence.waited()
            case .openAtOnce: break
            }
            return prove(readiness, now: now, then: .admit)
        case (.proving(let proof), .leaseRenewed(let held, let issuedAt)):
            return renewed(readiness, proof, held: held, issuedAt: issuedAt)
        case (.admission, .admission(let outcome, let now)):
            switch outcome {
            case .admitted(let slot):
                // A slow admission may have outlived the proof: prove again (a
                // claim lost now has cost one count in the windows, erring low).
                return prove(readiness, now: now, then: .checkGate(slot: slot))
            case .unknown:
                return endJob(.other)  // send nothing; the lease lapses and the rows come back
            case .wait(let wait, let name):
                if wait > halfLease {
                    return release(readiness.events, after: [.log(spentBudgetLine(budget: name))])
                }
                readiness.stage = .sleeping
                phase = .readying(readiness)
                return Action(effects: [], next: .sleep(wait))
            }
        case (.sleeping, .slept):
            fence.waited()
            return lookAgain(readiness)
        case (.gateCheck(let slot), .gateChecked(let closed)):
            // Last, in memory: a 429 that closed the gate meanwhile binds
            // this request too.
            if closed { return lookAgain(readiness, after: [.finishSlot(slot)]) }
            fence.sending()
            return ready(readiness.events, slot: slot, for: readiness.purpose)
        default:
            preconditionFailure("delivery: \(event) does not answer \(readiness.stage)")
        }
    }

    /// Back to the first check, as after any wait.
    private mutating func lookAgain(_ readiness: Readiness, after effects: [Effect] = []) -> Action {
        var readiness = readiness
        readiness.stage = .spentBudget
        phase = .readying(readiness)
        return Action(effects: effects, next: .lookAtSpentBudget)
    }

    /// Renews the lease if the last proof is too old to cover a request.
    private mutating func prove(_ readiness: Readiness, now: ContinuousClock.Instant, then: Proof.AfterProof) -> Action {
        guard fence.needsRenewal(now: now) else { return proven(readiness, then: then, after: []) }
        guard !readiness.events.isEmpty else { return notProven(then, after: dropLost(0, kept: 0)) }
        var readiness = readiness
        readiness.stage = .proving(Proof(then: then, asked: readiness.events))
        phase = .readying(readiness)
        return Action(effects: [], next: .renewLease(rowIDs: readiness.events.map(\.rowID)))
    }

    private mutating func renewed(_ readiness: Readiness, _ proof: Proof, held: Set<Int64>?, issuedAt: ContinuousClock.Instant) -> Action {
        // The store could not be asked: the lease lapses and the rows come back.
        guard let held else { return notProven(proof.then, after: []) }
        switch fence.renewalAnswered(asked: proof.asked, held: held, issuedAt: issuedAt, droppedBefore: proof.dropped) {
        case .renewAgain(let kept, let dropped):
            var (readiness, proof) = (readiness, proof)
            (proof.asked, proof.dropped) = (kept, dropped)
            readiness.stage = .proving(proof)
            phase = .readying(readiness)
            return Action(effects: [], next: .renewLease(rowIDs: kept.map(\.rowID)))
        case .lost(let dropped):
            return notProven(proof.then, after: dropLost(dropped, kept: 0))
        case .proven(let kept, let dropped):
            var readiness = readiness
            readiness.events = kept
            return proven(readiness, then: proof.then, after: dropped > 0 ? dropLost(dropped, kept: kept.count) : [])
        }
    }

    private mutating func proven(_ readiness: Readiness, then: Proof.AfterProof, after effects: [Effect]) -> Action {
        var readiness = readiness
        switch then {
        case .admit:
            readiness.stage = .admission
            phase = .readying(readiness)
            return Action(effects: effects, next: .admitRequest)
        case .checkGate(let slot):
            readiness.stage = .gateCheck(slot: slot)
            phase = .readying(readiness)
            return Action(effects: effects, next: .lookAtGate)
        }
    }

    /// Nothing goes: the claim is lost, or the store could not say.
    private mutating func notProven(_ then: Proof.AfterProof, after effects: [Effect]) -> Action {
        guard case .checkGate(let slot) = then else { return endJob(.other, after: effects) }
        return endJob(.other, after: effects + [.finishSlot(slot)])
    }

    private func dropLost(_ dropped: Int, kept: Int) -> [Effect] {
        [
            .count(.dropped(dropped)),
            .log(
                LogLine(
                    level: .warning, message: "lease lost on claimed events: another dispatcher took them over; dropped unsent",
                    metadata: ["meter": "\(meter)", "lost": .stringConvertible(dropped), "kept": .stringConvertible(kept)])),
        ]
    }

    private func spentBudgetLine(budget: String?) -> LogLine {
        var metadata: Logger.Metadata = ["meter": "\(meter)"]
        if let budget { metadata["budget"] = "\(budget)" }
        return LogLine(level: .info, message: "holding no claim through a spent budget", metadata: metadata)
    }

    /// The request may go, with these rows and this slot.
    private mutating func ready(_ events: [ClaimedEvent], slot: String?, for purpose: Readiness.Purpose) -> Action {
        switch purpose {
        case .firstSend(let token):
            let attempt = Attempt(
                events: events, token: token, key: key(for: events),
                trackID: TrackID.forBatch(prefix: settings.trackIDPrefix, firstEventID: events[0].eventID, count: events.count), slot: slot)
            phase = .buildingBody(attempt)
            return Action(effects: [], next: .buildBody(events))
        case .resend(var attempt):
            // The resend is a request like any other: the fence must hold
            // every row of the body already built, or nothing goes.
            if events.count < attempt.events.count {
                return release(events, after: [.finishSlot(slot)])
            }
            attempt.slot = slot
            attempt.resent = true
            return send(attempt, body: attempt.body!)
        }
    }

    /// Gives unsent events back, due at once. Events that may have been
    /// sent before without an answer (a claim taken over after a kill) are
    /// kept together as retry rows instead, so their re-send derives that
    /// request's key; a plain release would let them mix with others.
    mutating func release(_ events: [ClaimedEvent], after effects: [Effect] = []) -> Action {
        guard fence.mayHaveBeenSent else {
            return endJob(.other, after: effects + [.release(rowIDs: events.map(\.rowID))])
        }
        return settle(
            .batch(.deferred(reason: "given back unsent; due again at once", delayMilliseconds: 0)), events, record: .init(),
            keys: .keep(key(for: events)), result: .other, after: effects)
    }
}
