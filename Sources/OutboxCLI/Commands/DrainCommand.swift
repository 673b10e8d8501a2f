import ArgumentParser
import Foundation
import Logging
import OutboxDispatcher
import ServiceLifecycle
import UsageOutbox

struct DrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Forward events to Zuora's POST /usage/bulk/{meter}, in batches, until stopped (or, with --once, until the queue is empty).",
        discussion: """
            Zuora's base URL comes from --base-url or ZUORA_BASE_URL. Credentials come only \
            from the environment: ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET for OAuth (or \
            ZUORA_CLIENT_SECRET_FILE), or ZUORA_BEARER_TOKEN (or ZUORA_BEARER_TOKEN_FILE).

            Without --once it runs until SIGTERM or SIGINT, then stops claiming, finishes \
            its in-flight requests and exits 0. With --once it exits 0 when nothing is left \
            to send (dead letters do not count), or 75 when --max-time ran out first.

            Try it against the built-in mock:
              outbox mock-zuora --port 8080 &
              ZUORA_BASE_URL=http://127.0.0.1:8080 ZUORA_CLIENT_ID=mock-client-id \\
              ZUORA_CLIENT_SECRET=mock-client-secret outbox drain --once
            """
    )

    @Flag(name: .long, help: "Drain until nothing is pending, in flight or failed, then exit.")
    var once = false

    @Option(name: .long, help: ArgumentHelp("With --once, give up after this many seconds (exit 75 if events remain).", valueName: "seconds"))
    var maxTime: Double = 300

    @OptionGroup var zuora: ZuoraOptions
    @OptionGroup var options: DrainOptions
    @OptionGroup var budget: BudgetOptions
    @OptionGroup var meterIDs: MeterIDOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard maxTime > 0 else { throw ValidationError("--max-time must be positive") }
    }

    func run() async throws {
        try await reportingFailures {
            let setup = try await DrainSetup.resolve(
                label: "outbox.drain", database: database, logging: logging, options: options, budget: budget, zuora: zuora, meterIDs: meterIDs)
            let (databaseSettings, logger, drainSettings, settings, ids) = (setup.database, setup.logger, setup.drain, setup.configuration, setup.meterIDs)
            let metricsPort = drainSettings.metricsPort.value
            // Metrics objects bind to the backend when they are created, so
            // the backend must be in place before the dispatcher exists.
            if metricsPort != nil { _ = PrometheusMetricsBootstrap.registry() }
            let startup = StartupReport(database: databaseSettings.displayLocation, configuration: settings)
            try await databaseSettings.withStore(creating: true) { outbox in
                let dispatcher = try Dispatcher(outbox: outbox, configuration: settings)
                startup.log(to: logger)
                // What `outbox check` checks, before the first event: a
                // refused secret stops the drain (no retry can fix it); a
                // token endpoint out of reach is retried like any request.
                switch await dispatcher.checkCredentials() {
                case .refused(let message, let hint):
                    throw CheckCommand.refusal(message, hint: hint)
                case .unavailable(let message):
                    logger.warning("cannot get a token from Zuora yet; retrying as requests go", metadata: ["reason": "\(message)"])
                case .tokenObtained, .fixedBearerToken:
                    break
                }
                var reconcile: ReconcileService?
                if let every = drainSettings.reconcileEvery.value {
                    let reconciler = try dispatcher.reconciler(outbox: outbox, meterIDs: ids, eventIdField: databaseSettings.eventIdField.value)
                    reconcile = ReconcileService(reconciler: reconciler, every: every, logger: logger)
                }
                let started = ContinuousClock.now
                let summary = try await DrainRunner(
                    dispatcher: dispatcher, outbox: outbox, logger: logger, metricsPort: metricsPort,
                    metricsAddress: drainSettings.metricsAddress.value,
                    // Ready while the last token request gave one: not
                    // once a refusal or an outage followed it.
                    credentialsProblem: { dispatcher.tokenStanding.notReadyReason },
                    purgeSentAfter: drainSettings.purgeSentAfter.value, reconcile: reconcile,
                    logSummaryEvery: drainSettings.logSummaryEvery.value
                )
                .run(once: once, maxTime: .milliseconds(Int64(maxTime * 1000)), showProgress: once)
                report(
                    summary, elapsed: started.duration(to: .now), logger: logger,
                    jsonLogs: try logging.resolve(file: databaseSettings.file).format.value == .json)
                if once && summary.remaining > 0 {
                    throw Exit.workRemains
                }
            }
        }
    }

    private func report(_ summary: DrainSummary, elapsed: Duration, logger: Logger, jsonLogs: Bool) {
        let seconds = max(elapsed.seconds, 0.001)
        let rate = Double(summary.sent) / seconds
        if jsonLogs {
            // With JSON logs, stderr stays one JSON object per line: the
            // summary is a log line of typed fields, not prose, written
            // whatever the log level, as the text summary is.
            var summaryLogger = logger
            summaryLogger.logLevel = min(logger.logLevel, .notice)
            summaryLogger.notice("drain finished", metadata: Self.summaryFields(summary, seconds: seconds))
        } else {
            printSummary(summary, seconds: seconds, rate: rate)
        }
        if output.json {
            Stdout.print(
                JSONValue.object([
                    "sent": .integer(Int64(summary.sent)), "dead": .integer(Int64(summary.dead)),
                    "remaining": .integer(Int64(summary.remaining)), "requests": .integer(Int64(summary.requests)),
                    "paused": .integer(Int64(summary.paused)),
                    "rate_limit_waits": .integer(Int64(summary.rateLimitWaits)), "token_refreshes": .integer(Int64(summary.tokenRefreshes)),
                    "dropped_after_lease_loss": .integer(Int64(summary.droppedAfterLeaseLoss)),
                    "elapsed_seconds": .number((seconds * 1000).rounded() / 1000),
                ]).jsonText)
        }
    }

    static func summaryFields(_ summary: DrainSummary, seconds: Double) -> Logger.Metadata {
        [
            "sent": .stringConvertible(summary.sent), "dead": .stringConvertible(summary.dead),
            "remaining": .stringConvertible(summary.remaining), "requests": .stringConvertible(summary.requests),
            "paused": .stringConvertible(summary.paused), "rate_limit_waits": .stringConvertible(summary.rateLimitWaits),
            "token_refreshes": .stringConvertible(summary.tokenRefreshes), "transient_failures": .stringConvertible(summary.transientFailures),
            "dropped_after_lease_loss": .stringConvertible(summary.droppedAfterLeaseLoss),
            "elapsed_s": .stringConvertible((seconds * 1000).rounded() / 1000),
        ]
    }

    private func printSummary(_ summary: DrainSummary, seconds: Double, rate: Double) {
        Stderr.print(
            "drain: sent \(summary.sent), dead-lettered \(summary.dead), remaining \(summary.remaining), \(summary.requests) requests in \(String(format: "%.1f", seconds))s (\(ProgressDisplay.group(Int(rate))) events/s)"
        )
        if summary.remaining > 0 && once {
            Stderr.print("hint: events remain to retry; run `outbox status` to see why, and drain again later")
        }
        if summary.paused > 0 {
            Stderr.print("drain: \(summary.paused) events wait in paused meters (`outbox meters list`); they were left alone")
        }
        if summary.dead > 0 {
            Stderr.print("hint: see the rejected events with `outbox dead-letters list`")
        }
        if summary.droppedAfterLeaseLoss > 0 {
            Stderr.print(
                "drain: \(summary.droppedAfterLeaseLoss) claimed events were dropped unsent: their lease lapsed during a wait and another dispatcher took them over"
            )
        }
    }
}
