import Logging
import OutboxCore

extension DeliveryMachine {
    /// Turns Zuora's answer, through `ResponseClassifier`'s decision, into
    /// a settlement, a split or a wait.
    mutating func handle(_ answer: ZuoraAnswer, _ attempt: Attempt, after effects: [Effect]) -> Action {
        var effects = effects
        let (events, trackID, key) = (attempt.events, attempt.trackID, attempt.key)
        let decision = ResponseClassifier.classify(
            status: answer.status, success: answer.success, retryAfterSeconds: answer.retryAfterSeconds,
            category: ZuoraErrorCategory.verdict(body: answer.body), keyed: settings.idempotencyKeys)
        let answered = Self.nextKey(status: answer.status, key: key)
        if (200..<300).contains(answer.status) {
            // A 2xx that says "limit" or "retry later" is no success: the
            // host-wide backoff must keep growing through a run of them.
            switch decision {
            case .rateLimited, .retryLater: break
            default: effects.append(.gateSucceeded)
            }
            if let reset = answer.quotaExhaustedForSeconds {
                // The tenant's quota is spent: wait for it rather than earn a 429.
                effects.append(.pauseGate(seconds: reset))
                effects.append(
                    .log(
                        LogLine(
                            level: .info, message: "Zuora's rate limit is used up (RateLimit-Remaining: 0); pausing requests",
                            metadata: ["meter": "\(meter)", "reset_s": .stringConvertible(reset)])))
            }
        }
        let record = Settlement.Record(status: answer.status, responseBody: answer.bodyText, trackID: trackID, requestID: answer.requestID)
        switch decision {
        case .accepted:
            effects.append(.resetMeterBackoff)
            return settle(.batch(.accepted), events, record: .init(status: answer.status, trackID: trackID), keys: answered, result: .accepted, after: effects)
        case .rejected where events.count == 1, .tooLarge where events.count == 1:
            let reason =
                answer.status == 413
                ? "HTTP 413: the event alone (\(events[0].body.count) bytes) is larger than Zuora accepts"
                : RejectionReason.describe(status: answer.status, body: answer.body)
            let line = LogLine(
                level: .warning, message: "event dead-lettered",
                metadata: ["meter": "\(meter)", "event_id": "\(events[0].eventID)", "status": .stringConvertible(answer.status), "reason": "\(reason)"])
            return settle(.batch(.rejected(reason: reason)), events, record: record, keys: answered, result: .rejected, after: effects, then: [.log(line)])
        case .rejected:
            return bisect(events, after: effects)
        case .tooLarge:
            return splitForSize(events, after: effects)
        case .unauthorized, .configurationProblem:
            let reason = RejectionReason.configurationHint(status: answer.status, meter: meter)
            effects.append(
                .log(
                    LogLine(
                        level: .error, message: reason,
                        metadata: ["meter": "\(meter)", "track_id": "\(trackID)", "zuora_request_id": "\(answer.requestID ?? "-")"])))
            return settle(.deferredByMeterBackoff(reason: reason), events, record: record, keys: answered, after: effects)
        case .rateLimited(let seconds):
            phase = .holdingGate(.rateLimited(status: answer.status, hinted: seconds != nil, events: events, record: record, keys: answered))
            return Action(effects: effects, next: .holdGate(hintSeconds: seconds))
        case .retryLater:
            // Not the events' fault (a lock, a temporary error): the meter
            // backs off, no attempt is spent, nothing is split or dead.
            let reason = RejectionReason.describe(status: answer.status, body: answer.body)
            effects.append(.count(.transient(events.count)))
            effects.append(
                .log(
                    LogLine(
                        level: .notice, message: "Zuora asked to retry later; backing off this meter",
                        metadata: ["meter": "\(meter)", "track_id": "\(trackID)", "reason": "\(reason)"])))
            return settle(.deferredByMeterBackoff(reason: reason), events, record: record, keys: answered, after: effects)
        case .keyInProgress(let seconds):
            // The key's first request (ours, before a kill or a takeover) is
            // still being worked on: ask again later under the same key, so
            // the answer to that request is the one these events get.
            let wait = seconds ?? settings.backoffBaseSeconds
            effects.append(
                .log(
                    LogLine(
                        level: .notice, message: "Zuora is still working on this key's first request (HTTP 409); asking again under the same key",
                        metadata: ["meter": "\(meter)", "track_id": "\(trackID)", "idempotency_key": "\(key)", "wait_s": .stringConvertible(wait)])))
            let reason = "HTTP 409: the idempotency key's first request is still in progress; waiting \(Int(wait.rounded(.up)))s"
            return settle(
                .batch(.deferred(reason: reason, delayMilliseconds: Settlement.milliseconds(wait))), events, record: record, keys: .keep(key), after: effects)
        case .keyReusedWithAnotherBody:
            // A fault of ours: the key was sent before with another body.
            // Nothing was billed for this request; a new key goes next time.
            let reason = RejectionReason.describe(status: answer.status, body: answer.body)
            effects.append(.count(.transient(events.count)))
            effects.append(
                .log(
                    LogLine(
                        level: .error, message: "Zuora says this idempotency key came before with another body (HTTP 422); retrying under a new key",
                        metadata: ["meter": "\(meter)", "track_id": "\(trackID)", "idempotency_key": "\(key)", "reason": "\(reason)"])))
            return settle(
                .batch(.failed(reason: "HTTP 422: idempotency key reused with another body; retried under a new key")), events, record: record,
                keys: answered, after: effects)
        case .transient:
            effects.append(.count(.transient(events.count)))
            if case .unreadable(let why) = answer.success, (200..<300).contains(answer.status) {
                effects.append(
                    .log(
                        LogLine(
                            level: .warning, message: "a 2xx answer could not be read to its end; the batch will be retried",
                            metadata: ["meter": "\(meter)", "track_id": "\(trackID)", "why": "\(why)"])))
                // Zuora may well have accepted the events: the re-send keeps
                // the key, and Zuora replays the answer that was cut off.
                let reason = "HTTP \(answer.status) whose body could not be read (\(why)); not counted as accepted"
                return settle(.batch(.failed(reason: reason)), events, record: record, keys: .keep(key), after: effects)
            }
            let reason = RejectionReason.describe(status: answer.status, body: answer.body)
            return settle(.batch(.failed(reason: reason)), events, record: record, keys: answered, after: effects)
        }
    }

