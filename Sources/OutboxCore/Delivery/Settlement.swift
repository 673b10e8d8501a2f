/// Every event's outcome after one answer: the single decision both stores
/// apply, each in one transaction fenced by the claim's token. The give-up
/// rule, the state each event moves to and the reason texts are decided
/// here, in Swift, once; the stores only write what it says.
///
/// Retry times are relative (`retry(afterMilliseconds:)`) so that each store
/// turns them into due times with its own clock: PostgreSQL with the
/// server's, so that hosts whose clocks disagree still agree on when an
/// event is due.
package struct Settlement: Sendable, Equatable {
    package struct Row: Sendable, Equatable {
        package let rowID: Int64
        package let outcome: EventOutcome
        /// Requests that carried the event, this answer's included: kept on
        /// its retry row, and shown as a dead letter's attempts.
        package let tries: Int

        package init(rowID: Int64, outcome: EventOutcome, tries: Int = 0) {
            self.rowID = rowID
            self.outcome = outcome
            self.tries = tries
        }
    }

    /// What to record about the answer that led here.
    package struct Record: Sendable, Equatable {
        /// HTTP status, when Zuora answered.
        package var status: Int?
        /// Zuora's response body, kept on dead letters.
        package var responseBody: String?
        package var trackID: String?
        /// `Zuora-Request-Id` of the answer (what Zuora support asks for).
        package var requestID: String?

        package init(status: Int? = nil, responseBody: String? = nil, trackID: String? = nil, requestID: String? = nil) {
            self.status = status
            self.responseBody = responseBody
            self.trackID = trackID
            self.requestID = requestID
        }
    }

    package let meter: String
    package let rows: [Row]
    package let record: Record
    /// The failure to show on the meter (`outbox status`), nil when accepted.
    package let meterFailure: String?
    /// Whether the answer was a success (the meter's last success time moves).
    package let isSuccess: Bool
    /// What becomes of the idempotency keys of the rows written for retried
    /// events.
    package let keys: RequestKeyChange
    /// Whether the events that are not sent keep this answer in their
    /// history (`AnswerHistory`): a failure or a rejection always, a
    /// deferral only when Zuora answered something (a rate limit, "retry
    /// later"), never when the events were given back unsent.
    package let recordsAnswer: Bool

    package init(
        meter: String, rows: [Row], record: Record, meterFailure: String?, isSuccess: Bool, keys: RequestKeyChange = .unchanged,
        recordsAnswer: Bool = true
    ) {
        self.meter = meter
        self.rows = rows
        self.record = record
        self.meterFailure = meterFailure
        self.isSuccess = isSuccess
        self.keys = keys
        self.recordsAnswer = recordsAnswer
    }

    /// The plan for `events` after `verdict`. Pure: the only input beyond
    /// the arguments is `random`, which draws the backoff's jitter once per
    /// batch (so the events of a batch come due together and go out
    /// together again).
    package static func plan<G: RandomNumberGenerator>(
        _ verdict: BatchVerdict, events: [ClaimedEvent], meter: String, policy: RetryPolicy,
        record: Record = Record(), keys: RequestKeyChange = .unchanged, random: inout G
    ) -> Settlement {
        switch verdict {
        case .accepted:
            return Settlement(
                meter: meter, rows: events.map { Row(rowID: $0.rowID, outcome: .sent, tries: $0.tries) }, record: record,
                meterFailure: nil, isSuccess: true, keys: keys, recordsAnswer: false)
        case .rejected(let reason):
            return Settlement(
                meter: meter, rows: events.map { Row(rowID: $0.rowID, outcome: .dead(reason: reason, attempts: $0.attempts), tries: $0.tries) },
                record: record, meterFailure: nil, isSuccess: false, keys: keys)
        case .failed(let reason):
            let highest = (events.map(\.attempts).max() ?? 0) + 1
            let delay = milliseconds(policy.backoff.delay(attempt: highest, using: &random))
            // Events re-sent under one key go together or not at all: a
            // group cut short would be sent under another key, and Zuora
            // may have billed the first request.
            var groupGivesUp: Bool?
            if case .unanswered = keys { groupGivesUp = policy.givesUp(afterAttempts: highest) }
            let rows = events.map { event -> Row in
                let attempts = event.attempts + 1
                if groupGivesUp ?? policy.givesUp(afterAttempts: attempts) {
                    return Row(
                        rowID: event.rowID, outcome: .dead(reason: givenUpReason(attempts: attempts, lastFailure: reason), attempts: attempts),
                        tries: event.tries)
                }
                return Row(rowID: event.rowID, outcome: .retry(afterMilliseconds: delay, attempts: attempts), tries: event.tries)
            }
            return Settlement(meter: meter, rows: rows, record: record, meterFailure: reason, isSuccess: false, keys: keys)
        case .deferred(let reason, let delay):
            let rows = events.map { Row(rowID: $0.rowID, outcome: .retry(afterMilliseconds: max(0, delay), attempts: $0.attempts), tries: $0.tries) }
            return Settlement(
                meter: meter, rows: rows, record: record, meterFailure: reason, isSuccess: false, keys: keys, recordsAnswer: record.status != nil)
        }
    }

    /// The reason on an event whose attempts ran out.
    package static func givenUpReason(attempts: Int, lastFailure: String) -> String {
        "gave up after \(attempts) attempts (the retry limit); last failure: \(lastFailure)"
    }

    /// How the meter's counters move when the store applied the rows in
    /// `applied` (the rows still held by the claim: the others were taken
    /// over, and their new owner counts them). Every row leaves `inflight`.
    package func counterChange(applied: some Sequence<Int64>) -> StateCounts {
        let outcomes = Dictionary(rows.map { ($0.rowID, $0.outcome) }, uniquingKeysWith: { first, _ in first })
        var change = StateCounts()
        for rowID in applied {
            guard let outcome = outcomes[rowID] else { continue }
            change.move(1, from: .inflight, to: outcome.state)
        }
        return change
    }

    /// The same settlement for only the rows `keep` picks (a part of the
    /// batch that one range of the claim still holds).
    package func restricted(to keep: (Row) -> Bool) -> Settlement {
        Settlement(
            meter: meter, rows: rows.filter(keep), record: record, meterFailure: meterFailure, isSuccess: isSuccess, keys: keys,
            recordsAnswer: recordsAnswer)
    }

    /// Seconds (a backoff draw, a Retry-After) as whole milliseconds, rounded up.
    package static func milliseconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return Int64((seconds * 1000).rounded(.up))
    }

    /// `delay` in whole milliseconds, rounded up; zero when it is not positive.
    package static func milliseconds(_ delay: Duration) -> Int64 {
        guard delay > .zero else { return 0 }
        let (seconds, attoseconds) = delay.components
        let (whole, rest) = attoseconds.quotientAndRemainder(dividingBy: 1_000_000_000_000_000)
        return seconds * 1000 + whole + (rest > 0 ? 1 : 0)
    }
}
