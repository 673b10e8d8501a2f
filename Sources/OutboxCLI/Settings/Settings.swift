import Logging
import OutboxDispatcher
import OutboxPostgres
import UsageOutbox

/// Every setting of the `outbox` command, each declared once: flag, variable,
/// config file key, default, checks and how `config show` prints it. A new
/// setting joins this table; its option group declares the flag from it.
enum Settings {
    // MARK: The database

    static let db = Setting<String>.text(
        "db", environment: "OUTBOX_DB", default: "./outbox.sqlite",
        summary: "The outbox: an SQLite file (append, migrate and drain create it) or a postgres:// URL", valueName: "path",
        show: { PostgresLocation.isPostgresURL($0) ? PostgresLocation.redacted($0) : $0 })
    static let busyTimeout = Setting<Int>.integer(
        "busy-timeout", environment: "OUTBOX_BUSY_TIMEOUT", default: 5000, in: 0...3_600_000,
        summary: "How long to wait for another process's write lock, in milliseconds", valueName: "ms")
    static let durability = Setting<OutboxConfiguration.Durability>.choice(
        "durability", environment: "OUTBOX_DURABILITY", default: .full,
        summary: "Commit durability: full syncs every commit (survives power loss); normal is faster, and a power cut may lose the last commits")
    static let eventIdField = Setting<String>.text(
        "event-id-field", environment: "OUTBOX_EVENT_ID_FIELD", default: nil,
        summary:
            "The event field holding each event's id: written (a UUIDv7) into events that lack it, for Mediation's de-duplication, and matched by reconcile",
        valueName: "name", defaultText: "none")

    // MARK: Logs

    static let logLevel = Setting<Logger.Level>.choice(
        "log-level", environment: "OUTBOX_LOG_LEVEL", default: .info, summary: "The least severe log level written to stderr")
    static let logFormat = Setting<StderrLogHandler.Format>.choice(
        "log-format", environment: "OUTBOX_LOG_FORMAT", default: .text, summary: "Log lines as text or json, on stderr")
    static let logSummaryEvery = Setting<Double>.duration(
        "log-summary-every", environment: "OUTBOX_LOG_SUMMARY_EVERY", default: 60, positive: false, atMost: 86400,
        summary: "While running, log one info line of what was delivered this often (each request has a line at debug level); 0s: never")

    // MARK: Zuora

    static let baseURL = Setting<String>.text(
        "base-url", environment: "ZUORA_BASE_URL", default: nil,
        summary: "Zuora's REST base URL, e.g. https://rest.zuora.com", valueName: "url", defaultText: "none")
    static let zuoraEnvironment = Setting<ZuoraEnvironment>.choice(
        "zuora-environment", environment: "ZUORA_ENVIRONMENT", default: nil,
        summary: "The Zuora environment whose limits apply (batch size, body size, requests a minute)",
        defaultText: "inferred from a known Zuora host in the base URL")
    static let entityIDs = Setting<String>.text(
        "entity-ids", environment: "ZUORA_ENTITY_IDS", default: nil, summary: "The Zuora-Entity-Ids header, for multi-entity tenants",
        valueName: "ids", defaultText: "none")
    static let orgIDs = Setting<String>.text(
        "org-ids", environment: "ZUORA_ORG_IDS", default: nil, summary: "The Zuora-Org-Ids header, for multi-org tenants", valueName: "ids",
        defaultText: "none")
    static let allowInsecureHTTP = Setting<Bool>.boolean(
        "allow-insecure-http", environment: "OUTBOX_ALLOW_INSECURE_HTTP", default: false,
        summary: "Allow an http:// base URL on a host that is not loopback (sends the token in clear text)")
    static let requestTimeout = Setting<Double>.duration(
        "request-timeout", environment: "OUTBOX_REQUEST_TIMEOUT", default: 30, atMost: Double(DispatcherConfiguration.maximumRequestTimeout.components.seconds),
        summary: "One deadline for a whole request (connecting, the answer's headers and its body), at most 10m; shorter than the lease")

