import Logging
import OutboxCore

/// One of `concurrency` workers: claim a batch, deliver it, repeat; sleep
/// when nothing is due. Claims are serialized by the store, so workers (and
/// other processes) never hold the same event.
struct WorkerLoop: Sendable {
    let store: any DispatchStore
    let delivery: BatchDelivery
    let configuration: DispatcherConfiguration
    let gate: RateLimitGate
    let pacing: WorkerPacing

    private var logger: Logger { configuration.logger }

    func run(worker: Int) async {
        var storeFailures = 0
        while !pacing.isStopping && !Task.isCancelled {
            let generation = pacing.wake.generation
            do {
                if try await claimAndDeliver(rotation: worker) {
                    storeFailures = 0
                    continue
                }
                storeFailures = 0
                if pacing.deadline != nil, try await store.undeliveredCount() == 0 {
                    // drainOnce: nothing pending, in flight or failed. Wake the
                    // others so they see it too.
                    pacing.wake.wakeAll()
                    return
                }
                await pacing.sleep(until: pacing.now + (try await idleWait()), since: generation)
            } catch {
                // A store failure (locked past the busy timeout, disk full):
                // keep the process up and retry, loudly.
                storeFailures += 1
                logger.error("outbox store failed; retrying", metadata: ["error": "\(error)", "failures_in_a_row": .stringConvertible(storeFailures)])
                await pacing.sleep(until: pacing.now + .milliseconds(min(5000, 100 * (1 << min(storeFailures, 6)))))
            }
        }
    }

    /// Claims one batch from the next meter with due events and delivers it.
    /// Returns false when no meter had anything due. Waits at the rate-limit
    /// gate and for a free request slot before claiming, so claims are not
    /// held through those waits.
    private func claimAndDeliver(rotation: Int) async throws -> Bool {
        let meters = try await store.metersWithWork()
        guard !meters.isEmpty else { return false }
        let start = rotation % meters.count
        for offset in 0..<meters.count {
            if await pacing.untilRequestCouldGo(gate, delivery.budget) == .stopping { return false }
            let meter = meters[(start + offset) % meters.count]
            let claimedAt = pacing.now
            guard
                let claim = try await store.claim(
                    meter: meter, owner: configuration.owner, limit: configuration.batchSize,
                    maxBytes: configuration.maxBatchBytes,
                    leaseMilliseconds: configuration.lease.milliseconds)
            else { continue }
            await delivery.deliver(claim, claimedAt: claimedAt)
            return true
        }
        return false
    }

    /// How long to sleep: until the earliest event is due or the next poll,
    /// whichever is first (the deadline and wake-ups end it sooner).
    private func idleWait() async throws -> Duration {
        var wait = configuration.pollInterval
        if let due = try await store.nextDueDelay() {
            wait = min(wait, .milliseconds(max(1, due)))
        }
        return max(wait, .milliseconds(1))
    }
}
