import OutboxCore

/// The wall clock moved on by `shift`; waits are real.
struct ShiftedClock: OutboxClock {
    let shift: Duration

    func wallMilliseconds() -> Int64 { WallClock.nowMilliseconds() + shift.components.seconds * 1000 }
    func monotonicNow() -> ContinuousClock.Instant { .now }
    func sleep(until deadline: ContinuousClock.Instant) async throws { try await Task.sleep(until: deadline, clock: .continuous) }
}
