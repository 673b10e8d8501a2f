import Logging
import UsageOutbox

/// One of `--concurrency` workers: claim a batch, deliver it, repeat; sleep
/// when nothing is due. Claims are serialized by the store, so workers (and
/// other processes) never hold the same event.
struct WorkerLoop: Sendable {
    let store: any DispatchStore
    let delivery: BatchDelivery
    let configuration: DispatcherConfiguration
    let gate: RateLimitGate
    let stop: StopFlag
    let wake: WakeSignal
    /// Set for `--once`: return when this passes, or when nothing is left.
    let deadline: ContinuousClock.Instant?

    private var logger: Logger { configuration.logger }

    func run(worker: Int) async {
        var storeFailures = 0
        while !stop.isSet && !Task.isCancelled {
            if let deadline, ContinuousClock.now >= deadline { return }
            let generation = wake.generation
            do {
                if try await claimAndDeliver(rotation: worker) {
                    storeFailures = 0
                    continue
                }
                storeFailures = 0
                if deadline != nil, try await store.undeliveredCount() == 0 {
                    // --once: nothing pending, in flight or failed. Wake the
                    // others so they see it too.
                    wake.wakeAll()
                    return
                }
                await wake.wait(timeout: try await idleWait(), since: generation)
            } catch {
                // A store failure (locked past the busy timeout, disk full):
                // keep the process up and retry, loudly.
                storeFailures += 1
                logger.error("outbox store failed; retrying", metadata: ["error": "\(error)", "failures_in_a_row": "\(storeFailures)"])
                await wake.wait(timeout: .milliseconds(min(5000, 100 * (1 << min(storeFailures, 6)))), since: wake.generation)
            }
        }
    }

    /// Claims one batch from the next meter with due events and delivers it.
    /// Returns false when no meter had anything due.
    private func claimAndDeliver(rotation: Int) async throws -> Bool {
        let meters = try await store.metersWithWork()
        guard !meters.isEmpty else { return false }
        let start = rotation % meters.count
        for offset in 0..<meters.count {
            if stop.isSet { return false }
            try await gate.waitUntilOpen()
            let meter = meters[(start + offset) % meters.count]
            let now = WallClock.nowMilliseconds()
            let leaseUntil = now + Int64(configuration.leaseSeconds * 1000)
            let events = try await store.claim(meter: meter, owner: configuration.owner, limit: configuration.batchSize,
                                               maxBytes: configuration.maxBatchBytes, leaseUntil: leaseUntil, now: now)
            if events.isEmpty { continue }
            await delivery.deliver(Batch(meter: meter, events: events, leaseUntil: leaseUntil))
            return true
        }
        return false
    }

    /// How long to sleep: until the earliest event is due, the rate-limit
    /// hold ends, the next poll, or the deadline, whichever is first.
    private func idleWait() async throws -> Duration {
        var wait = Duration.milliseconds(Int64(configuration.pollIntervalSeconds * 1000))
        if let due = try await store.nextDueTime() {
            let untilDue = Duration.milliseconds(max(1, due - WallClock.nowMilliseconds()))
            wait = min(wait, untilDue)
        }
        if let deadline { wait = min(wait, ContinuousClock.now.duration(to: deadline)) }
        return max(wait, .milliseconds(1))
    }
}

/// Claimed events of one meter, and how long the claim holds.
struct Batch: Sendable {
    let meter: String
    var events: [ClaimedEvent]
    var leaseUntil: Int64
}