    /// Zuora keeps the first answer to a key: after this one, the events'
    /// next request needs a new key. A gateway's timeout (408, 502, 504)
    /// is not Zuora's answer: Zuora may still be working on the request,
    /// so the re-send keeps its key, whatever the body says.
    static func nextKey(status: Int, key: String) -> NextKey {
        [408, 502, 504].contains(status) ? .keep(key) : .fresh
    }

    /// `keys`: unchanged when no request left; fresh after a 401.
    mutating func tokenFailed(_ error: TokenError, _ events: [ClaimedEvent], keys: NextKey) -> Action {
        switch error {
        case .rejected(let message, let hint):
            let line = LogLine(level: .error, message: message, metadata: ["meter": "\(meter)", "hint": "\(hint ?? "")"])
            return settle(.deferredByMeterBackoff(reason: message), events, record: .init(status: 401), keys: keys, after: [.log(line)])
        case .unavailable(let message, let retryAfter):
            // Not the events' fault: every request to the host waits (Zuora's
            // hint, else the host-wide backoff), and no attempt is spent.
            phase = .holdingGate(.tokenUnavailable(message: message, events: events, keys: keys))
            return Action(effects: [], next: .holdGate(hintSeconds: retryAfter))
        }
    }

    mutating func gateHeld(_ hold: GateHold, waitSeconds wait: Double, streak: Int) -> Action {
        let delay = Settlement.milliseconds(wait)
        switch hold {
        case .rateLimited(let status, let hinted, let events, let record, let keys):
            let line = LogLine(
                level: .notice, message: "rate limited; holding all requests",
                metadata: [
                    "meter": "\(meter)", "status": .stringConvertible(status), "wait_s": .stringConvertible(wait),
                    "hinted": .stringConvertible(hinted), "streak": .stringConvertible(streak),
                ])
            let reason = "rate limited (HTTP \(status)); waiting \(Int(wait.rounded(.up)))s"
            return settle(
                .batch(.deferred(reason: reason, delayMilliseconds: delay)), events, record: record, keys: keys, after: [.countRateLimitWait, .log(line)])
        case .tokenUnavailable(let message, let events, let keys):
            let line = LogLine(
                level: .warning, message: "cannot get a token: \(message); holding all requests",
                metadata: ["meter": "\(meter)", "wait_s": .stringConvertible(wait)])
            let reason = "token: \(message); waiting \(Int(wait.rounded(.up)))s"
            return settle(
                .batch(.deferred(reason: reason, delayMilliseconds: delay)), events, record: .init(), keys: keys,
                after: [.log(line), .count(.transient(events.count))])
        }
    }
}
