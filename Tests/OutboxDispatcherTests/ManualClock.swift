import Synchronization
import Testing
import UsageOutbox
import ZuoraMock

@testable import OutboxCore

/// A clock that moves only when a test says so: lease expiry, Retry-After
/// and backoff waits run without sleeping. Its wall time starts at the real
/// wall time (so events appended meanwhile are due) and moves with it.
final class ManualClock: OutboxClock {
    private struct Sleeper {
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Void, Error>
    }

    private struct State {
        var offset = Duration.zero
        var sleepers: [UInt64: Sleeper] = [:]
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let origin = ContinuousClock.now
    private let wallOrigin = WallClock.nowMilliseconds()
    /// Observed: a test waits for sleepers to arrive as an event.
    private let state = ObservedLock(State())

    func wallMilliseconds() -> Int64 {
        wallOrigin + state.withLock { $0.offset }.milliseconds
    }

    func monotonicNow() -> ContinuousClock.Instant {
        origin + state.withLock { $0.offset }
    }

    func sleep(until deadline: ContinuousClock.Instant) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let resume: Result<Void, Error>? = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if origin + state.offset >= deadline { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let resume { continuation.resume(with: resume) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                if let sleeper = state.sleepers.removeValue(forKey: id) { return sleeper }
                state.cancelled.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time on, waking every sleeper whose deadline has come.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.offset += duration
            let now = origin + state.offset
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers.removeValue(forKey: id) }
            return Array(due.values)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Sleepers waiting at least `atLeast` from now.
    func sleepers(atLeast: Duration = .zero) -> Int {
        state.withLock { Self.sleepers(in: $0, origin: origin, atLeast: atLeast) }
    }

    private static func sleepers(in state: borrowing State, origin: ContinuousClock.Instant, atLeast: Duration) -> Int {
        let now = origin + state.offset
        return state.sleepers.values.count { now.duration(to: $0.deadline) >= atLeast }
    }

    /// Waits until at least `count` sleepers wait at least `atLeast` from
    /// now: woken as sleepers arrive, not by polling. Fails the test with
    /// `message` after `timeout`.
    func waitForSleepers(
        _ count: Int, atLeast: Duration = .zero, _ message: @autoclosure () -> String = "sleepers", timeout: Duration = .seconds(20)
    ) async throws {
        if await sleepersArrive(atLeast: atLeast, timeout: timeout, { $0 >= count }) { return }
        Issue.record("timed out waiting for \(count) sleeper(s): \(message())")
        throw CancellationError()
    }

    /// Whether the number of sleepers waiting at least `atLeast` comes to
    /// satisfy `count` within `timeout`, woken as sleepers come and go; for
    /// tests that must clean up (move the clock on) before they report.
    func sleepersArrive(atLeast: Duration = .zero, timeout: Duration = .seconds(20), _ count: @escaping @Sendable (Int) -> Bool) async -> Bool {
        let origin = origin
        return await state.waitUntil(timeout: timeout, observe: { Self.sleepers(in: $0, origin: origin, atLeast: atLeast) }, count)
    }
}

/// Waits until the mock's statistics satisfy `condition`: the mock wakes
/// the test as requests arrive. Fails the test with `message` after `timeout`.
func waitForMock(
    _ mock: ZuoraMockServer, _ message: @autoclosure () -> String, timeout: Duration = .seconds(20),
    _ condition: @escaping @Sendable (MockStatistics) -> Bool
) async throws {
    if await mock.waitUntil(timeout: timeout, condition) { return }
    Issue.record("timed out waiting: \(message())")
    throw CancellationError()
}

/// Waits (in real time, briefly polling) until `condition` holds; fails the
/// test with `message` if it does not within `timeout`.
func waitUntil(_ message: @autoclosure () -> String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    Issue.record("timed out waiting: \(message())")
    throw CancellationError()
}

/// Whether `condition` comes to hold within `timeout` (real time, briefly
/// polling); for tests that must clean up (move a clock on, stop a
/// dispatcher) before they report a failure.
func eventually(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return false
}
