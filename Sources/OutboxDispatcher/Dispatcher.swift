import AsyncHTTPClient
import Logging
import OutboxCore
import ServiceLifecycle
import Synchronization

/// Forwards events from a store to Zuora's `POST /usage/bulk/{meter}`.
///
/// Run it inside your app as a ServiceLifecycle `Service` (it stops claiming
/// on graceful shutdown, finishes its in-flight requests, and returns), or
/// call `drainOnce(maxTime:)` to empty the queue and return (the outbox
/// command's one-shot drain does that).
///
/// ```swift
/// let dispatcher = try Dispatcher(outbox: outbox, configuration: .init(
///     baseURL: "https://rest.zuora.com", credentials: .oauth(clientID: id, clientSecret: Secret(secret)),
///     logger: logger))
/// let group = ServiceGroup(services: [dispatcher, myHTTPServer], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public final class Dispatcher: Service, Sendable {
    public let configuration: DispatcherConfiguration
    private let store: any DispatchStore
    private let wakeSource: AsyncStream<Void>?
    private let counters = DrainCounters()
    private let gate: RateLimitGate
    /// The request budgets every dispatcher of the outbox shares.
    private let budget: SharedRequestBudget
    private let metrics = DispatcherMetrics()
    let tokens: TokenProvider

    /// A dispatcher over a store's dispatch part. `wakeOnAppend` lets appends in this
    /// process start a send at once instead of at the next poll.
    package init(store: any DispatchStore, configuration: DispatcherConfiguration, wakeOnAppend: AsyncStream<Void>? = nil) throws {
        try configuration.validate()
        let endpoint = try ZuoraEndpoint(baseURL: configuration.baseURL, allowInsecureHTTP: configuration.allowInsecureHTTP)
        tokens = TokenProvider(
            credentials: configuration.credentials, endpoint: endpoint,
            timeout: configuration.requestTimeout, trackIDPrefix: configuration.trackIDPrefix,
            logger: configuration.logger)
        gate = RateLimitGate(backoff: configuration.backoff)
        budget = SharedRequestBudget(store: store, configuration: configuration)
        self.store = store
        self.configuration = configuration
        self.wakeSource = wakeOnAppend
    }

    /// A dispatcher over an outbox in this process (SQLite or PostgreSQL),
    /// woken by appends made through it.
    public convenience init(outbox: any OutboxStore, configuration: DispatcherConfiguration) throws {
        try self.init(store: OutboxError.operated(outbox), configuration: configuration, wakeOnAppend: outbox.appendNotifications())
    }

    /// A reconciler over `outbox` with this dispatcher's configuration
    /// (its audit reads take from the same shared request budgets).
    public func reconciler(outbox: any OutboxStore, meterIDs: [String: Int64], eventIdField: String?) throws -> Reconciler {
        try Reconciler(store: outbox, configuration: configuration, meterIDs: meterIDs, eventIdField: eventIdField)
    }

    /// Runs until graceful shutdown (or cancellation): then stops claiming,
    /// ends every wait, releases what it had not sent, and returns.
    public func run() async throws {
        let pacing = WorkerPacing(clock: configuration.clock, deadline: nil)
        try await withGracefulShutdownHandler {
            _ = try await runWorkers(pacing)
        } onGracefulShutdown: {
            pacing.stop()
        }
    }

    /// Drains until nothing is pending, in flight or failed (waiting out
    /// backoffs and rate limits), or until `maxTime` has passed. Dead
    /// letters do not count as remaining.
    public func drainOnce(maxTime: Duration) async throws -> DrainSummary {
        let pacing = WorkerPacing(clock: configuration.clock, deadline: configuration.clock.monotonicNow() + maxTime)
        return try await withGracefulShutdownHandler {
            try await runWorkers(pacing)
        } onGracefulShutdown: {
            pacing.stop()
        }
    }

    /// Totals since this dispatcher was created.
    public var summary: DrainSummary {
        var summary = counters.summary()
        summary.tokenRefreshes = tokens.refreshCount
        summary.rateLimitWaits = gate.holdCount
        return summary
    }

    private func runWorkers(_ pacing: WorkerPacing) async throws -> DrainSummary {
        let outboxID = try await store.outboxID()
        let http = ZuoraClient.makeHTTPClient(configuration: configuration)
        let client: ZuoraClient
        do {
            client = try ZuoraClient(configuration: configuration, http: http, tokens: tokens)
        } catch {
            try? await http.shutdown()
            throw error
        }
        let delivery = BatchDelivery(
            store: store, client: client, configuration: configuration, gate: gate,
            counters: counters, pacing: pacing, budget: budget, metrics: metrics, outboxID: outboxID)
        let loop = WorkerLoop(store: store, delivery: delivery, configuration: configuration, gate: gate, pacing: pacing)
        // Workers report true when they finish; the wake-up forwarder false.
        await withTaskGroup(of: Bool.self) { group in
            if let wakeSource {
                group.addTask {
                    for await _ in wakeSource {
                        if pacing.isStopping { break }
                        pacing.wake.wakeAll()
                    }
                    return false
                }
            }
            for worker in 0..<configuration.concurrency {
                group.addTask {
                    await loop.run(worker: worker)
                    return true
                }
            }
            // Workers return on stop, on the deadline, or when `drainOnce` is done.
            var finished = 0
            while finished < configuration.concurrency, let isWorker = await group.next() {
                if isWorker { finished += 1 }
            }
            group.cancelAll()
        }
        try? await http.shutdown()
        var summary = self.summary
        summary.remaining = (try? await store.undeliveredCount()) ?? -1
        summary.paused = (try? await store.pausedCount()) ?? 0
        return summary
    }
}
