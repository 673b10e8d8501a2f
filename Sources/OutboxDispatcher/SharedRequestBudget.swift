import Foundation
import Logging
import Metrics
import OutboxCore
import Synchronization

/// The request budgets every dispatcher of one outbox shares, as one
/// dispatcher (or reconcile) uses them: each usage request and audit read is
/// admitted by the store (`DispatchStore.admitRequest`) right before it
/// leaves, and its concurrency slot is given back when it is answered. A
/// crashed process's slots come back when their lease lapses.
///
/// What a refusal said is remembered here too (`nextFree`), so workers wait
/// for a spent window before they claim, without asking the store.
final class SharedRequestBudget: Sendable {
    let budget: RequestBudget
    private let store: any DispatchStore
    private let leaseMilliseconds: Int64
    private let clock: any OutboxClock
    private let logger: Logger
    private let heldUntil = Mutex<ContinuousClock.Instant?>(nil)
    private let waits: [String: Counter]

    init(store: any DispatchStore, configuration: DispatcherConfiguration) {
        budget = configuration.requestBudget
        self.store = store
        leaseMilliseconds = configuration.lease.milliseconds
        clock = configuration.clock
        logger = configuration.logger
        waits = Dictionary(
            uniqueKeysWithValues: ["per-minute", "per-hour", "per-day", RequestBudget.concurrencyBudget].map {
                ($0, Counter(label: "outbox_budget_waits_total", dimensions: [("budget", $0)]))
            })
    }

    /// When a spent window frees, as last heard (nil: now), taking nothing.
    func nextFree(at now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        heldUntil.withLock { until in
            guard let frees = until, now < frees else { return nil }
            return frees
        }
    }

    enum Outcome: Equatable {
        /// Go; give `holder` back with `finish` once answered.
        case admitted(holder: String?)
        /// Not before `wait`; `budget` says so.
        case wait(Duration, budget: String)
        /// The store could not be asked: send nothing now.
        case unknown
    }

    /// Asks for one more request.
    func admit() async -> Outcome {
        guard !budget.isUnlimited else { return .admitted(holder: nil) }
        let holder = UUID().uuidString
        let admission: RequestBudget.Admission
        do {
            admission = try await store.admitRequest(holder: holder, budget: budget, leaseMilliseconds: leaseMilliseconds)
        } catch {
            logger.error("cannot ask the store for a request slot; nothing is sent now", metadata: ["error": "\(error)"])
            return .unknown
        }
        switch admission {
        case .admitted:
            return .admitted(holder: budget.maxConcurrent == nil ? nil : holder)
        case .wait(let milliseconds, let name):
            waits[name]?.increment()
            let wait = Duration.milliseconds(milliseconds)
            if name != RequestBudget.concurrencyBudget {
                let until = clock.monotonicNow() + wait
                heldUntil.withLock { $0 = max($0 ?? until, until) }
                logger.notice("a shared request budget is spent; waiting", metadata: ["budget": "\(name)", "wait_ms": .stringConvertible(milliseconds)])
            }
            return .wait(wait, budget: name)
        }
    }

    /// The request `holder` was admitted for is over.
    func finish(_ holder: String?) async {
        guard let holder else { return }
        do {
            try await store.finishRequest(holder: holder)
        } catch {
            logger.warning("cannot give a request slot back; it frees when its lease lapses", metadata: ["error": "\(error)"])
        }
    }
}
