import Crypto
import OutboxCore

/// The `Idempotency-Key` of a usage request. Zuora keeps the first answer
/// to a key for 24 hours and replays it for the same key, so a key may be
/// sent again only for a re-send whose answer never came. The key is
/// derived from what the store records about the request's events, never
/// from one process's memory, so a process that takes over a lapsed claim
/// derives the key the first one sent:
/// - a request holding exactly the events of one that got no answer (they
///   share its key, `ClaimedEvent.unansweredKey`) is sent under that key;
/// - any other request's key is a digest of the outbox's id, the meter and
///   each event's row id and key seed. The seed is drawn afresh whenever
///   Zuora answers a request that carried the event, so after any answer
///   the next request has a new key; a bisection half holds other events,
///   so it has a key of its own.
///
/// `resends` counts answers this process got that the store does not
/// record (a 401, resent at once with a fresh token): each makes a new key,
/// the same in every process that saw the same answers.
public enum IdempotencyKey {
    /// Zuora's limit on the header's length.
    public static let maximumLength = 254

    public static func make(outboxID: String, meter: String, events: [ClaimedEvent], isWholeClaim: Bool, resends: Int = 0) -> String {
        let base: String
        if isWholeClaim, let shared = events.first?.unansweredKey, events.allSatisfy({ $0.unansweredKey == shared }) {
            base = shared
        } else {
            base = derived(outboxID: outboxID, meter: meter, events: events)
        }
        return resends == 0 ? base : "\(base)-r\(resends)"
    }

    /// `ob1-` and 40 hex digits (160 bits) of a SHA-256 over the request's
    /// identity; printable ASCII, as Zuora requires.
    static func derived(outboxID: String, meter: String, events: [ClaimedEvent]) -> String {
        var hash = SHA256()
        // Lengths first, so that no two different inputs run together.
        for part in [outboxID, meter] {
            hash.update(data: Array("\(part.utf8.count):".utf8))
            hash.update(data: Array(part.utf8))
        }
        for event in events {
            hash.update(data: Array("|\(event.rowID).\(event.keySeed)".utf8))
        }
        let digest = hash.finalize()
        let hex = digest.prefix(20).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }
        return "ob1-" + hex.joined()
    }
}
