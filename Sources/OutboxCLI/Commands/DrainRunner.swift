import Foundation
import Logging
import OutboxDispatcher
import ServiceLifecycle
import UsageOutbox

/// Runs a dispatcher under a ServiceGroup, so SIGTERM and SIGINT trigger a
/// graceful shutdown, with a progress display for `--once`.
struct DrainRunner {
    let dispatcher: Dispatcher
    let outbox: any OperatedStore
    let logger: Logger
    let metricsPort: Int?
    var metricsAddress = "127.0.0.1"
    /// Why Zuora's credentials keep the drain from being ready, if they do:
    /// `/readyz`.
    var credentialsProblem: @Sendable () -> String? = { nil }
    let purgeSentAfter: Double?
    let reconcile: ReconcileService?
    /// Seconds between summary log lines while running; 0: none.
    var logSummaryEvery: Double = 60

    func run(once: Bool, maxTime: Duration, showProgress: Bool) async throws -> DrainSummary {
        let total = try await outbox.undeliveredCount()
        let progress = ProgressDisplay(title: "draining", unit: "events", enabled: showProgress)
        let work = DrainService(dispatcher: dispatcher, once: once, maxTime: maxTime)
        var services: [any Service] = [work, ProgressService(dispatcher: dispatcher, progress: progress, total: total)]
        if let purgeSentAfter, !once {
            services.append(PurgeService(outbox: outbox, retentionSeconds: purgeSentAfter, logger: logger))
        }
        if let reconcile, !once {
            services.append(reconcile)
        }
        if logSummaryEvery > 0 && !once {
            services.append(LogSummaryService(dispatcher: dispatcher, every: .milliseconds(Int64(logSummaryEvery * 1000)), logger: logger))
        }
        if let metricsPort {
            services.append(
                try await MetricsService.start(
                    port: metricsPort, host: metricsAddress, outbox: outbox, dispatcher: dispatcher, logger: logger,
                    credentialsProblem: credentialsProblem))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services.enumerated().map { index, service in
                    // The drain ending (--once) ends the group; the helpers follow it.
                    .init(service: service, successTerminationBehavior: index == 0 ? .gracefullyShutdownGroup : .ignore)
                },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        progress.finish()
        var summary = work.result ?? dispatcher.summary
        summary.remaining = try await outbox.undeliveredCount()
        summary.paused = try await outbox.pausedCount()
        return summary
    }
}

/// The dispatcher as the group's main service.
final class DrainService: Service, @unchecked Sendable {
    let dispatcher: Dispatcher
    let once: Bool
    let maxTime: Duration
    // Written once by run() before the group finishes, read after.
    private(set) var result: DrainSummary?

    init(dispatcher: Dispatcher, once: Bool, maxTime: Duration) {
        self.dispatcher = dispatcher
        self.once = once
        self.maxTime = maxTime
    }

    func run() async throws {
        if once {
            result = try await dispatcher.drainOnce(maxTime: maxTime)
        } else {
            try await dispatcher.run()
            result = dispatcher.summary
        }
    }
}

/// Redraws the progress display until the group shuts down.
struct ProgressService: Service {
    let dispatcher: Dispatcher
    let progress: ProgressDisplay
    let total: Int

    func run() async throws {
        // Ends quietly when the group shuts down: cancellation is its stop signal.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let summary = dispatcher.summary
                progress.update(count: summary.sent + summary.dead, total: total)
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

/// Purges sent events past their retention, once an hour, while a drain runs.
struct PurgeService: Service {
    let outbox: any OperatedStore
    let retentionSeconds: Double
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let cutoff = WallClock.nowMilliseconds() - Int64(retentionSeconds * 1000)
                    let result = try await outbox.purgeSent(before: cutoff)
                    if result.purged > 0 {
                        logger.info(
                            "purged sent events", metadata: ["count": .stringConvertible(result.purged), "bytes_freed": .stringConvertible(result.bytesFreed)])
                    }
                } catch {
                    logger.error("scheduled purge failed; will try again in an hour", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: .seconds(3600))
            }
        }
    }
}

/// Reconciles every meter with a known meter id, every so often, while a
/// drain runs (`--reconcile-every`). A failed run is logged and tried again
/// at the next interval.
struct ReconcileService: Service {
    let reconciler: Reconciler
    let every: Double
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let report = try await reconciler.run(since: .seconds(max(every * 2, 86_400)))
                    let totals = report.totals
                    logger.info(
                        "reconcile run done",
                        metadata: [
                            "entries": .stringConvertible(totals.entries), "late_rejected": .stringConvertible(totals.lateRejected),
                            "unmatched": .stringConvertible(totals.unmatched), "duplicates_discarded": .stringConvertible(totals.duplicatesDiscarded),
                        ])
                } catch {
                    logger.error("reconcile failed; will try again at the next interval", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: .milliseconds(Int64(every * 1000)))
            }
        }
    }
}
