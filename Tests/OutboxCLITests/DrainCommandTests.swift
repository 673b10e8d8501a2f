import Foundation
import Testing
@testable import UsageOutbox

/// `outbox drain` against `outbox mock-zuora`, both as real processes.
@Suite(.serialized) struct DrainCommandTests {
    @Test func refusesToStartWithoutBaseURLOrCredentials() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let noURL = try CLI.run(["drain", "--once", "--db", db], environment: ["ZUORA_BEARER_TOKEN": "t"])
            #expect(noURL.status == 64)
            #expect(noURL.stderr.contains("ZUORA_BASE_URL"))
            let noCredentials = try CLI.run(["drain", "--once", "--db", db], environment: ["ZUORA_BASE_URL": "http://127.0.0.1:9"])
            #expect(noCredentials.status == 64)
            #expect(noCredentials.stderr.contains("ZUORA_CLIENT_ID"))
            let insecure = try CLI.run(["drain", "--once", "--db", db], environment: ["ZUORA_BASE_URL": "http://example.com", "ZUORA_BEARER_TOKEN": "t"])
            #expect(insecure.status == 64)
            #expect(insecure.stderr.contains("plain http://"))
            let badRange = try CLI.run(["drain", "--once", "--batch-size", "20000", "--db", db], environment: ["ZUORA_BASE_URL": "http://127.0.0.1:9", "ZUORA_BEARER_TOKEN": "t"])
            #expect(badRange.status == 64)
            #expect(badRange.stderr.contains("--batch-size"))
        }
    }

    @Test func drainsAHundredThousandEventsAcrossMetersEachAcceptedOnce() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let meters = ["api-calls", "storage", "seats", "egress"]
            for meter in meters {
                try ndjson(25_000, prefix: meter).write(toFile: dir + "/\(meter).ndjson", atomically: true, encoding: .utf8)
                let appended = try CLI.run(["append", "--meter", meter, "--file", dir + "/\(meter).ndjson", "--db", db])
                #expect(appended.status == 0, "\(appended.stderr)")
            }
            let mock = try MockProcess()
            defer { mock.stop() }
            let drained = try CLI.run(["drain", "--once", "--json", "--db", db, "--log-level", "warning"], environment: mock.environment)
            #expect(drained.status == 0, "\(drained.stderr)")
            let summary = try #require(CLI.json(drained.stdout))
            #expect(summary["sent"] as? Int == 100_000)
            #expect(summary["dead"] as? Int == 0)
            #expect(summary["remaining"] as? Int == 0)
            #expect((summary["requests"] as? Int ?? 0) >= 100)
            let stats = try mock.statistics()
            #expect(stats["acceptedEvents"] as? Int == 100_000)
            #expect(stats["duplicateEvents"] as? Int == 0)
            #expect(stats["tokenRequests"] as? Int == 1)
            let verify = try CLI.run(["verify", "--db", db])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
    }

    @Test func exits75WhenEventsRemainAtMaxTime() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(10)).status == 0)
            let mock = try MockProcess(["--down"])
            defer { mock.stop() }
            let result = try CLI.run(["drain", "--once", "--max-time", "1", "--json", "--db", db, "--log-level", "error"], environment: mock.environment)
            #expect(result.status == 75)
            #expect(CLI.json(result.stdout)?["remaining"] as? Int == 10)
            #expect(result.stderr.contains("remaining 10"))
        }
    }

    @Test func poisonEventsBecomeDeadLettersTheOperatorCanReadAndRetry() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            var lines = ndjson(300).split(separator: "\n").map(String.init)
            lines[42] = #"{"CustomerId":"INVALID-42","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
            lines[250] = #"{"CustomerId":"C-250","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":-5}"#
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: lines.joined(separator: "\n")).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            let drained = try CLI.run(["drain", "--once", "--json", "--db", db, "--log-level", "error"], environment: mock.environment)
            #expect(drained.status == 0)
            #expect(CLI.json(drained.stdout)?["dead"] as? Int == 2)

            let list = try CLI.run(["dead-letters", "list", "--json", "--db", db])
            let letters = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
            #expect(letters.count == 2)
            for letter in letters {
                for key in ["id", "meter", "event", "status", "reason", "attempts", "dead_at"] { #expect(letter[key] != nil, "missing \(key)") }
                #expect(letter["status"] as? Int == 400)
                #expect(letter["event"] is [String: Any], "the original event is embedded as JSON")
            }
            let id = try #require(letters.first?["id"] as? String)
            let show = try CLI.run(["dead-letters", "show", id, "--json", "--db", db])
            let shown = try #require(CLI.json(show.stdout))
            #expect((shown["response_body"] as? String)?.contains("\"success\":false") == true)
            #expect((shown["track_id"] as? String)?.isEmpty == false)

            let table = try CLI.run(["dead-letters", "list", "--db", db])
            #expect(table.stdout.contains("CUSTOMER") && table.stdout.contains("INVALID-42"))
            // Zuora's long reasons are cut to the column, visibly.
            #expect(table.stdout.components(separatedBy: "\n").dropFirst().allSatisfy { $0.count < 200 })
            #expect(table.stdout.contains("…"))

            // Unknown ids: an error that changes nothing.
            let unknown = try CLI.run(["dead-letters", "retry", id, "no-such-id", "--db", db])
            #expect(unknown.status == 65)
            #expect(unknown.stderr.contains("no-such-id"))
            #expect(try CLI.run(["dead-letters", "purge", "no-such-id", "--db", db]).status == 65)
            #expect(try CLI.run(["dead-letters", "show", "no-such-id", "--db", db]).status == 65)
            #expect(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout)?["dead"] as? Int == 2)

            let retried = try CLI.run(["dead-letters", "retry", id, "--json", "--db", db])
            #expect(CLI.json(retried.stdout)?["retried"] as? Int == 1)
            let exported = try CLI.run(["dead-letters", "export", "--db", db])
            #expect(exported.stdout.split(separator: "\n").count == 1)
            let purged = try CLI.run(["dead-letters", "purge", "--all", "--json", "--db", db])
            #expect(CLI.json(purged.stdout)?["purged"] as? Int == 1)
            #expect(try CLI.run(["verify", "--db", db]).status == 0)
        }
    }

    @Test func sigtermStopsADrainGracefullyWithNothingLeftClaimed() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(20_000)).status == 0)
            let mock = try MockProcess(["--delay-ms", "100"])
            defer { mock.stop() }
            let (drain, _, stderr) = try CLI.start(["drain", "--db", db, "--batch-size", "100", "--log-level", "error", "--metrics-port", "0"],
                                                   environment: mock.environment)
            Thread.sleep(forTimeInterval: 1.5)
            // The secret is in the environment only, never in the arguments.
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(drain.processIdentifier)/cmdline"))) ?? Data()
            #expect(!cmdline.isEmpty)
            #expect(cmdline.range(of: Data("mock-client-secret".utf8)) == nil)
            drain.terminate()  // SIGTERM
            let deadline = Date().addingTimeInterval(10)
            while drain.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            #expect(!drain.isRunning, "drain did not stop within 10 s of SIGTERM")
            #expect(drain.terminationStatus == 0)
            let errors = String(decoding: stderr.readDataToEndOfFile(), as: UTF8.self)
            #expect(errors.contains("drain: sent"))
            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(status["inflight"] as? Int == 0)
            let sent = status["sent"] as? Int ?? -1
            #expect(sent > 0 && sent < 20_000)
            #expect(try mock.statistics()["acceptedEvents"] as? Int == sent)
        }
    }

    @Test func metricsEndpointShowsCountersMovingDuringADrain() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(20_000)).status == 0)
            let mock = try MockProcess(["--delay-ms", "50"])
            defer { mock.stop() }
            let port = 20_000 + Int(getpid() % 20_000)
            let (drain, _, _) = try CLI.start(["drain", "--db", db, "--batch-size", "100", "--concurrency", "2", "--log-level", "error", "--metrics-port", "\(port)"],
                                              environment: mock.environment)
            defer { drain.terminate(); drain.waitUntilExit() }
            func scrape() throws -> String {
                for _ in 0..<50 {
                    if let text = try? LoopbackGET.fetch("http://127.0.0.1:\(port)/metrics"), !text.isEmpty { return text }
                    Thread.sleep(forTimeInterval: 0.1)
                }
                throw CancellationError()
            }
            func sent(_ text: String) -> Double {
                text.split(separator: "\n").first { $0.hasPrefix("outbox_events_sent_total ") }.flatMap { Double($0.split(separator: " ")[1]) } ?? 0
            }
            let first = try scrape()
            Thread.sleep(forTimeInterval: 1)
            let second = try scrape()
            #expect(sent(second) > sent(first), "outbox_events_sent_total did not move")
            for name in ["outbox_requests_total{status_class=\"2xx\"}", "outbox_queue_depth_events{state=\"pending\"}", "outbox_request_duration_seconds_bucket", "outbox_batch_size_events_bucket", "outbox_oldest_pending_age_seconds"] {
                #expect(second.contains(name), "no \(name) in /metrics")
            }
        }
    }

    @Test func demoRunsEndToEnd() throws {
        try withTemporaryDirectory { dir in
            let result = try CLI.run(["demo", "--db", dir + "/demo.sqlite", "--events", "1200"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("dead letters"))
            #expect(result.stdout.contains("Try next"))
            #expect(result.stdout.contains("0 duplicates"))
        }
    }
}
