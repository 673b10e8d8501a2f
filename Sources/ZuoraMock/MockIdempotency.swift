import Foundation
import HTTPServing

/// Idempotency keys as Zuora documents them for POST requests: the first
/// answer to a key (whatever its status) is saved and replayed to every
/// later request with that key for 24 hours; a request whose key is still
/// being worked on gets 409, and one whose key came with another body 422.
/// The endpoint's own page does not list the header, so a real tenant may
/// ignore it: `MockConfiguration.honourIdempotencyKeys` plays either.
struct MockIdempotency {
    /// How long an answer is kept for its key.
    static let keptSeconds = 24.0 * 3600
    /// Zuora's limit: fewer than 255 characters.
    static let maxKeyLength = 254

    enum Entry {
        case inProgress(bodyHash: UInt64)
        case answered(bodyHash: UInt64, reply: ServerReply, at: Double)
    }

    private(set) var entries: [String: Entry] = [:]

    /// What to do with a request carrying `key` and `body`: nil to work on
    /// it (the key is now in progress), or the answer to send instead.
    mutating func begin(key: String, body: [UInt8], now: Double, statistics: inout MockStatistics) -> ServerReply? {
        guard !key.isEmpty, key.count <= Self.maxKeyLength, key.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
            return .json(400, #"{"success":false,"reasons":[{"code":53100020,"message":"Invalid idempotency key"}]}"#)
        }
        let hash = Self.hash(body)
        switch entries[key] {
        case .inProgress(let first):
            guard first == hash else { return mismatch(&statistics) }
            statistics.idempotencyConflicts += 1
            return .json(409, #"{"success":false,"reasons":[{"code":50000050,"message":"A request with this idempotency key is in progress"}]}"#)
        case .answered(let first, let reply, let at) where now - at < Self.keptSeconds:
            guard first == hash else { return mismatch(&statistics) }
            statistics.idempotentReplays += 1
            return reply
        case .answered, nil:
            entries[key] = .inProgress(bodyHash: hash)
            return nil
        }
    }

    /// The request with `key` was answered `reply`: saved for replays. A
    /// dropped connection saves nothing (the request was not worked on).
    mutating func finish(key: String, reply: ServerReply, now: Double) {
        guard case .inProgress(let hash) = entries[key] else { return }
        if case .dropConnection = reply {
            entries[key] = nil
        } else {
            entries[key] = .answered(bodyHash: hash, reply: reply, at: now)
        }
    }

    /// The request with `key` will never be answered, and was not worked
    /// on (an injected hang): a re-send may start afresh.
    mutating func abandon(key: String) {
        if case .inProgress = entries[key] { entries[key] = nil }
    }

    private func mismatch(_ statistics: inout MockStatistics) -> ServerReply {
        statistics.idempotencyMismatches += 1
        return .json(422, #"{"success":false,"reasons":[{"code":53100022,"message":"The idempotency key was used with a different request"}]}"#)
    }

    /// FNV-1a over the body's bytes (a mock's fingerprint, not a security one).
    static func hash(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
    }
}
