#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unix time in milliseconds, the unit every timestamp column uses.
///
/// Every stored instant is one type: `Int64` Unix milliseconds (a dead
/// letter's `deadAt`, `OutboxStatus.nextRetryAt`, `MeterPause.pausedAt`,
/// `DeadLetterFilter.deadBefore` and the like). Both stores keep and
/// compare instants in SQL as integers, and PostgreSQL makes them with the
/// server's clock; an integer reads back exactly as written, where `Date`
/// (a `Double`) would round. Lengths of time in configuration are
/// `Duration`.
public enum WallClock {
    public static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
