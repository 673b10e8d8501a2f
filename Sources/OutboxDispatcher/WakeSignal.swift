import OutboxCore
import Synchronization

/// Lets idle workers sleep until they are woken (new events appended in this
/// process, a shutdown) or a time passes. A generation counter closes the
/// race between "found no work" and "went to sleep": a wake-up in between is
/// not lost.
final class WakeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// The current generation; pass it to `wait` after looking for work.
    var generation: UInt64 { state.withLock { $0.generation } }

    func wakeAll() {
        let waiters = state.withLock { state in
            state.generation += 1
            let waiters = state.waiters
            state.waiters.removeAll()
            return waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    /// Sleeps until `deadline` on `clock`, returning early on a wake-up, on
    /// cancellation, or at once if a wake-up came after `generation` was read.
    func wait(until deadline: ContinuousClock.Instant, since generation: UInt64, clock: any OutboxClock) async {
        guard clock.monotonicNow() < deadline else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(until: deadline) }
            group.addTask { await self.waitForWake(since: generation) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForWake(since generation: UInt64) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation != generation || state.cancelled.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume()
        }
    }
}
