import Foundation
import Logging
import Synchronization
import UsageOutbox

/// Delivers one claimed batch and records the outcome of every event in it,
/// following `ResponseClassifier`'s decision. A rejected batch is bisected
/// until the rejected events stand alone, so one bad event never holds the
/// good ones back.
struct BatchDelivery: Sendable {
    let store: any DispatchStore
    let client: ZuoraClient
    let configuration: DispatcherConfiguration
    let gate: RateLimitGate
    let counters: DrainCounters
    let stop: StopFlag
    let configurationBackoff = MeterStreaks()
    let metrics: DispatcherMetrics

    /// What a (sub-)batch came to; bisection uses it to skip a request whose
    /// answer is already known.
    enum Result {
        case accepted
        case rejected
        case other
    }

    private var logger: Logger { configuration.logger }
    private var owner: String { configuration.owner }

    func deliver(_ batch: Batch) async {
        var batch = batch
        _ = await deliver(&batch, events: batch.events, knownToHoldRejects: false)
    }

    /// Sends `events` (part of `batch`). `knownToHoldRejects`: a sibling half
    /// was accepted, so this half must hold what Zuora rejected; a batch of
    /// more than one is then split without sending it.
    private func deliver(_ batch: inout Batch, events: [ClaimedEvent], knownToHoldRejects: Bool) async -> Result {
        if events.count > 1 && knownToHoldRejects {
            return await bisect(&batch, events)
        }
        if stop.isSet && events.count < batch.events.count {
            // Shutting down mid-bisection: hand the rest back untouched.
            await release(batch.meter, events)
            return .other
        }
        guard let held = await renewLeaseIfNeeded(&batch, events), !held.isEmpty else { return .other }
        let events = held
        let meter = batch.meter
        let trackID = TrackID.forBatch(prefix: configuration.trackIDPrefix, firstEventID: events[0].eventID, count: events.count)
        let body: RequestBody
        do {
            body = try RequestBody.make(events, gzip: configuration.gzip)
        } catch {
            logger.error("cannot build the request body", metadata: ["meter": "\(meter)", "error": "\(error)"])
            await retryLater(meter, events, failure: DeliveryFailure(status: nil, reason: "cannot build the request body: \(error)", trackID: trackID), spendAttempt: true)
            return .other
        }
        do {
            try await gate.waitUntilOpen()
        } catch {
            await release(meter, events)
            return .other
        }
        let started = ContinuousClock.now
        let (outcome, requests) = await client.send(meter: meter, body: body, trackID: trackID, logger: logger)
        counters.addRequests(requests)
        let elapsed = started.duration(to: .now)
        if case .answered(let answer) = outcome {
            metrics.recordRequest(status: answer.status, events: events.count, duration: elapsed)
        } else if requests > 0 {
            metrics.recordRequest(status: nil, events: events.count, duration: elapsed)
        }

        switch outcome {
        case .transportFailed(let reason):
            logRequest(meter: meter, trackID: trackID, count: events.count, bytes: body.jsonBytes, status: nil, requestID: nil, elapsed: elapsed, note: reason)
            counters.addTransient(events.count)
            await retryLater(meter, events, failure: DeliveryFailure(status: nil, reason: reason, trackID: trackID), spendAttempt: true)
            return .other
        case .tokenFailed(.rejected(let message, let hint)):
            logger.error("\(message)", metadata: ["meter": "\(meter)", "hint": "\(hint ?? "")"])
            await retryLater(meter, events, failure: DeliveryFailure(status: 401, reason: message, trackID: trackID), spendAttempt: false, configurationProblem: true)
            return .other
        case .tokenFailed(.unavailable(let message)):
            logger.warning("cannot get a token: \(message)", metadata: ["meter": "\(meter)"])
            counters.addTransient(events.count)
            await retryLater(meter, events, failure: DeliveryFailure(status: nil, reason: "token: \(message)", trackID: trackID), spendAttempt: true)
            return .other
        case .answered(let answer):
            logRequest(meter: meter, trackID: trackID, count: events.count, bytes: body.jsonBytes, status: answer.status,
                       requestID: answer.requestID, elapsed: elapsed, note: nil)
            return await handle(answer, &batch, events, trackID: trackID)
        }
    }

