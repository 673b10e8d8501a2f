import Foundation
import OutboxCore
import Synchronization

/// The mock's mutable state, behind one lock.
final class MockState: Sendable {
    struct Inner {
        var configuration: MockConfiguration
        var statistics = MockStatistics()
        var tokens: [String: Double] = [:]  // token -> expiry (unix seconds)
        var tokenCounter = 0
        var accepted: [String: [String]] = [:]  // meter -> event texts
        var seen: [String: Int] = [:]  // identity -> times accepted
        var audit: [String: [MockAuditEntry]] = [:]  // meter -> ERROR entries
        var deduplicated: [String: Set<String>] = [:]  // meter -> values of the Deduplicator's field seen
        var holdUntil: Double = 0  // unix seconds
        var inFlight = 0  // usage requests being worked on
        var holdAnnouncedAt: Double = 0
        var random: SeededRandom
        var record: FileHandle?
        var idempotency = MockIdempotency()
    }

    /// Every change through it wakes the waiters whose condition now holds
    /// (`ZuoraMockServer.waitUntil`).
    let inner: ObservedLock<Inner>

    init(configuration: MockConfiguration) throws {
        var record: FileHandle?
        if let path = configuration.recordFile {
            if !FileManager.default.fileExists(atPath: path) {
                // A failure here is the open's below, which says so.
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw MockError("cannot open the record file \(path) for writing")
            }
            handle.seekToEndOfFile()
            record = handle
        }
        let seed = configuration.seed ?? UInt64.random(in: 0...UInt64.max)
        inner = ObservedLock(Inner(configuration: configuration, random: SeededRandom(seed: seed), record: record))
    }
}
