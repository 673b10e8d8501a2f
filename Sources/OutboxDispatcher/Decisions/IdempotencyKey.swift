import Crypto
import OutboxCore

/// The `Idempotency-Key` of a usage request. Zuora keeps the first answer
/// to a key for 24 hours and replays it for the same key, so a key may be
/// sent again only for a re-send whose answer never came. The key is a
/// digest of what the store records about the request's events (the
/// outbox's id, the meter, and each event's row id and key seed, in the
/// order the body holds them), never of one process's memory:
/// - the seed is drawn afresh whenever Zuora answers a request that carried
///   the event, so after any answer the next request has a new key;
/// - the same events re-sent after no answer have the same seeds, so any
///   process derives the same key (the store claims them together again:
///   see `ClaimedEvent.unansweredKey`);
/// - a bisection half holds other events, so it has a key of its own, and
///   a half re-sent after a kill derives the key it was sent under.
enum IdempotencyKey {
    /// Zuora's limit on the header's length.
    static let maximumLength = 254

    /// `ob1-` and 40 hex digits (160 bits) of a SHA-256: printable ASCII, as
    /// Zuora requires.
    static func make(outboxID: String, meter: String, events: [ClaimedEvent]) -> String {
        var hash = SHA256()
        // Lengths first, so that no two different inputs run together.
        for part in [outboxID, meter] {
            hash.update(data: Array("\(part.utf8.count):".utf8))
            hash.update(data: Array(part.utf8))
        }
        for event in events {
            hash.update(data: Array("|\(event.rowID).\(event.keySeed)".utf8))
        }
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = Array("ob1-".utf8)
        for byte in hash.finalize().prefix(20) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