    private func handle(_ answer: ZuoraAnswer, _ batch: inout Batch, _ events: [ClaimedEvent], trackID: String) async -> Result {
        let meter = batch.meter
        let now = WallClock.nowMilliseconds()
        switch ResponseClassifier.classify(status: answer.status, body: answer.body, retryAfterSeconds: answer.retryAfterSeconds) {
        case .accepted:
            configurationBackoff.reset(meter)
            let marked = await storeCall { try await store.markSent(events.map(\.rowID), meter: meter, owner: owner, status: answer.status, trackID: trackID, now: now) }
            counters.addSent(marked ?? 0)
            metrics.sent.increment(by: marked ?? 0)
            return .accepted
        case .rejected where events.count == 1, .tooLarge where events.count == 1:
            let reason = answer.status == 413
                ? "HTTP 413: the event alone (\(events[0].body.count) bytes) is larger than Zuora accepts"
                : RejectionReason.describe(status: answer.status, body: answer.body)
            let failure = DeliveryFailure(status: answer.status, reason: reason, responseBody: answer.bodyText, trackID: trackID)
            let marked = await storeCall { try await store.markDead(events.map(\.rowID), meter: meter, owner: owner, failure: failure, now: now) }
            counters.addDead(marked ?? 0)
            metrics.dead.increment(by: marked ?? 0)
            logger.warning("event dead-lettered", metadata: ["meter": "\(meter)", "event_id": "\(events[0].eventID)", "status": "\(answer.status)", "reason": "\(reason)"])
            return .rejected
        case .rejected:
            return await bisect(&batch, events)
        case .tooLarge:
            let (first, second) = BatchSplit.halves(events)
            _ = await deliver(&batch, events: first, knownToHoldRejects: false)
            _ = await deliver(&batch, events: second, knownToHoldRejects: false)
            return .other
        case .unauthorized, .configurationProblem:
            let reason = RejectionReason.configurationHint(status: answer.status, meter: meter)
            logger.error("\(reason)", metadata: ["meter": "\(meter)", "track_id": "\(trackID)", "zuora_request_id": "\(answer.requestID ?? "-")"])
            await retryLater(meter, events, failure: DeliveryFailure(status: answer.status, reason: reason, responseBody: answer.bodyText, trackID: trackID),
                             spendAttempt: false, configurationProblem: true)
            return .other
        case .rateLimited(let seconds):
            let wait = seconds ?? configuration.backoff.delay(attempt: (events.map(\.attempts).max() ?? 0) + 1)
            gate.hold(until: .now + .milliseconds(Int64(wait * 1000)))
            metrics.rateLimitWaits.increment()
            logger.notice("rate limited; holding all requests", metadata: ["meter": "\(meter)", "status": "\(answer.status)", "wait_s": "\(wait)"])
            let failure = DeliveryFailure(status: answer.status, reason: "rate limited (HTTP \(answer.status)); waiting \(Int(wait.rounded(.up)))s", trackID: trackID)
            _ = await storeCall {
                try await store.markFailed(events.map(\.rowID), meter: meter, owner: owner, failure: failure, retryAt: now + Int64(wait * 1000),
                                           spendAttempt: false, maxAttempts: configuration.maxAttempts, now: now)
            }
            return .other
        case .transient:
            counters.addTransient(events.count)
            let failure = DeliveryFailure(status: answer.status, reason: RejectionReason.describe(status: answer.status, body: answer.body), trackID: trackID)
            await retryLater(meter, events, failure: failure, spendAttempt: true)
            return .other
        }
    }

    /// Splits a rejected batch and sends the halves. If the first half is
    /// accepted, the second must hold the rejected events, so it is split
    /// straight away: k bad events among n cost about k·log2(n) requests.
    private func bisect(_ batch: inout Batch, _ events: [ClaimedEvent]) async -> Result {
        let (first, second) = BatchSplit.halves(events)
        let firstResult = await deliver(&batch, events: first, knownToHoldRejects: false)
        _ = await deliver(&batch, events: second, knownToHoldRejects: firstResult == .accepted)
        return .rejected
    }

