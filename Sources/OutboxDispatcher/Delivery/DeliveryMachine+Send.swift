import Logging
import OutboxCore

extension DeliveryMachine {
    mutating func send(_ attempt: Attempt, body: RequestBody) -> Action {
        var attempt = attempt
        attempt.body = body
        phase = .awaitingAnswer(attempt)
        // A resend after a 401 keeps the key: a request Zuora did not
        // authenticate was not worked on, so nothing can be saved under its
        // key (a process that takes over after a kill here sends this key
        // too). Were the 401 replayed all the same, it is handled as a
        // second 401: a new key next time.
        let send = Send(body: body, trackID: attempt.trackID, idempotencyKey: sentKey(attempt), token: attempt.token, slot: attempt.slot)
        return Action(effects: [], next: .send(send))
    }

    func sentKey(_ attempt: Attempt) -> String? { settings.idempotencyKeys ? attempt.key : nil }

    mutating func bodyFailed(_ attempt: Attempt, _ error: String) -> Action {
        let line = LogLine(level: .error, message: "cannot build the request body", metadata: ["meter": "\(meter)", "error": "\(error)"])
        // Possibly sent before (a claim taken over): keep them together.
        return settle(
            .batch(.failed(reason: "cannot build the request body: \(error)")), attempt.events, record: .init(trackID: attempt.trackID),
            keys: .keep(attempt.key), result: .other, after: [.finishSlot(attempt.slot), .log(line)])
    }

    mutating func answered(_ attempt: Attempt, _ outcome: SendOutcome, sentAt: ContinuousClock.Instant, answeredAt: ContinuousClock.Instant) -> Action {
        var attempt = attempt
        let started = attempt.startedAt ?? sentAt
        attempt.startedAt = started
        // From here on the events count this request among their tries.
        attempt.events = attempt.events.map { $0.carried() }
        let count = attempt.events.count
        if !attempt.resent, case .answered(let answer) = outcome, answer.status == 401 {
            phase = .refreshingToken(attempt)
            let line = LogLine(
                level: .warning, message: "Zuora answered 401; fetching a new token and resending once",
                metadata: ["meter": "\(meter)", "track_id": "\(attempt.trackID)"])
            return Action(
                effects: [.log(line), .count(.requests(1)), .recordRequest(status: 401, events: count, duration: started.duration(to: answeredAt))],
                next: .fetchFreshToken(rejected: attempt.token))
        }
        let elapsed = started.duration(to: answeredAt)
        var effects: [Effect] = [.count(.requests(1))]
        switch outcome {
        case .transportFailed(let reason):
            effects.append(.recordRequest(status: nil, events: count, duration: elapsed))
            effects += requestLine(attempt, status: nil, requestID: nil, elapsed: elapsed, note: reason)
            effects.append(.count(.transient(count)))
            // No answer: Zuora may have the events. They go again together,
            // under this key, so Zuora answers the re-send from its memory.
            return settle(.batch(.failed(reason: reason)), attempt.events, record: .init(trackID: attempt.trackID), keys: .keep(attempt.key), after: effects)
        case .answered(let answer):
            effects.append(.recordRequest(status: answer.status, events: count, duration: elapsed))
            effects += requestLine(attempt, status: answer.status, requestID: answer.requestID, elapsed: elapsed, note: nil)
            return handle(answer, attempt, after: effects)
        }
    }

    /// One line per request only at debug level: at info, the drain logs a
    /// summary every --log-summary-every. A 400 or 413 during bisection is
    /// routine (the dead letter it leads to is logged as a warning); rate
    /// limits are expected under load.
    private func requestLine(_ attempt: Attempt, status: Int?, requestID: String?, elapsed: Duration, note: String?) -> [Effect] {
        let level: Logger.Level =
            switch status {
            case .some(200..<300), .some(400), .some(413): .debug
            case .some(429), .some(503): .notice
            default: .warning
            }
        // Most requests are not logged at all: build nothing for them.
        guard settings.logLevel <= level else { return [] }
        var metadata: Logger.Metadata = [
            "meter": "\(meter)", "track_id": "\(attempt.trackID)", "events": .stringConvertible(attempt.events.count),
            "bytes": .stringConvertible(attempt.body?.jsonBytes ?? 0), "zuora_request_id": "\(requestID ?? "-")",
            "duration_ms": .stringConvertible(elapsed.milliseconds),
        ]
        // A number when Zuora answered; absent when nothing came back.
        if let status { metadata["status"] = .stringConvertible(status) }
        if let note { metadata["error"] = "\(note)" }
        if let key = sentKey(attempt) { metadata["idempotency_key"] = "\(key)" }
        return [.log(LogLine(level: level, message: "usage request", metadata: metadata))]
    }

    /// Plans what `verdict` means for each event and applies it, fenced by
    /// the claim's token; then the job comes to `result`.
    mutating func settle(
        _ verdict: SettleOrder.Verdict, _ events: [ClaimedEvent], record: Settlement.Record, keys: NextKey, result: BatchResult = .other,
        after effects: [Effect], then afterward: [Effect] = []
    ) -> Action {
        phase = .settling(Settling(verdict: verdict, result: result, afterward: afterward))
        return Action(effects: effects, next: .settle(SettleOrder(verdict: verdict, events: events, record: record, keys: keys)))
    }

    mutating func settled(_ settling: Settling, _ result: SettlementResult?) -> Action {
        guard let result else { return endJob(settling.result, after: settling.afterward) }
        var effects: [Effect] = [.tally(result)]
        if result.lost > 0 {
            effects.append(
                .log(
                    LogLine(
                        level: .warning, message: "another dispatcher took over events before their answer was recorded; its record stands",
                        metadata: ["meter": "\(meter)", "lost": .stringConvertible(result.lost)])))
        }
        if case .batch(.failed(let reason)) = settling.verdict, result.dead > 0 {
            effects.append(
                .log(
                    LogLine(
                        level: .warning, message: "events dead-lettered: their retry attempts ran out",
                        metadata: ["meter": "\(meter)", "count": .stringConvertible(result.dead), "reason": "\(reason)"])))
        }
        return endJob(settling.result, after: effects + settling.afterward)
    }
}
