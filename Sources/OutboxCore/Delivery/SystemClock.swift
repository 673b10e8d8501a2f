#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real clocks: `CLOCK_REALTIME` for stored times, `ContinuousClock` for waits.
public struct SystemClock: OutboxClock {
    public init() {}

    public func wallMilliseconds() -> Int64 { WallClock.nowMilliseconds() }

    public func monotonicNow() -> ContinuousClock.Instant { .now }

    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        try await Task.sleep(until: deadline, clock: .continuous)
    }
}
