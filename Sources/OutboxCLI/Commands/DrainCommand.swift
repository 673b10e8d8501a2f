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

    @Option(name: .long, help: ArgumentHelp("Zuora's REST base URL, e.g. https://rest.zuora.com. Default: $ZUORA_BASE_URL.", valueName: "url"))
    var baseURL: String?

    @Option(name: .long, help: ArgumentHelp("Events per request, 1 to 10000 (default 1000, $OUTBOX_BATCH_SIZE).", valueName: "n"))
    var batchSize: Int?

    @Option(name: .long, help: ArgumentHelp("Bytes per request body before compression, up to 4194304 (default 1048576, $OUTBOX_MAX_BATCH_BYTES).", valueName: "bytes"))
    var maxBatchBytes: Int?

    @Option(name: .long, help: ArgumentHelp("Requests in flight at once (default 4, $OUTBOX_CONCURRENCY).", valueName: "n"))
    var concurrency: Int?

    @Flag(inversion: .prefixedNo, help: "Gzip request bodies (default on, $OUTBOX_GZIP).")
    var gzip: Bool?

    @Option(name: .long, help: ArgumentHelp("Zuora-Entity-Ids header, for multi-entity tenants ($ZUORA_ENTITY_IDS).", valueName: "ids"))
    var entityIds: String?

    @Option(name: .long, help: ArgumentHelp("Zuora-Org-Ids header, for multi-org tenants ($ZUORA_ORG_IDS).", valueName: "ids"))
    var orgIds: String?

    @Option(name: .long, help: ArgumentHelp("Dead-letter an event after this many failed attempts; 0 retries transient failures forever (default, $OUTBOX_MAX_ATTEMPTS).", valueName: "n"))
    var maxAttempts: Int?

    @Option(name: .long, help: ArgumentHelp("How long a claim holds before another dispatcher may take it over (default 60s, $OUTBOX_LEASE).", valueName: "duration"))
    var lease: DurationArgument?

    @Option(name: .long, help: ArgumentHelp("Per-request timeout (default 30s, $OUTBOX_REQUEST_TIMEOUT); must be shorter than --lease.", valueName: "duration"))
    var requestTimeout: DurationArgument?

    @Option(name: .long, help: ArgumentHelp("First retry waits up to this; each retry doubles it (default 1s, $OUTBOX_BACKOFF_BASE).", valueName: "duration"))
    var backoffBase: DurationArgument?

    @Option(name: .long, help: ArgumentHelp("No retry waits longer than this (default 5m, $OUTBOX_BACKOFF_CAP).", valueName: "duration"))
    var backoffCap: DurationArgument?

    @Option(name: .long, help: ArgumentHelp("How often an idle drain looks for new events (default 0.5s).", valueName: "duration"))
    var pollInterval: DurationArgument?

    @Flag(name: .long, help: "Allow an http:// base URL on a non-loopback host (sends the token in clear text).")
    var allowInsecureHttp = false

    @Option(name: .long, help: ArgumentHelp("Serve Prometheus metrics on this port at /metrics.", valueName: "port"))
    var metricsPort: Int?

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard maxTime > 0 else { throw ValidationError("--max-time must be positive") }
        if let metricsPort, !(0...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be between 0 and 65535") }
    }

    func run() async throws {
        try await reportingFailures {
            let logger = logging.bootstrap(label: "outbox.drain")
            let settings = try dispatcherConfiguration(logger: logger)
            // Metrics objects bind to the backend when they are created, so
            // the backend must be in place before the dispatcher exists.
            if metricsPort != nil { _ = PrometheusMetricsBootstrap.registry() }
            let outbox = try database.open()
            defer { outbox.close() }
            let dispatcher = try Dispatcher(outbox: outbox, configuration: settings)
            let started = ContinuousClock.now
            let summary = try await DrainRunner(dispatcher: dispatcher, outbox: outbox, logger: logger, metricsPort: metricsPort)
                .run(once: once, maxTime: .milliseconds(Int64(maxTime * 1000)), showProgress: once)
            report(summary, elapsed: started.duration(to: .now))
            if once && summary.remaining > 0 {
                throw Exit.workRemains
            }
        }
    }

    private func report(_ summary: DrainSummary, elapsed: Duration) {
        let seconds = max(elapsed.inSeconds, 0.001)
        let rate = Double(summary.sent) / seconds
        Stderr.print("drain: sent \(summary.sent), dead-lettered \(summary.dead), remaining \(summary.remaining), \(summary.requests) requests in \(String(format: "%.1f", seconds))s (\(ProgressDisplay.group(Int(rate))) events/s)")
        if summary.remaining > 0 && once {
            Stderr.print("hint: events remain to retry; run `outbox status` to see why, and drain again later")
        }
        if summary.dead > 0 {
            Stderr.print("hint: see the rejected events with `outbox dead-letters list`")
        }
        if output.json {
            Stdout.print(JSONValue.object([
                "sent": .integer(Int64(summary.sent)), "dead": .integer(Int64(summary.dead)),
                "remaining": .integer(Int64(summary.remaining)), "requests": .integer(Int64(summary.requests)),
                "rate_limit_waits": .integer(Int64(summary.rateLimitWaits)), "token_refreshes": .integer(Int64(summary.tokenRefreshes)),
                "elapsed_seconds": .number((seconds * 1000).rounded() / 1000),
            ]).jsonText)
        }
    }

    /// Flags, then environment, then defaults.
    func dispatcherConfiguration(logger: Logger) throws -> DispatcherConfiguration {
        guard let base = baseURL ?? Environment.string("ZUORA_BASE_URL") else {
            throw CommandFailure("ZUORA_BASE_URL is not set (nor --base-url)",
                                 hint: "export ZUORA_BASE_URL=https://rest.zuora.com (or your tenant's URL); `outbox mock-zuora` serves a local one",
                                 exitCode: Exit.usage)
        }
        let credentials: ZuoraCredentials?
        do {
            credentials = try ZuoraCredentials.fromEnvironment(Environment.values) { path in
                do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                    throw CommandFailure("cannot read the secret file \(path)", hint: "check the *_FILE variable and the file's permissions", exitCode: Exit.usage)
                }
            }
        } catch let error as DispatcherConfigurationError {
            throw CommandFailure(error.message, hint: error.hint, exitCode: Exit.usage)
        }
        guard let credentials else {
            throw CommandFailure("no Zuora credentials: set ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET (OAuth), or ZUORA_BEARER_TOKEN",
                                 hint: "credentials are read from the environment only, never from arguments", exitCode: Exit.usage)
        }
        var settings = DispatcherConfiguration(baseURL: base, credentials: credentials, logger: logger)
        settings.batchSize = try batchSize ?? Environment.int("OUTBOX_BATCH_SIZE") ?? settings.batchSize
        settings.maxBatchBytes = try maxBatchBytes ?? Environment.int("OUTBOX_MAX_BATCH_BYTES") ?? settings.maxBatchBytes
        settings.concurrency = try concurrency ?? Environment.int("OUTBOX_CONCURRENCY") ?? settings.concurrency
        settings.gzip = try gzip ?? Environment.bool("OUTBOX_GZIP") ?? settings.gzip
        settings.entityIDs = entityIds ?? Environment.string("ZUORA_ENTITY_IDS")
        settings.orgIDs = orgIds ?? Environment.string("ZUORA_ORG_IDS")
        settings.maxAttempts = try maxAttempts ?? Environment.int("OUTBOX_MAX_ATTEMPTS") ?? settings.maxAttempts
        settings.leaseSeconds = try lease?.seconds ?? Environment.duration("OUTBOX_LEASE") ?? settings.leaseSeconds
        settings.requestTimeoutSeconds = try requestTimeout?.seconds ?? Environment.duration("OUTBOX_REQUEST_TIMEOUT") ?? settings.requestTimeoutSeconds
        settings.backoff.baseSeconds = try backoffBase?.seconds ?? Environment.duration("OUTBOX_BACKOFF_BASE") ?? settings.backoff.baseSeconds
        settings.backoff.capSeconds = try backoffCap?.seconds ?? Environment.duration("OUTBOX_BACKOFF_CAP") ?? settings.backoff.capSeconds
        settings.pollIntervalSeconds = pollInterval?.seconds ?? settings.pollIntervalSeconds
        settings.allowInsecureHTTP = try allowInsecureHttp || (Environment.bool("OUTBOX_ALLOW_INSECURE_HTTP") ?? false)
        do {
            try settings.validate()
        } catch let error as DispatcherConfigurationError {
            throw CommandFailure(error.message, hint: error.hint, exitCode: Exit.usage)
        }
        return settings
    }
}

extension Duration {
    var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
