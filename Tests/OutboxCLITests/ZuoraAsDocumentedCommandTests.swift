import Foundation
import Testing

/// Zuora as its documentation describes it, through the binary against
/// `outbox mock-zuora`: a Deduplicator's discards, reshaped audit payloads,
/// "retry later" codes, token rate limits, request ids and shared budgets.
@Suite(.serialized) struct ZuoraAsDocumentedCommandTests {
    /// A drain killed while its request is on the wire; Zuora billed the
    /// batch; the next drain sends it again and the meter's Deduplicator
    /// discards the copies. Reconcile leaves every event `sent`.
    @Test func aResendAfterAKillIsDiscardedAndEveryEventStaysSent() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db, "--event-id-field", "EventId"], stdin: ndjson(10)).status == 0)
            // A tenant that ignores idempotency keys: the re-send is billed again.
            let mock = try MockProcess(["--deduplicate-by", "EventId", "--lose-answer", "1", "--meter-id", "m=101", "--ignore-idempotency-keys"])
            defer { mock.stop() }
            let (killed, _, _) = try CLI.start(
                ["drain", "--once", "--db", db, "--request-timeout", "5s", "--lease", "6s", "--log-level", "error"], environment: mock.environment)
            #expect(try waitFor { try mock.statistics()["lostAnswers"] as? Int == 1 }, "the first request was billed")
            kill(killed.processIdentifier, SIGKILL)
            killed.waitUntilExit()
            #expect(killed.terminationReason == .uncaughtSignal)
            // The rows come back when the killed drain's lease lapses.
            #expect(
                try waitFor {
                    _ = try CLI.run(["drain", "--once", "--db", db, "--log-level", "error"], environment: mock.environment)
                    return CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout)?["sent"] as? Int == 10
                })
            let stats = try mock.statistics()
            #expect(stats["acceptedEvents"] as? Int == 10 && stats["duplicatesDiscarded"] as? Int == 10, "\(stats)")
            let reconciled = try CLI.run(
                ["reconcile", "--json", "--db", db, "--event-id-field", "EventId", "--log-level", "error"],
                environment: mock.environment.merging(["OUTBOX_METER_IDS": "m=101"]) { $1 })
            #expect(reconciled.status == 0, "\(reconciled.stderr)")
            let report = try #require(CLI.json(reconciled.stdout))
            #expect(report["duplicates_discarded"] as? Int == 10 && report["late_rejected"] as? Int == 0 && report["unmatched"] as? Int == 0, "\(report)")
            #expect((report["meters"] as? [String: [String: Any]])?["m"]?["duplicates_discarded"] as? Int == 10)
            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(status["sent"] as? Int == 10 && status["dead"] as? Int == 0, "\(status)")
            // Remembered: a second run counts nothing again.
            let again = try CLI.run(
                ["reconcile", "--json", "--db", db, "--log-level", "error"], environment: mock.environment.merging(["OUTBOX_METER_IDS": "m=101"]) { $1 })
            #expect(CLI.json(again.stdout)?["duplicates_discarded"] as? Int == 0)
            #expect(try CLI.run(["verify", "--db", db]).status == 0)
        }
    }

    /// A meter that renames its fields: matched by the event id field when
    /// it survives; listed as unmatched, and left alone, when it does not.
    @Test(arguments: [false, true])
    func reshapedAuditPayloads(dropEventID: Bool) throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let events = ReconcileCommandTests.events(6, late: [1, 3, 5])
            #expect(try CLI.run(["append", "--meter", "m", "--db", db, "--event-id-field", "EventId"], stdin: events).status == 0)
            let mock = try MockProcess(
                ["--late-reject-prefix", "LATE", "--reshape-audit-payloads", "--meter-id", "m=101"] + (dropEventID ? ["--audit-payload-drops-event-id"] : []))
            defer { mock.stop() }
            #expect(try CLI.run(["drain", "--once", "--db", db, "--log-level", "error"], environment: mock.environment).status == 0)
            let reconciled = try CLI.run(
                ["reconcile", "--json", "--db", db, "--event-id-field", "EventId", "--log-level", "warning"],
                environment: mock.environment.merging(["OUTBOX_METER_IDS": "m=101"]) { $1 })
            #expect(reconciled.status == 0, "\(reconciled.stderr)")
            let report = try #require(CLI.json(reconciled.stdout))
            let unmatched = report["unmatched_entries"] as? [[String: Any]] ?? []
            if dropEventID {
                #expect(report["late_rejected"] as? Int == 0 && report["unmatched"] as? Int == 3, "\(report)")
                #expect(unmatched.count == 3)
                for entry in unmatched {
                    for key in ["meter", "trace_id", "error_code", "error_message", "operator_type", "payload"] {
                        #expect(entry[key] != nil, "an unmatched entry lacks \(key)")
                    }
                    #expect(entry["meter"] as? String == "m")
                    #expect((entry["payload"] as? [String: Any])?["customer id"] as? String != nil, "the payload as Zuora reported it")
                }
                #expect(reconciled.stderr.contains("matches no sent event"), "each unmatched entry is logged: \(reconciled.stderr)")
                #expect(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout)?["sent"] as? Int == 6, "nothing is guessed")
            } else {
                #expect(report["late_rejected"] as? Int == 3 && report["unmatched"] as? Int == 0 && unmatched.isEmpty, "\(report)")
                let letters = CLI.jsonArray(try CLI.run(["dead-letters", "list", "--json", "--db", db]).stdout)
                #expect(letters.count == 3)
                #expect(letters.allSatisfy { (($0["event"] as? [String: Any])?["CustomerId"] as? String)?.hasPrefix("LATE") == true })
                #expect(letters.allSatisfy { $0["request_id"] is NSNull }, "a late rejection has no request of its own")
            }
        }
    }

    /// "Retry later" codes and token 429s with `--max-attempts 1`: every
    /// event sent, nothing split, nothing dead.
    @Test func retryLaterAnswersAndTokenRateLimitsKillNothing() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(100)).status == 0)
            let mock = try MockProcess(
                ["--retryable-answer", "1", "--retryable-answer", "2", "--rate-limit-token-request", "1", "--rate-limit-token-request", "2"])
            defer { mock.stop() }
            let drained = try CLI.run(
                ["drain", "--once", "--json", "--db", db, "--max-attempts", "1", "--batch-size", "100", "--log-level", "error"],
                environment: mock.environment)
            #expect(drained.status == 0, "\(drained.stderr)")
            let summary = try #require(CLI.json(drained.stdout))
            #expect(summary["sent"] as? Int == 100 && summary["dead"] as? Int == 0, "\(summary)")
            let stats = try mock.statistics()
            #expect(stats["tokenRateLimited"] as? Int == 2 && stats["retryableAnswers"] as? Int == 2, "\(stats)")
            #expect(stats["largestBatch"] as? Int == 100, "a retry-later answer does not split the batch")
        }
    }

    /// A dead letter keeps the `Zuora-Request-Id` of the answer that made
    /// it, and the `processId` of its body.
    @Test func deadLettersKeepTheRequestID() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            // The mock's meter rejects a negative quantity.
            let events = ndjson(3) + #"{"CustomerId":"C-9","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":-1}"# + "\n"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: events).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            #expect(try CLI.run(["drain", "--once", "--db", db, "--log-level", "error"], environment: mock.environment).status == 0)
            let letters = CLI.jsonArray(try CLI.run(["dead-letters", "list", "--json", "--db", db]).stdout)
            let letter = try #require(letters.first)
            let requestID = try #require(letter["request_id"] as? String)
            #expect(!requestID.isEmpty)
            let id = try #require(letter["id"] as? String)
            let shown = try #require(CLI.json(try CLI.run(["dead-letters", "show", id, "--json", "--db", db]).stdout))
            #expect(shown["request_id"] as? String == requestID)
            #expect((shown["process_id"] as? String)?.isEmpty == false, "\(shown)")
            let text = try CLI.run(["dead-letters", "show", id, "--db", db]).stdout
            #expect(text.contains(requestID))
        }
    }

    /// The budgets are shared through the database: a spent per-minute
    /// budget is waited out, and `status` says which budget holds the meter.
    @Test func statusNamesTheBudgetThatHoldsAMeterBack() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(5)).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            let drained = try CLI.run(
                [
                    "drain", "--once", "--json", "--db", db, "--batch-size", "1", "--max-requests-per-minute", "2", "--max-time", "2",
                    "--log-level", "error",
                ], environment: mock.environment)
            #expect(CLI.json(drained.stdout)?["sent"] as? Int == 2, "\(drained.stdout) \(drained.stderr)")
            #expect(try mock.statistics()["usageRequests"] as? Int == 2, "no 60 s window holds more than 2")
            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(((status["meters"] as? [String: [String: Any]])?["m"]?["held_back_by"]) as? String == "per-minute", "\(status)")
            let holds = status["held_back_by"] as? [[String: Any]] ?? []
            #expect(holds.first?["budget"] as? String == "per-minute" && holds.first?["until"] is String)
            // Another process gets nothing from the spent window either.
            let second = try CLI.run(
                [
                    "drain", "--once", "--json", "--db", db, "--batch-size", "1", "--max-requests-per-minute", "2", "--max-time", "1",
                    "--log-level", "error",
                ], environment: mock.environment)
            #expect(CLI.json(second.stdout)?["sent"] as? Int == 0, "\(second.stdout)")
            #expect(try CLI.run(["status", "--db", db]).stdout.contains("per-minute"))
        }
    }

    /// Every window that applies is printed, with where it came from.
    @Test(arguments: [
        ("https://rest.apisandbox.zuora.com", "10000"), ("https://rest.test.ap.zuora.com", "50000"), ("https://rest.ap.zuora.com", nil),
    ])
    func configShowPrintsEveryWindow(baseURL: String, dailyCap: String?) throws {
        try withTemporaryDirectory { dir in
            let shown = try #require(
                CLI.json(try CLI.run(["config", "show", "--json", "--db", dir + "/o.sqlite"], environment: ["ZUORA_BASE_URL": baseURL]).stdout))
            for key in ["max-requests-per-minute", "max-requests-per-hour", "max-requests-per-day", "max-concurrent-requests"] {
                #expect(shown[key] != nil, "config show lacks \(key)")
            }
            #expect((shown["zuora-environment"] as? [String: String])?["source"] == "inferred", "\(baseURL) is a known host")
            let day = (shown["max-requests-per-day"] as? [String: String])?["value"]
            if let dailyCap { #expect(day?.hasPrefix(dailyCap) == true, "\(String(describing: day))") }
            #expect((shown["max-concurrent-requests"] as? [String: String])?["value"]?.hasPrefix("40") == true)
            let text = try CLI.run(["config", "show", "--db", dir + "/o.sqlite"], environment: ["ZUORA_BASE_URL": baseURL]).stdout
            #expect(text.contains("max-requests-per-day") && text.contains("max-concurrent-requests"))
        }
    }
}
