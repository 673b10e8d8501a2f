import ArgumentParser
import Foundation
import Logging
import OutboxDispatcher

/// The dispatcher's options, shared by `drain` and `config show`.
struct DrainOptions: ParsableArguments {
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


    @Option(name: .long, help: ArgumentHelp("While running, purge events sent longer ago than this, hourly (e.g. 7d; default off, $OUTBOX_PURGE_SENT_AFTER).", valueName: "duration"))
    var purgeSentAfter: DurationArgument?

    func validate() throws {
        if let metricsPort, !(0...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be between 0 and 65535") }
    }
}
