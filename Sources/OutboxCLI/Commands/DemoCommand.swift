import ArgumentParser
import Foundation
import Logging
import OutboxDispatcher
import UsageOutbox
import ZuoraMock

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "See the whole product work in one command, with no Zuora account: append, drain to a built-in mock, dead letters.",
        discussion:
            "It starts the Zuora mock on a loopback port, appends sample usage events (a few of them bad), drains them, and shows the status and the dead letters, then what to try next."
    )

    @Option(name: .long, help: "How many sample events to append.")
    var events: Int = 3000

    @Option(name: .long, help: ArgumentHelp("Outbox file for the demo (default: a new one under the temporary directory).", valueName: "path"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("Log level for the dispatcher's own logs (info shows every request).", valueName: "level"))
    var logLevel: Logger.Level = .error

    static let meters = ["api-calls", "storage-gb", "active-seats"]
    /// The mock's numeric meter ids, for reading the audit trails.
    static let meterIDs: [String: Int64] = ["api-calls": 101, "storage-gb": 102, "active-seats": 103]
    static let lateCustomer = "LATE-REJECTED-42"
    static let rejectedEvery = 599

    func validate() throws {
        guard (10...1_000_000).contains(events) else { throw ValidationError("--events must be between 10 and 1000000") }
    }

    func run() async throws {
        try await reportingFailures {
            let logger = LoggingOptions.bootstrap(level: logLevel, format: .text, label: "outbox.demo")
            let path = db ?? DemoCommand.freshPath()
            var mockConfiguration = MockConfiguration()
            // Mediation rejects this customer after the 200: reconcile finds it.
            mockConfiguration.lateRejectPrefix = DemoCommand.lateCustomer
            mockConfiguration.meterIDs = DemoCommand.meterIDs
            // The meters de-duplicate by EventId, as a Deduplicator processor would.
            mockConfiguration.deduplicateBy = "EventId"
            let mock = try await ZuoraMockServer.start(mockConfiguration)
            defer { Task { await mock.shutdown() } }
            say(
                """
                outbox demo: usage events from an app into Zuora, with nothing lost.

                1. A Zuora mock is listening on \(mock.baseURL) (OAuth and /usage/bulk/{meter}, like Zuora's).
                   The outbox is an SQLite file: \(path)
                """)
            let outbox = try Outbox(OutboxConfiguration(path: path, eventIdField: "EventId"))
            defer { outbox.close() }

            // Validation first: a bad event is refused before anything is written.
            do {
                try await outbox.append(
                    json: #"{"CustomerId":"A-1","UsageIdentifier":"api-calls","UsageDate":"2026-02-30T10:00:00Z","Quantity":"three"}"#, meter: "api-calls")
            } catch let error as OutboxError {
                say(
                    """

                    2. Appends are validated, all or nothing. This one is refused and nothing is written:
                         \(error.problems.first?.description ?? error.message)
                    """)
            }
            let perMeter = DemoCommand.sampleEvents(total: events)
            var rejected = 0
            for (meter, texts) in perMeter {
                try await outbox.append(jsonEvents: texts.map(\.text), meter: meter)
                rejected += texts.filter(\.willBeRejected).count
            }
            // One event Zuora will accept with a 200 and reject afterwards.
            let late = UsageEvent(
                customerId: DemoCommand.lateCustomer, usageIdentifier: "api-calls",
                usageDate: UsageEvent.usageDate(unixMilliseconds: WallClock.nowMilliseconds()), quantity: 7,
                fields: ["region": "eu-west-1", "source": "demo"])
            try await outbox.append(late, meter: "api-calls")
            say(
                """
                   Appended \(events + 1) events across \(DemoCommand.meters.count) meters; each is on disk (fsynced) when append returns.
                   \(rejected) of them break a rule Zuora checks that the outbox cannot (a negative quantity,
                   an unknown customer): watch what happens to them.

                3. Draining to Zuora in batches of 1,000 (gzip, 4 requests in flight)...
                """)
            var settings = DispatcherConfiguration(
                baseURL: mock.baseURL,
                credentials: .oauth(clientID: "mock-client-id", clientSecret: Secret("mock-client-secret")),
                logger: logger)
            settings.backoff = BackoffPolicy(base: .milliseconds(200), cap: .seconds(2))
            let dispatcher = try Dispatcher(outbox: outbox, configuration: settings)
            let started = ContinuousClock.now
            let summary = try await DrainRunner(dispatcher: dispatcher, outbox: outbox, logger: logger, metricsPort: nil, purgeSentAfter: nil, reconcile: nil)
                .run(once: true, maxTime: .seconds(120), showProgress: true)
            let seconds = max(started.duration(to: .now).seconds, 0.001)
            let stats = mock.statistics
            say(
                """
                   Sent \(summary.sent) events in \(summary.requests) requests (\(String(format: "%.1f", seconds))s). Zuora rejected some batches with
                   a 400 that does not say which event was bad, so the dispatcher split those batches in halves
                   until each bad event stood alone: \(summary.dead) dead letters, every other event accepted once
                   (the mock counted \(stats.acceptedEvents) accepted, \(stats.duplicateEvents) duplicates).

                4. An answer that never arrives: 5 more events go out, Zuora bills them, but the answer is
                   lost (the request times out, as when a drain is killed with its batch on the wire).
                """)
            let lost = try await DemoCommand.loseAnAnswer(outbox: outbox, mock: mock, settings: settings)
            say(
                """
                   The dispatcher could not know, so it sent them again: the meter's Deduplicator discarded the
                   \(lost) copies (the mock billed \(mock.statistics.acceptedEvents - stats.acceptedEvents) events, not \(5 + lost)), and listed each copy as an error.

                5. outbox reconcile
                   A 200 only says the request passed Zuora's API checks; Mediation validates each event
                   afterwards and lists the failures in the meter's audit trail. Reconcile reads it:
                """)
            let reconciler = try Reconciler(store: outbox, configuration: settings, meterIDs: DemoCommand.meterIDs, eventIdField: "EventId")
            let reconciled = try await reconciler.run(since: .seconds(3600))
            say(
                """
                   \(reconciled.totals.entries) audit trail entries read: \(reconciled.totals.lateRejected) event moved from sent to dead letters
                   (customer \(DemoCommand.lateCustomer): accepted with a 200, rejected by Mediation afterwards), and
                   \(reconciled.totals.duplicatesDiscarded) discarded duplicates left as they are: their events were billed once, and stay sent.

                6. outbox status
                """)
            let status = try await outbox.status()
            say(indent(StatusReport.text(status, path: path, now: WallClock.nowMilliseconds())))
            let letters = try await outbox.deadLetters(limit: 6)
            say("\n7. outbox dead-letters list")
            let rows = letters.map { letter in
                [
                    letter.id, letter.meter, DeadLettersCommand.customer(of: letter.event), letter.status.map(String.init) ?? "-",
                    Table.cell(letter.reason, width: 60),
                ]
            }
            say(indent(Table.render(header: ["ID", "METER", "CUSTOMER", "STATUS", "REASON"], rows: rows).joined(separator: "\n")))
            if let first = letters.first {
                say(
                    """

                       The event, exactly as appended, with Zuora's answer:
                         \(first.event)
                         \(first.responseBody ?? "")

                    Try next:
                      outbox status --db \(path)
                      outbox dead-letters show \(first.id) --db \(path)
                      outbox dead-letters retry --all --db \(path)     # after fixing the cause
                      outbox verify --db \(path)                       # proves nothing was lost
                    Then point it at your tenant: export ZUORA_BASE_URL, ZUORA_CLIENT_ID and
                    ZUORA_CLIENT_SECRET and run `outbox drain --reconcile-every 1h --meter-id METER=ID`.
                    The README covers embedding the outbox in an app.
                    """)
            }
            let report = try await outbox.verify()
            if !report.isOK {
                throw CommandFailure("the demo's outbox does not add up: \(report.meters.flatMap(\.problems).joined(separator: "; "))")
            }
        }
    }

    /// Appends 5 events and drains them against a Zuora that bills the first
    /// request and never answers it; returns how many copies its
    /// Deduplicator discarded.
    static func loseAnAnswer(outbox: Outbox, mock: ZuoraMockServer, settings: DispatcherConfiguration) async throws -> Int {
        let now = WallClock.nowMilliseconds()
        let events = (0..<5).map {
            UsageEvent(
                customerId: "A-\(2000 + $0)", usageIdentifier: "api-calls", usageDate: UsageEvent.usageDate(unixMilliseconds: now), quantity: 1)
        }
        try await outbox.append(jsonEvents: events.map(\.jsonText), meter: "api-calls")
        let before = mock.statistics
        // Zuora bills the next request and its answer never comes.
        mock.update { $0.scriptedLostAnswers = [before.usageRequests + 1] }
        var impatient = settings
        impatient.requestTimeout = .seconds(1)
        impatient.lease = .seconds(5)
        let dispatcher = try Dispatcher(outbox: outbox, configuration: impatient)
        _ = try await dispatcher.drainOnce(maxTime: .seconds(60))
        return mock.statistics.duplicatesDiscarded - before.duplicatesDiscarded
    }

    private func say(_ text: String) { Stdout.print(text) }

    private func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "   " + $0 }.joined(separator: "\n")
    }

    static func freshPath() -> String {
        let directory = NSTemporaryDirectory() + "outbox-demo-\(getpid())-\(Int(Date().timeIntervalSince1970))"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/outbox.sqlite"
    }

    /// Realistic events: customers, dates over the last day, extra fields
    /// forwarded as they are; every `rejectedEvery`-th one breaks a rule of
    /// the meter (negative quantity, or a customer Zuora does not know).
    static func sampleEvents(total: Int) -> [(String, [(text: String, willBeRejected: Bool)])] {
        var generator = SystemRandomNumberGenerator()
        let now = WallClock.nowMilliseconds()
        var byMeter: [String: [(text: String, willBeRejected: Bool)]] = [:]
        for index in 0..<total {
            let meter = meters[index % meters.count]
            let bad = index % rejectedEvery == rejectedEvery / 2
            let customer = bad && index % 2 == 0 ? "INVALID-\(index)" : "A-\(1000 + index % 250)"
            let quantity: Double = bad && index % 2 == 1 ? -1 : Double(Int.random(in: 1...500, using: &generator))
            let event = UsageEvent(
                customerId: customer, usageIdentifier: meter,
                usageDate: UsageEvent.usageDate(unixMilliseconds: now - Int64(Int.random(in: 0..<86_400_000, using: &generator))),
                quantity: quantity, fields: ["region": .string(["eu-west-1", "us-east-1"][index % 2]), "source": "demo"])
            byMeter[meter, default: []].append((event.jsonText, bad))
        }
        return meters.compactMap { meter in byMeter[meter].map { (meter, $0) } }
    }
}
