#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Time as the outbox and its dispatcher see it.
///
/// Two kinds of time, on purpose: what is *stored* (when an event is due,
/// when a lease ends) is wall-clock unix milliseconds, because other
/// processes read it; what a process *waits for* (a Retry-After, a backoff,
/// `--max-time`) is measured on a monotonic clock, so a step of the system
/// clock neither cuts a wait short nor stretches it.
///
/// Production code uses ``SystemClock``. Tests pass a clock they advance by
/// hand, so lease expiry and rate-limit waits run without sleeping.
public protocol OutboxClock: Sendable {
    /// Unix time in milliseconds, for timestamps written to the database.
    func wallMilliseconds() -> Int64
    /// A monotonic reading, for deadlines inside this process.
    func monotonicNow() -> ContinuousClock.Instant
    /// Returns at `deadline` (monotonic); throws when the task is cancelled.
    func sleep(until deadline: ContinuousClock.Instant) async throws
}

/// The real clocks: `CLOCK_REALTIME` for stored times, `ContinuousClock` for waits.
public struct SystemClock: OutboxClock {
    public init() {}

    public func wallMilliseconds() -> Int64 { WallClock.nowMilliseconds() }

    public func monotonicNow() -> ContinuousClock.Instant { .now }

    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        try await Task.sleep(until: deadline, clock: .continuous)
    }
}

/// Unix time in milliseconds, the unit every timestamp column uses.
public enum WallClock {
    public static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
