import OutboxCore
import Synchronization

/// Every wait a worker makes goes through here, so that each one ends as
/// soon as it should: at its own time, at a wake-up (new events appended in
/// this process), at a stop (graceful shutdown, SIGTERM) or at the run's
/// deadline (`drainOnce(maxTime:)`), whichever comes first. Waits use the
/// configuration's clock, so tests drive them without sleeping.
final class WorkerPacing: Sendable {
    let clock: any OutboxClock
    let wake = WakeSignal()
    /// Set for `drainOnce`: workers stop at this (monotonic) instant.
    let deadline: ContinuousClock.Instant?
    private let stopped = Atomic<Bool>(false)

    init(clock: any OutboxClock, deadline: ContinuousClock.Instant?) {
        self.clock = clock
        self.deadline = deadline
    }

    /// Stops every worker and ends every wait now.
    func stop() {
        stopped.store(true, ordering: .releasing)
        wake.wakeAll()
    }

    /// Stopped, or past the deadline: claim nothing more, send nothing more.
    var isStopping: Bool {
        if stopped.load(ordering: .acquiring) { return true }
        if let deadline, clock.monotonicNow() >= deadline { return true }
        return false
    }

    var now: ContinuousClock.Instant { clock.monotonicNow() }

    /// How a wait for the rate-limit gate ended.
    enum GateWait: Equatable {
        /// Open, and it was open already: nothing happened meanwhile.
        case openAtOnce
        /// Open after a wait: a claim held across it must be renewed.
        case openAfterWaiting
        /// Stopping (or past the deadline) before it opened.
        case stopping
    }

    /// Waits until `gate` lets requests through, or the worker must stop.
    func untilOpen(_ gate: RateLimitGate) async -> GateWait {
        var waited = false
        while true {
            if isStopping { return .stopping }
            guard let until = gate.closedUntil(now: now) else { return waited ? .openAfterWaiting : .openAtOnce }
            waited = true
            await sleep(until: until)
        }
    }

    /// Waits until a request could go (the gate is open and no shared budget
    /// is known to be spent), taking nothing: claims wait for this, so a
    /// claim is not held through a long wait. The request itself is admitted
    /// once its claim is proven (`DeliveryMachine`'s readiness steps).
    func untilRequestCouldGo(_ gate: RateLimitGate, _ budget: SharedRequestBudget) async -> GateWait {
        var waited = false
        while true {
            switch await untilOpen(gate) {
            case .stopping: return .stopping
            case .openAfterWaiting: waited = true
            case .openAtOnce: break
            }
            guard let frees = budget.nextFree(at: now) else { return waited ? .openAfterWaiting : .openAtOnce }
            waited = true
            await sleep(until: frees)
        }
    }

    /// Sleeps until `instant`, the deadline, a wake-up or a stop.
    func sleep(until instant: ContinuousClock.Instant, since generation: UInt64? = nil) async {
        var until = instant
        if let deadline { until = min(until, deadline) }
        await wake.wait(until: until, since: generation ?? wake.generation, clock: clock)
    }
}