    // MARK: The drain

    static let batchSize = Setting<Int>.integer(
        "batch-size", environment: "OUTBOX_BATCH_SIZE", default: 1000, summary: "Events per request, 1 to 10000 (the environment's limit)")
    static let maxBatchBytes = Setting<Int>.integer(
        "max-batch-bytes", environment: "OUTBOX_MAX_BATCH_BYTES", default: 1_048_576, in: 1024...4_194_304,
        summary:
            "Bytes per request body before compression, up to 4194304 (the environment's limit); append refuses an event larger than a request of this size",
        valueName: "bytes")
    static let maxRequestsPerMinute = Setting<Int>.integer(
        "max-requests-per-minute", environment: "OUTBOX_MAX_REQUESTS_PER_MINUTE", default: nil, in: 1...50_000,
        summary:
            "No 60-second window holds more requests than this from every dispatcher of the outbox together (usage requests, retries, bisection halves and audit reads; kept in the database)",
        defaultText: "the environment's calls per minute, else none")
    static let maxRequestsPerHour = Setting<Int>.integer(
        "max-requests-per-hour", environment: "OUTBOX_MAX_REQUESTS_PER_HOUR", default: nil, in: 1...3_000_000,
        summary: "The same for any hour", defaultText: "none")
    static let maxRequestsPerDay = Setting<Int>.integer(
        "max-requests-per-day", environment: "OUTBOX_MAX_REQUESTS_PER_DAY", default: nil, in: 1...72_000_000,
        summary: "The same for any 24 hours", defaultText: "the environment's daily cap (API Sandbox 10000, Developer Sandbox 50000), else none")
    static let maxConcurrentRequests = Setting<Int>.integer(
        "max-concurrent-requests", environment: "OUTBOX_MAX_CONCURRENT_REQUESTS", default: 40, in: 1...1000,
        summary: "Requests in flight at once from every dispatcher of the outbox together (Zuora allows 40 per tenant by default)")
    static let concurrency = Setting<Int>.integer(
        "concurrency", environment: "OUTBOX_CONCURRENCY", default: 4, summary: "Requests in flight at once, 1 to 64")
    static let gzip = Setting<Bool>.boolean("gzip", environment: "OUTBOX_GZIP", default: true, summary: "Gzip request bodies")
    static let idempotencyKeys = Setting<Bool>.boolean(
        "idempotency-keys", environment: "OUTBOX_IDEMPOTENCY_KEYS", default: true,
        summary:
            "Send an Idempotency-Key with every usage request (on or off): a re-send whose answer never came repeats its key, so Zuora bills it once")
    static let maxAttempts = Setting<Int>.integer(
        "max-attempts", environment: "OUTBOX_MAX_ATTEMPTS", default: 0,
        summary: "Dead-letter an event after this many failed attempts; 0 retries transient failures forever", defaultText: "0, forever")
    static let lease = Setting<Double>.duration(
        "lease", environment: "OUTBOX_LEASE", default: 60, atMost: Double(DispatcherConfiguration.maximumWait.components.seconds),
        summary: "How long a claim holds before another dispatcher may take it over, at most 1d")
    static let backoffBase = Setting<Double>.duration(
        "backoff-base", environment: "OUTBOX_BACKOFF_BASE", default: 1, atMost: Double(DispatcherConfiguration.maximumWait.components.seconds),
        summary: "The first retry waits up to this; each retry doubles it")
    static let backoffCap = Setting<Double>.duration(
        "backoff-cap", environment: "OUTBOX_BACKOFF_CAP", default: 300, atMost: Double(DispatcherConfiguration.maximumWait.components.seconds),
        summary: "No retry waits longer than this, at most 1d")
    static let pollInterval = Setting<Double>.duration(
        "poll-interval", environment: "OUTBOX_POLL_INTERVAL", default: 0.5, atMost: Double(DispatcherConfiguration.maximumPollInterval.components.seconds),
        summary: "How often an idle drain looks for new events, at most 1h")
    static let metricsPort = Setting<Int>.integer(
        "metrics-port", environment: "OUTBOX_METRICS_PORT", default: nil, in: 0...65535,
        summary: "Serve Prometheus metrics at /metrics (and /healthz, /readyz) on this port; 0 picks a free one and logs it", valueName: "port",
        defaultText: "off")
    static let metricsAddress = Setting<String>.text(
        "metrics-address", environment: "OUTBOX_METRICS_ADDRESS", default: "127.0.0.1",
        summary: "The address the metrics port listens on: 0.0.0.0 for a Prometheus on another host", valueName: "address",
        check: { address in
            address.isEmpty || address.contains(where: \.isWhitespace) ? "must be an address to listen on, like 127.0.0.1 or 0.0.0.0" : nil
        })
    static let purgeSentAfter = Setting<Double>.duration(
        "purge-sent-after", environment: "OUTBOX_PURGE_SENT_AFTER", default: nil,
        summary: "While running, purge events sent longer ago than this, hourly (e.g. 7d)", defaultText: "off")
    static let reconcileEvery = Setting<Double>.duration(
        "reconcile-every", environment: "OUTBOX_RECONCILE_EVERY", default: nil,
        summary: "While running, reconcile every meter with a known meter id this often (e.g. 1h)", defaultText: "off")