    /// Puts events back as failed, due after a backoff. Transient failures
    /// spend an attempt (and may dead-letter at --max-attempts);
    /// configuration problems back off per meter and never dead-letter.
    private func retryLater(_ meter: String, _ events: [ClaimedEvent], failure: DeliveryFailure, spendAttempt: Bool, configurationProblem: Bool = false) async {
        let attempt = configurationProblem
            ? configurationBackoff.increment(meter)
            : (events.map(\.attempts).max() ?? 0) + 1
        let delay = configuration.backoff.delay(attempt: attempt)
        let now = WallClock.nowMilliseconds()
        let result = await storeCall {
            try await store.markFailed(events.map(\.rowID), meter: meter, owner: owner, failure: failure, retryAt: now + Int64(delay * 1000),
                                       spendAttempt: spendAttempt, maxAttempts: configurationProblem ? 0 : configuration.maxAttempts, now: now)
        }
        if let result { metrics.failed.increment(by: result.failed) }
        if let result, result.dead > 0 {
            counters.addDead(result.dead)
            metrics.dead.increment(by: result.dead)
            logger.warning("events dead-lettered after --max-attempts", metadata: ["meter": "\(meter)", "count": "\(result.dead)", "reason": "\(failure.reason)"])
        }
    }

    private func release(_ meter: String, _ events: [ClaimedEvent]) async {
        _ = await storeCall { try await store.release(events.map(\.rowID), meter: meter, owner: owner, now: WallClock.nowMilliseconds()) }
    }

    /// Extends the lease once half of it is used up (a long bisection), and
    /// drops events another dispatcher has taken over meanwhile.
    private func renewLeaseIfNeeded(_ batch: inout Batch, _ events: [ClaimedEvent]) async -> [ClaimedEvent]? {
        let now = WallClock.nowMilliseconds()
        let leaseMillis = Int64(configuration.leaseSeconds * 1000)
        guard batch.leaseUntil - now < leaseMillis / 2 else { return events }
        let until = now + leaseMillis
        guard let held = await storeCall({ try await store.renewLease(events.map(\.rowID), owner: owner, until: until, now: now) }) else {
            return nil
        }
        batch.leaseUntil = until
        if held.count < events.count {
            logger.warning("lease lost on some events; another dispatcher took them over", metadata: ["meter": "\(batch.meter)", "lost": "\(events.count - held.count)"])
        }
        return events.filter { held.contains($0.rowID) }
    }

    /// Runs a store call; on failure logs it and returns nil. The events stay
    /// claimed, and their lease expiring hands them to the next claim.
    private func storeCall<T>(_ body: () async throws -> T) async -> T? {
        do {
            return try await body()
        } catch {
            logger.error("cannot record a delivery outcome; the events will be retried when their lease expires", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func logRequest(meter: String, trackID: String, count: Int, bytes: Int, status: Int?, requestID: String?, elapsed: Duration, note: String?) {
        var metadata: Logger.Metadata = [
            "meter": "\(meter)", "track_id": "\(trackID)", "events": "\(count)", "bytes": "\(bytes)",
            "status": "\(status.map(String.init) ?? "none")", "zuora_request_id": "\(requestID ?? "-")",
            "duration_ms": "\(elapsed.milliseconds)",
        ]
        if let note { metadata["error"] = "\(note)" }
        // A 400 or 413 during bisection is routine (the dead letter it leads
        // to is logged as a warning); rate limits are expected under load.
        let level: Logger.Level = switch status {
        case .some(200..<300), .some(400), .some(413): .info
        case .some(429), .some(503): .notice
        default: .warning
        }
        logger.log(level: level, "usage request", metadata: metadata)
    }
}

/// Consecutive configuration failures per meter: the backoff exponent for a
/// misconfigured meter, reset by its next success.
final class MeterStreaks: Sendable {
    private let streaks = Mutex<[String: Int]>([:])

    func increment(_ meter: String) -> Int {
        streaks.withLock { streaks in
            streaks[meter, default: 0] += 1
            return streaks[meter]!
        }
    }

    func reset(_ meter: String) {
        streaks.withLock { _ = $0.removeValue(forKey: meter) }
    }
}
