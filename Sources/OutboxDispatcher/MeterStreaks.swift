import Synchronization

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
