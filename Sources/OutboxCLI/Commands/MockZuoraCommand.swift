import ArgumentParser
import Logging
import ServiceLifecycle
import ZuoraMock

struct MockZuoraCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-zuora",
        abstract: "Run a Zuora-compatible mock of /oauth/token and /usage/bulk/{meter} on loopback, for tests and trials.",
        discussion: """
            It validates events like a meter would (rejecting negative quantities and customers \
            starting with INVALID), answers 404 for --unknown-meter, 413 past --max-body-bytes, \
            and injects faults on request. GET /_mock/stats shows what it saw.

            Point a drain at it:
              ZUORA_BASE_URL=http://127.0.0.1:PORT ZUORA_CLIENT_ID=mock-client-id \\
              ZUORA_CLIENT_SECRET=mock-client-secret outbox drain --once
            """,
        aliases: ["mock"]
    )

    @Option(name: .long, help: "Port to listen on (0 picks a free one).")
    var port: Int = 8080

    @Option(name: .long, help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: ArgumentHelp("Lifetime of issued tokens.", valueName: "duration"))
    var tokenLifetime: DurationArgument = DurationArgument(seconds: 3600)

    @Option(name: .long, help: ArgumentHelp("Share of the announced lifetime tokens really last (below 1: 401s mid-drain).", valueName: "fraction"))
    var tokenValidityFraction: Double = 1

    @Option(name: .long, help: ArgumentHelp("Answer 404 for this meter (repeatable).", valueName: "meter"))
    var unknownMeter: [String] = []

    @Option(name: .long, help: ArgumentHelp("Accept only these meters (repeatable); others get 404.", valueName: "meter"))
    var knownMeter: [String] = []

    @Option(name: .long, help: ArgumentHelp("Largest JSON body accepted (413 above it).", valueName: "bytes"))
    var maxBodyBytes: Int = 4_194_304

    @Option(name: .long, help: ArgumentHelp("Share of usage requests answered 500 (0 to 1).", valueName: "rate"))
    var failureRate: Double = 0

    @Option(name: .long, help: ArgumentHelp("Share of usage requests whose connection is dropped.", valueName: "rate"))
    var dropRate: Double = 0

    @Option(name: .long, help: ArgumentHelp("Share of usage requests never answered (client timeout).", valueName: "rate"))
    var hangRate: Double = 0

    @Option(name: .long, help: ArgumentHelp("Share of usage requests answered 429 with Retry-After.", valueName: "rate"))
    var rateLimitRate: Double = 0

    @Option(name: .long, help: ArgumentHelp("Seconds announced in Retry-After.", valueName: "seconds"))
    var retryAfter: Int = 1

    @Option(
        name: .long,
        help: ArgumentHelp("Requests this soon after a 429 are not counted as Retry-After violations (they may have been in flight).", valueName: "seconds"))
    var retryAfterGrace: Double = 0.25

    @Flag(name: .long, help: "Answer rate limits with 503 instead of 429.")
    var rateLimitWith503 = false

    @Flag(name: .long, help: "Send rate limits without Retry-After or ratelimit-reset (the client picks its own wait).")
    var rateLimitWithoutHint = false

    @Option(
        name: .long,
        help: ArgumentHelp("Answer this usage request (1 = the first) 429 with --retry-after, without holding the others (repeatable).", valueName: "n"))
    var rateLimitRequest: [Int] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Answer this usage request (1 = the first) 200 {\"success\": false} with a \"retry later\" code (58730050, lock competition), changing nothing (repeatable).",
            valueName: "n"))
    var retryableAnswer: [Int] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Bill usage request n (1 = the first), then never answer it, as when a dispatcher is killed mid-request (repeatable).", valueName: "n"))
    var loseAnswer: [Int] = []

    @Option(name: .long, help: ArgumentHelp("Answer this token request (1 = the first) 429 with Retry-After: 1 (repeatable).", valueName: "n"))
    var rateLimitTokenRequest: [Int] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A Deduplicator on this field: a repeat of a value already accepted is discarded (not billed) and listed in the audit trail as the Deduplicator's error.",
            valueName: "field"))
    var deduplicateBy: String?

    @Flag(name: .long, help: "Report audit payloads as a meter that renamed its fields does (customer id, qty, event time, usage id).")
    var reshapeAuditPayloads = false

    @Flag(name: .long, help: "With --reshape-audit-payloads, leave the event id field out too (the entries then match nothing).")
    var auditPayloadDropsEventId = false

    @Flag(
        name: .long,
        help:
            "Ignore Idempotency-Key headers, as a tenant may on /usage/bulk (by default the first answer to a key is replayed for 24 h, 409 while in progress, 422 for another body)."
    )
    var ignoreIdempotencyKeys = false

    @Flag(name: .long, help: "Reject bad batches with 200 {\"success\": false} instead of 400.")
    var rejectWith200 = false

    @Option(name: .long, help: ArgumentHelp("Pad each rejection's reasons with this many bytes (a large error body).", valueName: "bytes"))
    var rejectionPadding: Int = 0

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Accept events whose CustomerId starts with this, then reject them in Mediation: they appear as ERROR entries of the meter's audit trail (for `outbox reconcile`).",
            valueName: "prefix"))
    var lateRejectPrefix: String?

    @Option(
        name: .customLong("meter-id"),
        help: ArgumentHelp("A numeric meter id for a meter global id, GLOBAL=ID, for the audit trail's URL (repeatable).", valueName: "global=id"))
    var meterID: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp("Every 200 says the quota is spent (RateLimit-Remaining: 0) for this many seconds (RateLimit-Reset).", valueName: "seconds"))
    var quotaExhaustedReset: Int?

    @Option(name: .long, help: ArgumentHelp("Delay before each usage answer.", valueName: "ms"))
    var delayMs: Int = 0

    @Flag(name: .long, help: "Answer every usage request 500, as if Zuora were down.")
    var down = false

    @Option(name: .long, help: ArgumentHelp("Append each accepted event to this NDJSON file.", valueName: "path"))
    var record: String?

    @Option(name: .long, help: ArgumentHelp("Seed for the fault dice, to replay a run.", valueName: "n"))
    var seed: UInt64?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        for (name, rate) in [("--failure-rate", failureRate), ("--drop-rate", dropRate), ("--hang-rate", hangRate), ("--rate-limit-rate", rateLimitRate)] {
            guard (0...1).contains(rate) else { throw ValidationError("\(name) must be between 0 and 1") }
        }
        guard failureRate + dropRate + hangRate + rateLimitRate <= 1 else { throw ValidationError("the fault rates add up to more than 1") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    }

    func run() async throws {
        try await reportingFailures {
            let logger = try logging.bootstrap(label: "outbox.mock-zuora")
            var configuration = MockConfiguration()
            configuration.tokenLifetimeSeconds = tokenLifetime.seconds
            configuration.tokenValidityFraction = tokenValidityFraction
            configuration.unknownMeters = Set(unknownMeter)
            configuration.knownMeters = knownMeter.isEmpty ? nil : Set(knownMeter)
            configuration.maxBodyBytes = maxBodyBytes
            configuration.failureRate = failureRate
            configuration.dropRate = dropRate
            configuration.hangRate = hangRate
            configuration.rateLimitRate = rateLimitRate
            configuration.retryAfterSeconds = retryAfter
            configuration.retryAfterGraceSeconds = retryAfterGrace
            configuration.delayMilliseconds = delayMs
            configuration.rateLimitWith503 = rateLimitWith503
            configuration.rateLimitWithoutHint = rateLimitWithoutHint
            configuration.scriptedRateLimits = Set(rateLimitRequest)
            configuration.scriptedRetryableAnswers = Set(retryableAnswer)
            configuration.scriptedLostAnswers = Set(loseAnswer)
            configuration.honourIdempotencyKeys = !ignoreIdempotencyKeys
            configuration.scriptedTokenRateLimits = Set(rateLimitTokenRequest)
            configuration.deduplicateBy = deduplicateBy
            configuration.reshapeAuditPayloads = reshapeAuditPayloads
            configuration.auditPayloadDropsEventId = auditPayloadDropsEventId
            configuration.rejectWith200 = rejectWith200
            configuration.rejectionPaddingBytes = rejectionPadding
            configuration.lateRejectPrefix = lateRejectPrefix
            configuration.quotaExhaustedResetSeconds = quotaExhaustedReset
            for pair in meterID {
                guard let (meter, id) = MeterIDs.parse(pair: pair) else {
                    throw CommandFailure("--meter-id \(pair) is not GLOBAL=ID with a numeric meter id", exitCode: Exit.usage)
                }
                configuration.meterIDs[meter] = id
            }
            configuration.down = down
            configuration.recordFile = record
            configuration.seed = seed
            let server: ZuoraMockServer
            do {
                server = try await ZuoraMockServer.start(configuration, host: host, port: port)
            } catch {
                throw CommandFailure("cannot listen on \(host):\(port): \(error)", hint: "pick another --port (0 chooses a free one)")
            }
            // The first line on stdout is the base URL, for scripts to read.
            Stdout.print(server.baseURL)
            logger.info("mock Zuora listening", metadata: ["base_url": "\(server.baseURL)", "client_id": "\(configuration.clientID)"])
            Stderr.print("mock Zuora on \(server.baseURL)  (client id \(configuration.clientID), client secret \(configuration.clientSecret); Ctrl-C stops it)")
            let group = ServiceGroup(services: [MockService(server: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }
}

struct MockService: Service {
    let server: ZuoraMockServer

    func run() async throws {
        try? await gracefulShutdown()
        await server.shutdown()
    }
}