    // MARK: Reconcile

    /// `--meter-id GLOBAL=ID` (repeatable), `OUTBOX_METER_IDS="g1=101,g2=102"`,
    /// or the config file's `{"meter-ids": {"g1": 101}}`: merged meter by
    /// meter (`MeterIDs`).
    static let meterIDsKey = "meter-ids"
    static let meterIDsEnvironment = "OUTBOX_METER_IDS"

    /// One config file key, as `config show --keys` prints it.
    struct KeyDocument: Sendable {
        let key: String
        let environment: String?
        let expected: String
        let defaultText: String
        let summary: String
        /// The key's type check: why a value does not fit, or nil.
        let check: @Sendable (ConfigValue) -> String?
    }

    /// Every config file key, in the order `config show --keys` lists them.
    static let keyDocuments: [KeyDocument] = {
        func document<Value>(_ setting: Setting<Value>) -> KeyDocument {
            KeyDocument(
                key: setting.key, environment: setting.environment, expected: setting.expected, defaultText: setting.defaultText,
                summary: setting.summary, check: { setting.fromJSON($0) == nil ? setting.expected : nil })
        }
        return [
            document(db),
            document(busyTimeout),
            document(durability),
            document(eventIdField),
            document(logLevel),
            document(logFormat),
            document(baseURL),
            document(zuoraEnvironment),
            document(entityIDs),
            document(orgIDs),
            document(allowInsecureHTTP),
            document(requestTimeout),
            document(batchSize),
            document(maxBatchBytes),
            document(maxRequestsPerMinute),
            document(maxRequestsPerHour),
            document(maxRequestsPerDay),
            document(maxConcurrentRequests),
            document(concurrency),
            document(gzip),
            document(idempotencyKeys),
            document(maxAttempts),
            document(lease),
            document(backoffBase),
            document(backoffCap),
            document(pollInterval),
            document(metricsPort),
            document(metricsAddress),
            document(purgeSentAfter),
            document(reconcileEvery),
            document(logSummaryEvery),
            KeyDocument(
                key: meterIDsKey, environment: meterIDsEnvironment, expected: "an object of meter global ids to numeric meter ids, like {\"api-calls\": 101}",
                defaultText: "none", summary: "Zuora's numeric meter id of each meter global id, for reconcile (--meter-id GLOBAL=ID)",
                check: { MeterIDs.fromFile($0) == nil ? "an object of meter global ids to numeric meter ids, like {\"api-calls\": 101}" : nil }),
        ]
    }()

    /// The config file's keys, each with its type check (nil: the value fits).
    static let fileKeys: [String: @Sendable (ConfigValue) -> String?] = Dictionary(
        uniqueKeysWithValues: keyDocuments.map { ($0.key, $0.check) })
}
