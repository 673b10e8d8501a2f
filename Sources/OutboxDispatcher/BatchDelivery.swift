import Foundation
import Logging
import OutboxCore

/// Delivers one claimed batch and settles every event in it, following
/// `ResponseClassifier`'s decision and `Settlement.plan`. A rejected batch is
/// bisected until the rejected events stand alone, so one bad event never
/// holds the good ones back.
///
/// Every request is fenced: it leaves only while the claim's token still
/// holds its rows (`ClaimFence`), and every settlement and release is
/// conditional on the token, so a worker that waited past its lease never
/// sends or records anything for rows another dispatcher took over.
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

    /// What a (sub-)batch came to; bisection uses it to skip a request whose
    /// answer is already known.
    enum Result {
        case accepted
        case rejected
        case other
    }

    private var logger: Logger { configuration.logger }

    func deliver(_ claim: Claim, claimedAt: ContinuousClock.Instant) async {
        var fence = ClaimFence(claim: claim, claimedAt: claimedAt, requestTimeout: configuration.requestTimeout)
        // In the order the store handed them out (the log's), which a
        // re-send of the same events repeats: the same key, the same bytes.
        _ = await deliver(&fence, claim.events, knownToHoldRejects: false)
    }

    /// Sends `events` (all or part of the claim). `knownToHoldRejects`: a
    /// sibling half was accepted, so this half must hold what Zuora
    /// rejected; a batch of more than one is then split without sending it.
    private func deliver(_ fence: inout ClaimFence, _ events: [ClaimedEvent], knownToHoldRejects: Bool) async -> Result {
        if events.count > 1 && knownToHoldRejects {
            return await bisect(&fence, events)
        }
        // The token first: fetching one can take as long as a request, and
        // the fence below must be fresh when the request leaves.
        var token: TokenProvider.Token
        do {
            token = try await client.token()
        } catch {
            // No request left, but the events may have been sent before (a
            // claim taken over after a kill): they stay together, so their
            // re-send derives that request's key.
            await tokenFailed(error, &fence, events, keys: .unanswered(key: IdempotencyKey.make(outboxID: outboxID, meter: fence.meter, events: events)))
            return .other
        }
        guard let (events, slot) = await readyToSend(&fence, events) else { return .other }
        let meter = fence.meter
        let key = IdempotencyKey.make(outboxID: outboxID, meter: meter, events: events)
        let sentKey = configuration.idempotencyKeys ? key : nil
        let trackID = TrackID.forBatch(prefix: configuration.trackIDPrefix, firstEventID: events[0].eventID, count: events.count)
        let body: RequestBody
        do {
            body = try RequestBody.make(events, gzip: configuration.gzip)
        } catch {
            await budget.finish(slot)
            logger.error("cannot build the request body", metadata: ["meter": "\(meter)", "error": "\(error)"])
            // Possibly sent before (a claim taken over): keep them together.
            await settle(
                .failed(reason: "cannot build the request body: \(error)"), events, fence, record: .init(trackID: trackID),
                keys: .unanswered(key: IdempotencyKey.make(outboxID: outboxID, meter: meter, events: events)))
            return .other
        }
        let started = ContinuousClock.now
        var outcome = await client.post(meter: meter, body: body, trackID: trackID, idempotencyKey: sentKey, token: token)
        await budget.finish(slot)
        // From here on the events count this request among their tries.
        var carried = events.map { $0.carried() }
        var requests = 1
        if case .answered(let answer) = outcome, answer.status == 401 {
            logger.warning("Zuora answered 401; fetching a new token and resending once", metadata: ["meter": "\(meter)", "track_id": "\(trackID)"])
            counters.addRequests(1)
            metrics.recordRequest(status: 401, events: carried.count, duration: started.duration(to: .now))
            do {
                token = try await client.tokenRejected(token)
            } catch {
                // Zuora answered this key (401), and may keep that answer.
                await tokenFailed(error, &fence, carried, keys: .answeredWithFreshSeed())
                return .other
            }
            // The resend is a request like any other: the fence must hold
            // every row of the body already built, or nothing goes.
            guard let (again, resendSlot) = await readyToSend(&fence, carried) else { return .other }
            if again.count < carried.count {
                await budget.finish(resendSlot)
                await release(fence, again)
                return .other
            }
            // The same key: a request Zuora did not authenticate was not
            // worked on, so nothing can be saved under its key (a process
            // that takes over after a kill here sends this key too). Were
            // the 401 replayed all the same, it is handled as a second 401:
            // a new key next time.
            outcome = await client.post(meter: meter, body: body, trackID: trackID, idempotencyKey: sentKey, token: token)
            await budget.finish(resendSlot)
            carried = carried.map { $0.carried() }
            requests = 1
        }
        counters.addRequests(requests)
        let elapsed = started.duration(to: .now)
        switch outcome {
        case .transportFailed(let reason):
            metrics.recordRequest(status: nil, events: carried.count, duration: elapsed)
            logRequest(
                meter: meter, trackID: trackID, key: sentKey, count: carried.count, bytes: body.jsonBytes, status: nil, requestID: nil, elapsed: elapsed,
                note: reason)
            counters.addTransient(carried.count)
            // No answer: Zuora may have the events. They go again together,
            // under this key, so Zuora answers the re-send from its memory.
            await settle(.failed(reason: reason), carried, fence, record: .init(trackID: trackID), keys: .unanswered(key: key))
            return .other
        case .answered(let answer):
            metrics.recordRequest(status: answer.status, events: carried.count, duration: elapsed)
            logRequest(
                meter: meter, trackID: trackID, key: sentKey, count: carried.count, bytes: body.jsonBytes, status: answer.status,
                requestID: answer.requestID, elapsed: elapsed, note: nil)
            return await handle(answer, &fence, carried, trackID: trackID, key: key)
        }
    }

    /// What must hold right before a request leaves: the worker is not
    /// stopping, the claim's token still holds the rows (proven recently
    /// enough), the shared budgets admit one more request, and the
    /// rate-limit gate is open. Returns the rows to send (those still held)
    /// and the concurrency slot to give back once answered; or nil when
    /// nothing may go: stopping, a budget spent for longer than half the
    /// lease (the rows are released, due at once), or the claim lost (the
    /// rows are another dispatcher's now).
    private func readyToSend(_ fence: inout ClaimFence, _ events: [ClaimedEvent]) async -> (events: [ClaimedEvent], slot: String?)? {
        var events = events
        while true {
            if let frees = budget.nextFree(at: pacing.now), pacing.now.duration(to: frees) > .milliseconds(fence.leaseMilliseconds / 2) {
                // A spent budget is waited out holding no claim: the worker
                // waits for it before it claims again.
                logger.info("holding no claim through a spent budget", metadata: ["meter": "\(fence.meter)"])
                await release(fence, events)
                return nil
            }
            switch await pacing.untilRequestCouldGo(gate, budget) {
            case .stopping:
                await release(fence, events)
                return nil
            case .openAfterWaiting:
                fence.waited()
            case .openAtOnce:
                break
            }
            // Proven before the request is admitted, so a lost claim costs
            // no budget.
            guard let held = await proven(&fence, events) else { return nil }
            events = held
            let slot: String?
            switch await budget.admit() {
            case .admitted(let admitted):
                slot = admitted
            case .unknown:
                return nil  // send nothing; the lease lapses and the rows come back
            case .wait(let wait, let name):
                if wait > .milliseconds(fence.leaseMilliseconds / 2) {
                    logger.info("holding no claim through a spent budget", metadata: ["meter": "\(fence.meter)", "budget": "\(name)"])
                    await release(fence, events)
                    return nil
                }
                await pacing.sleep(until: pacing.now + wait)
                fence.waited()
                continue
            }
            // A slow admission may have outlived the proof: prove again (a
            // claim lost now has cost one count in the windows, erring low).
            guard let stillHeld = await proven(&fence, events) else {
                await budget.finish(slot)
                return nil
            }
            events = stillHeld
            // Last, in memory: a 429 that closed the gate meanwhile binds
            // this request too.
            if gate.closedUntil(now: pacing.now) != nil {
                await budget.finish(slot)
                continue
            }
            fence.sending()
            return (events, slot)
        }
    }

    /// The rows the claim still holds, renewing its lease if the last proof
    /// is too old to cover a request; nil when none is held any more, or the
    /// store could not be asked (then the lease lapses and the rows come back).
    private func proven(_ fence: inout ClaimFence, _ events: [ClaimedEvent]) async -> [ClaimedEvent]? {
        guard fence.needsRenewal(now: pacing.now) else { return events }
        let (token, lease) = (fence.token, fence.leaseMilliseconds)
        let renewal = await fence.renew(events, now: { pacing.now }) { ids in
            await storeCall { try await store.renewLease(ids, token: token, leaseMilliseconds: lease) }
        }
        switch renewal {
        case .unknown:
            return nil
        case .lost(let dropped):
            dropLost(dropped, kept: 0, fence)
            return nil
        case .held(let kept, let dropped):
            if dropped > 0 { dropLost(dropped, kept: kept.count, fence) }
            return kept
        }
    }

    private func dropLost(_ dropped: Int, kept: Int, _ fence: ClaimFence) {
        counters.addDropped(dropped)
        logger.warning(
            "lease lost on claimed events: another dispatcher took them over; dropped unsent",
            metadata: ["meter": "\(fence.meter)", "lost": .stringConvertible(dropped), "kept": .stringConvertible(kept)])
    }

    private func handle(_ answer: ZuoraAnswer, _ fence: inout ClaimFence, _ events: [ClaimedEvent], trackID: String, key: String) async -> Result {
        let meter = fence.meter
        let decision = ResponseClassifier.classify(
            status: answer.status, success: answer.success, retryAfterSeconds: answer.retryAfterSeconds,
            category: ZuoraErrorCategory.verdict(body: answer.body), keyed: configuration.idempotencyKeys)
        // Zuora keeps the first answer to a key: after this one, the events'
        // next request needs a new key. A gateway's timeout (408, 502, 504)
        // is not Zuora's answer: Zuora may still be working on the request,
        // so the re-send keeps its key, whatever the body says.
        let answered: RequestKeyChange = [408, 502, 504].contains(answer.status) ? .unanswered(key: key) : .answeredWithFreshSeed()
        if (200..<300).contains(answer.status) {
            // A 2xx that says "limit" or "retry later" is no success: the
            // host-wide backoff must keep growing through a run of them.
            switch decision {
            case .rateLimited, .retryLater: break
            default: gate.succeeded()
            }
            if let reset = answer.quotaExhaustedForSeconds {
                // The tenant's quota is spent: wait for it rather than earn a 429.
                gate.pause(seconds: reset, now: pacing.now)
                logger.info(
                    "Zuora's rate limit is used up (RateLimit-Remaining: 0); pausing requests",
                    metadata: ["meter": "\(meter)", "reset_s": .stringConvertible(reset)])
            }
        }
        let record = Settlement.Record(status: answer.status, responseBody: answer.bodyText, trackID: trackID, requestID: answer.requestID)
        switch decision {
        case .accepted:
            meterBackoff.reset(meter)
            await settle(.accepted, events, fence, record: .init(status: answer.status, trackID: trackID), keys: answered)
            return .accepted
        case .rejected where events.count == 1, .tooLarge where events.count == 1:
            let reason =
                answer.status == 413
                ? "HTTP 413: the event alone (\(events[0].body.count) bytes) is larger than Zuora accepts"
                : RejectionReason.describe(status: answer.status, body: answer.body)
            await settle(.rejected(reason: reason), events, fence, record: record, keys: answered)
            logger.warning(
                "event dead-lettered",
                metadata: ["meter": "\(meter)", "event_id": "\(events[0].eventID)", "status": .stringConvertible(answer.status), "reason": "\(reason)"])
            return .rejected
        case .rejected:
            return await bisect(&fence, events)
        case .tooLarge:
            let (first, second) = BatchSplit.halves(events)
            _ = await deliver(&fence, first, knownToHoldRejects: false)
            _ = await deliver(&fence, second, knownToHoldRejects: false)
            return .other
        case .unauthorized, .configurationProblem:
            let reason = RejectionReason.configurationHint(status: answer.status, meter: meter)
            logger.error("\(reason)", metadata: ["meter": "\(meter)", "track_id": "\(trackID)", "zuora_request_id": "\(answer.requestID ?? "-")"])
            await deferForMeter(reason, events, fence, record: record, keys: answered)
            return .other
        case .rateLimited(let seconds):
            let wait = gate.hold(hintSeconds: seconds, now: pacing.now)
            metrics.rateLimitWaits.increment()
            logger.notice(
                "rate limited; holding all requests",
                metadata: [
                    "meter": "\(meter)", "status": .stringConvertible(answer.status), "wait_s": .stringConvertible(wait),
                    "hinted": .stringConvertible(seconds != nil), "streak": .stringConvertible(gate.streak),
                ])
            let reason = "rate limited (HTTP \(answer.status)); waiting \(Int(wait.rounded(.up)))s"
            await settle(.deferred(reason: reason, delayMilliseconds: Settlement.milliseconds(wait)), events, fence, record: record, keys: answered)
            return .other
        case .retryLater:
            // Not the events' fault (a lock, a temporary error): the meter
            // backs off, no attempt is spent, nothing is split or dead.
            counters.addTransient(events.count)
            let reason = RejectionReason.describe(status: answer.status, body: answer.body)
            logger.notice(
                "Zuora asked to retry later; backing off this meter", metadata: ["meter": "\(meter)", "track_id": "\(trackID)", "reason": "\(reason)"])
            await deferForMeter(reason, events, fence, record: record, keys: answered)
            return .other
        case .keyInProgress(let seconds):
            // The key's first request (ours, before a kill or a takeover) is
            // still being worked on: ask again later under the same key, so
            // the answer to that request is the one these events get.
            let wait = seconds ?? configuration.backoff.baseSeconds
            logger.notice(
                "Zuora is still working on this key's first request (HTTP 409); asking again under the same key",
                metadata: ["meter": "\(meter)", "track_id": "\(trackID)", "idempotency_key": "\(key)", "wait_s": .stringConvertible(wait)])
            let reason = "HTTP 409: the idempotency key's first request is still in progress; waiting \(Int(wait.rounded(.up)))s"
            await settle(
                .deferred(reason: reason, delayMilliseconds: Settlement.milliseconds(wait)), events, fence, record: record, keys: .unanswered(key: key))
            return .other
        case .keyReusedWithAnotherBody:
            // A fault of ours: the key was sent before with another body.
            // Nothing was billed for this request; a new key goes next time.
            counters.addTransient(events.count)
            let reason = RejectionReason.describe(status: answer.status, body: answer.body)
            logger.error(
                "Zuora says this idempotency key came before with another body (HTTP 422); retrying under a new key",
                metadata: ["meter": "\(meter)", "track_id": "\(trackID)", "idempotency_key": "\(key)", "reason": "\(reason)"])
            await settle(
                .failed(reason: "HTTP 422: idempotency key reused with another body; retried under a new key"), events, fence, record: record,
                keys: answered)
            return .other
        case .transient:
            counters.addTransient(events.count)
            let reason: String
            let keys: RequestKeyChange
            if case .unreadable(let why) = answer.success, (200..<300).contains(answer.status) {
                reason = "HTTP \(answer.status) whose body could not be read (\(why)); not counted as accepted"
                logger.warning(
                    "a 2xx answer could not be read to its end; the batch will be retried",
                    metadata: ["meter": "\(meter)", "track_id": "\(trackID)", "why": "\(why)"])
                // Zuora may well have accepted the events: the re-send keeps
                // the key, and Zuora replays the answer that was cut off.
                keys = .unanswered(key: key)
            } else {
                reason = RejectionReason.describe(status: answer.status, body: answer.body)
                keys = answered
            }
            await settle(.failed(reason: reason), events, fence, record: record, keys: keys)
            return .other
        }
    }

    /// Splits a rejected batch and sends the halves. If the first half is
    /// accepted, the second must hold the rejected events, so it is split
    /// straight away: k bad events among n cost about k·log2(n) requests.
    private func bisect(_ fence: inout ClaimFence, _ events: [ClaimedEvent]) async -> Result {
        let (first, second) = BatchSplit.halves(events)
        let firstResult = await deliver(&fence, first, knownToHoldRejects: false)
        _ = await deliver(&fence, second, knownToHoldRejects: firstResult == .accepted)
        return .rejected
    }

    /// `keys`: unchanged when no request left; answered after a 401.
    private func tokenFailed(_ error: TokenError, _ fence: inout ClaimFence, _ events: [ClaimedEvent], keys: RequestKeyChange) async {
        switch error {
        case .rejected(let message, let hint):
            logger.error("\(message)", metadata: ["meter": "\(fence.meter)", "hint": "\(hint ?? "")"])
            await deferForMeter(message, events, fence, record: .init(status: 401), keys: keys)
        case .unavailable(let message, let retryAfter):
            // Not the events' fault: every request to the host waits (Zuora's
            // hint, else the host-wide backoff), and no attempt is spent.
            let wait = gate.hold(hintSeconds: retryAfter, now: pacing.now)
            logger.warning("cannot get a token: \(message); holding all requests", metadata: ["meter": "\(fence.meter)", "wait_s": .stringConvertible(wait)])
            counters.addTransient(events.count)
            let reason = "token: \(message); waiting \(Int(wait.rounded(.up)))s"
            await settle(.deferred(reason: reason, delayMilliseconds: Settlement.milliseconds(wait)), events, fence, record: .init(), keys: keys)
        }
    }

    /// A configuration problem, or a "retry later", is not the events'
    /// fault: back off per meter, spend no attempt, never dead-letter.
    private func deferForMeter(_ reason: String, _ events: [ClaimedEvent], _ fence: ClaimFence, record: Settlement.Record, keys: RequestKeyChange) async {
        let delay = configuration.backoff.delay(attempt: meterBackoff.increment(fence.meter))
        await settle(.deferred(reason: reason, delayMilliseconds: Settlement.milliseconds(delay)), events, fence, record: record, keys: keys)
    }

    /// Plans what `verdict` means for each event and applies it, fenced by
    /// the claim's token.
    private func settle(
        _ verdict: BatchVerdict, _ events: [ClaimedEvent], _ fence: ClaimFence, record: Settlement.Record, keys: RequestKeyChange
    ) async {
        var random = SystemRandomNumberGenerator()
        let plan = Settlement.plan(
            verdict, events: events, meter: fence.meter, policy: configuration.retryPolicy, record: record, keys: keys, random: &random)
        guard let result = await storeCall({ try await store.settle(plan, token: fence.token) }) else { return }
        counters.addSent(result.sent)
        counters.addDead(result.dead)
        metrics.sent.increment(by: result.sent)
        metrics.dead.increment(by: result.dead)
        metrics.failed.increment(by: result.retried)
        if result.lost > 0 {
            logger.warning(
                "another dispatcher took over events before their answer was recorded; its record stands",
                metadata: ["meter": "\(fence.meter)", "lost": .stringConvertible(result.lost)])
        }
        if case .failed(let reason) = verdict, result.dead > 0 {
            logger.warning(
                "events dead-lettered: their retry attempts ran out",
                metadata: ["meter": "\(fence.meter)", "count": .stringConvertible(result.dead), "reason": "\(reason)"])
        }
    }

    /// Gives unsent events back, due at once. Events that may have been
    /// sent before without an answer (a claim taken over after a kill) are
    /// kept together as retry rows instead, so their re-send derives that
    /// request's key; a plain release would let them mix with others.
    private func release(_ fence: ClaimFence, _ events: [ClaimedEvent]) async {
        if fence.mayHaveBeenSent {
            let key = IdempotencyKey.make(outboxID: outboxID, meter: fence.meter, events: events)
            await settle(
                .deferred(reason: "given back unsent; due again at once", delayMilliseconds: 0), events, fence, record: .init(), keys: .unanswered(key: key))
            return
        }
        let ids = events.map(\.rowID)
        _ = await storeCall { try await store.release(ids, meter: fence.meter, token: fence.token) }
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

    private func logRequest(
        meter: String, trackID: String, key: String?, count: Int, bytes: Int, status: Int?, requestID: String?, elapsed: Duration, note: String?
    ) {
        // One line per request only at debug level: at info, the drain logs
        // a summary every --log-summary-every. A 400 or 413 during
        // bisection is routine (the dead letter it leads to is logged as a
        // warning); rate limits are expected under load.
        let level: Logger.Level =
            switch status {
            case .some(200..<300), .some(400), .some(413): .debug
            case .some(429), .some(503): .notice
            default: .warning
            }
        // Most requests are not logged at all: build nothing for them.
        guard logger.logLevel <= level else { return }
        var metadata: Logger.Metadata = [
            "meter": "\(meter)", "track_id": "\(trackID)", "events": .stringConvertible(count), "bytes": .stringConvertible(bytes),
            "zuora_request_id": "\(requestID ?? "-")", "duration_ms": .stringConvertible(elapsed.milliseconds),
        ]
        // A number when Zuora answered; absent when nothing came back.
        if let status { metadata["status"] = .stringConvertible(status) }
        if let note { metadata["error"] = "\(note)" }
        if let key { metadata["idempotency_key"] = "\(key)" }
        logger.log(level: level, "usage request", metadata: metadata)
    }
}
