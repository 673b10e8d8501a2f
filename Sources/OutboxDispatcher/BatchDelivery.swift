import Foundation
import Logging
import OutboxCore

/// Delivers one claimed batch and settles every event in it. Every rule
/// (bisection, the resend after a 401, splitting after a 413, the claim's
/// fence, the idempotency key, what each answer means) is
/// `DeliveryMachine`'s; this is its shell, which holds no decision: it does
/// what each `DeliveryMachine.Action` says with the store, the Zuora client,
/// the gate, the budget, the metrics and the logger, and reports what came
/// of it back to the machine, until the machine is finished.
struct BatchDelivery: Sendable {
    let store: any DispatchStore
    let client: ZuoraClient
    let configuration: DispatcherConfiguration
    let gate: RateLimitGate
    let counters: DrainCounters
    let pacing: WorkerPacing
    /// The request budgets every dispatcher of the outbox shares.
    let budget: SharedRequestBudget
    /// Per-meter backoff for answers that are not the events' fault
    /// (403, 404, a refused credential, "retry later"); reset by a 2xx.
    let meterBackoff = MeterStreaks()
    let metrics: DispatcherMetrics
    /// The store's own id, the root of every idempotency key.
    let outboxID: String

    private var logger: Logger { configuration.logger }

    func deliver(_ claim: Claim, claimedAt: ContinuousClock.Instant) async {
        let settings = DeliveryMachine.Settings(
            outboxID: outboxID, idempotencyKeys: configuration.idempotencyKeys, trackIDPrefix: configuration.trackIDPrefix,
            backoffBaseSeconds: configuration.backoff.base.seconds, logLevel: logger.logLevel)
        let fence = ClaimFence(claim: claim, claimedAt: claimedAt, requestTimeout: configuration.requestTimeout)
        var machine = DeliveryMachine(claim: claim, fence: fence, settings: settings)
        var action = machine.start()
        while true {
            for effect in action.effects { await perform(effect, claim) }
            guard let event = await execute(action.next, claim) else { return }
            action = machine.receive(event)
        }
    }

    private func perform(_ effect: DeliveryMachine.Effect, _ claim: Claim) async {
        switch effect {
        case .log(let line):
            logger.log(level: line.level, "\(line.message)", metadata: line.metadata)
        case .count(.requests(let count)):
            counters.addRequests(count)
        case .count(.transient(let count)):
            counters.addTransient(count)
        case .count(.dropped(let count)):
            counters.addDropped(count)
        case .recordRequest(let status, let events, let duration):
            metrics.recordRequest(status: status, events: events, duration: duration)
        case .countRateLimitWait:
            metrics.rateLimitWaits.increment()
        case .tally(let result):
            counters.addSent(result.sent)
            counters.addDead(result.dead)
            metrics.sent.increment(by: result.sent)
            metrics.dead.increment(by: result.dead)
            metrics.failed.increment(by: result.retried)
        case .gateSucceeded:
            gate.succeeded()
        case .pauseGate(let seconds):
            gate.pause(seconds: seconds, now: pacing.now)
        case .resetMeterBackoff:
            meterBackoff.reset(claim.meter)
        case .finishSlot(let slot):
            await budget.finish(slot)
        case .release(let rowIDs):
            _ = await storeCall { try await store.release(rowIDs, meter: claim.meter, token: claim.token) }
        }
    }

    /// Does `next`; what came of it, or nil when the machine is finished.
    private func execute(_ next: DeliveryMachine.Next, _ claim: Claim) async -> DeliveryMachine.Event? {
        switch next {
        case .finished:
            return nil
        case .fetchToken:
            do {
                return .tokenObtained(try await client.token())
            } catch {
                return .tokenFailed(error)
            }
        case .fetchFreshToken(let rejected):
            do {
                return .tokenObtained(try await client.tokenRejected(rejected))
            } catch {
                return .tokenFailed(error)
            }
        case .lookAtSpentBudget:
            let now = pacing.now
            return .spentBudget(freesIn: budget.nextFree(at: now).map { now.duration(to: $0) })
        case .waitUntilRequestCouldGo:
            let wait = await pacing.untilRequestCouldGo(gate, budget)
            return .requestCouldGo(wait, now: pacing.now)
        case .renewLease(let rowIDs):
            // Read before the renewal is issued, so the proof errs early.
            let issued = pacing.now
            let held = await storeCall { try await store.renewLease(rowIDs, token: claim.token, leaseMilliseconds: claim.leaseMilliseconds) }
            return .leaseRenewed(held: held, issuedAt: issued)
        case .admitRequest:
            let outcome = await budget.admit()
            return .admission(outcome, now: pacing.now)
        case .sleep(let wait):
            await pacing.sleep(until: pacing.now + wait)
            return .slept
        case .lookAtGate:
            return .gateChecked(closed: gate.closedUntil(now: pacing.now) != nil)
        case .buildBody(let events):
            do {
                return .bodyBuilt(try RequestBody.make(events, gzip: configuration.gzip))
            } catch {
                return .bodyFailed("\(error)")
            }
        case .send(let send):
            let sentAt = ContinuousClock.now
            let outcome = await client.post(
                meter: claim.meter, body: send.body, trackID: send.trackID, idempotencyKey: send.idempotencyKey, token: send.token)
            await budget.finish(send.slot)
            return .answered(outcome, sentAt: sentAt, answeredAt: .now)
        case .holdGate(let hint):
            let wait = gate.hold(hintSeconds: hint, now: pacing.now)
            return .gateHeld(waitSeconds: wait, streak: gate.streak)
        case .settle(let order):
            return .settled(await settle(order, claim))
        }
    }

    /// Plans the order's verdict for each event and applies it, fenced by
    /// the claim's token. The random parts are drawn here: the meter's
    /// backoff, a fresh key seed, the retry's jitter.
    private func settle(_ order: DeliveryMachine.SettleOrder, _ claim: Claim) async -> SettlementResult? {
        let verdict: BatchVerdict
        switch order.verdict {
        case .batch(let batch):
            verdict = batch
        case .deferredByMeterBackoff(let reason):
            let delay = configuration.backoff.delay(attempt: meterBackoff.increment(claim.meter))
            verdict = .deferred(reason: reason, delayMilliseconds: Settlement.milliseconds(delay))
        }
        let keys: RequestKeyChange =
            switch order.keys {
            case .keep(let key): .unanswered(key: key)
            case .fresh: .answeredWithFreshSeed()
            }
        var random = SystemRandomNumberGenerator()
        let plan = Settlement.plan(
            verdict, events: order.events, meter: claim.meter, policy: configuration.retryPolicy, record: order.record, keys: keys, random: &random)
        return await storeCall { try await store.settle(plan, token: claim.token) }
    }

    /// Runs a store call; on failure logs it and returns nil. The events stay
    /// claimed, and their lease lapsing hands them to the next claim.
    private func storeCall<T>(_ body: () async throws -> T) async -> T? {
        do {
            return try await body()
        } catch {
            logger.error("cannot record a delivery outcome; the events will be retried when their lease expires", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
