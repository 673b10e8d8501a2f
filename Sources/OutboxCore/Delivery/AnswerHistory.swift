/// What each event's history keeps of the answers it got, decided once for
/// both stores: an entry per failed, deferred (when Zuora answered) or dead
/// settlement of the event, at most the last `limit` per event, each
/// reason cut to `reasonBytes`. Sent events get none: a 2xx settlement of a
/// range never touches the history, and the stores delete an event's
/// history when it is sent from a retry row or its dead letter is purged.
package enum AnswerHistory {
    /// Answers kept per event: the newest.
    package static let limit = 20
    /// Bytes of a reason kept.
    package static let reasonBytes = 200

    /// One answer to write for one event.
    package struct Entry: Sendable, Equatable {
        package let rowID: Int64
        package let status: Int?
        package let requestID: String?
        package let reason: String

        package init(rowID: Int64, status: Int?, requestID: String?, reason: String) {
            self.rowID = rowID
            self.status = status
            self.requestID = requestID
            self.reason = AnswerHistory.cut(reason)
        }
    }

    /// The entries a settlement writes, for the rows it applies: each event
    /// that is not sent, when the settlement records its answer. A dead
    /// event keeps its own reason; a retried one the meter's failure.
    package static func entries(of settlement: Settlement) -> [Entry] {
        guard settlement.recordsAnswer else { return [] }
        return settlement.rows.compactMap { row in
            let reason: String
            switch row.outcome {
            case .sent: return nil
            case .retry: reason = settlement.meterFailure ?? ""
            case .dead(let why, _): reason = why
            }
            return Entry(rowID: row.rowID, status: settlement.record.status, requestID: settlement.record.requestID, reason: reason)
        }
    }

    /// `text`'s first `reasonBytes` bytes of UTF-8, never cutting a
    /// character in two.
    package static func cut(_ text: String) -> String {
        let utf8 = text.utf8
        guard utf8.count > reasonBytes else { return text }
        var end = utf8.index(utf8.startIndex, offsetBy: reasonBytes)
        // Back to the first byte of the character the cut falls in.
        while end > utf8.startIndex && (utf8[end] & 0xC0) == 0x80 { end = utf8.index(before: end) }
        return String(decoding: utf8[utf8.startIndex..<end], as: UTF8.self)
    }
}
