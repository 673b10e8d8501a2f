import Foundation
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
        var holdUntil: Double = 0  // unix seconds
        var holdAnnouncedAt: Double = 0
        var random: SplitMix64
        var record: FileHandle?
    }

    let inner: Mutex<Inner>

    init(configuration: MockConfiguration) throws {
        var record: FileHandle?
        if let path = configuration.recordFile {
            if !FileManager.default.fileExists(atPath: path) {
                FileManager.default.createFile(atPath: path, contents: nil)
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw MockError("cannot open the record file \(path) for writing")
            }
            handle.seekToEndOfFile()
            record = handle
        }
        let seed = configuration.seed ?? UInt64.random(in: 0...UInt64.max)
        inner = Mutex(Inner(configuration: configuration, random: SplitMix64(seed: seed), record: record))
    }
}

/// A small seeded generator, so fault injection can be replayed.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One ERROR entry of a meter's audit trail, as the mock serves it.
struct MockAuditEntry: Sendable {
    let json: String
    /// Unix seconds.
    let ingestedAt: Double
}
