import Foundation
import Testing

@testable import OutboxCore
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
            let badRange = try CLI.run(
                ["drain", "--once", "--batch-size", "20000", "--db", db], environment: ["ZUORA_BASE_URL": "http://127.0.0.1:9", "ZUORA_BEARER_TOKEN": "t"])
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
            let (drain, _, stderr) = try CLI.start(
                ["drain", "--db", db, "--batch-size", "100", "--log-level", "error", "--metrics-port", "0"],
                environment: mock.environment)
            #expect(try waitFor { (try mock.statistics()["acceptedEvents"] as? Int ?? 0) >= 500 }, "the drain never got going")
            // The secret is in the environment only, never in the arguments.
            let arguments = commandLine(of: drain.processIdentifier)
            #expect(arguments.contains("drain"), "ps shows no drain: \(arguments)")
            #expect(!arguments.contains("mock-client-secret"))
            drain.terminate()  // SIGTERM
            #expect(waitFor(timeout: 10) { !drain.isRunning }, "drain did not stop within 10 s of SIGTERM")
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
            // Port 0: the system picks one, and the drain logs the URL it bound.
            let (drain, _, stderr) = try CLI.start(
                [
                    "drain", "--db", db, "--batch-size", "100", "--concurrency", "2", "--log-level", "notice",
                    "--metrics-port", "0",
                ], environment: mock.environment)
            defer {
                drain.terminate()
                drain.waitUntilExit()
            }
            let logs = PipeCollector(stderr)
            var url: String?
            #expect(
                waitFor {
                    url = logs.text.split(separator: "\n").first { $0.contains("serving Prometheus metrics") }
                        .flatMap { line in line.split(separator: " ").first { $0.hasPrefix("url=http://127.0.0.1:") } }
                        .map { String($0.dropFirst("url=".count)) }
                    return url != nil
                }, "no metrics URL in the log: \(logs.text)")
            let metricsURL = try #require(url)
            func scrape() -> String? { (try? LoopbackGET.fetch(metricsURL)).flatMap { $0.isEmpty ? nil : $0 } }
            func sent(_ text: String) -> Double {
                text.split(separator: "\n").first { $0.hasPrefix("outbox_events_sent_total ") }.flatMap { Double($0.split(separator: " ")[1]) } ?? 0
            }
            var first: String?
            #expect(
                waitFor {
                    first = scrape()
                    return first != nil
                })
            var second: String?
            #expect(
                waitFor {
                    second = scrape()
                    return second.map { sent($0) > sent(first ?? "") } ?? false
                }, "outbox_events_sent_total did not move")
            for name in [
                "outbox_requests_total{status_class=\"2xx\"}", "outbox_queue_depth_events{state=\"pending\"}", "outbox_request_duration_seconds_bucket",
                "outbox_batch_size_events_bucket", "outbox_oldest_pending_age_seconds",
            ] {
                #expect(second?.contains(name) == true, "no \(name) in /metrics")
            }
        }
    }

    @Test func aBusyMetricsPortIsAUsageErrorThatNamesIt() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let mock = try MockProcess()
            defer { mock.stop() }
            // The mock holds its port: a drain asking for the same one must say so.
            let port = try #require(URLComponents(string: mock.baseURL)?.port)
            let result = try CLI.run(["drain", "--once", "--db", db, "--metrics-port", "\(port)"], environment: mock.environment)
            #expect(result.status == 64)
            #expect(result.stderr.contains("--metrics-port \(port)") && result.stderr.contains("already in use"), "\(result.stderr)")
            #expect(!result.stderr.contains("errno"), "the raw bind error leaked: \(result.stderr)")
            // One or two lines, besides the drain's startup line.
            #expect(result.stderr.split(separator: "\n").filter { !$0.contains("starting") }.count <= 2, "\(result.stderr)")
        }
    }

    /// A 120 s Retry-After is no reason to outlive SIGTERM: the wait ends at
    /// once, the claimed events are given back, and the drain exits 0.
    @Test func sigtermEndsARateLimitWait() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(50)).status == 0)
            let mock = try MockProcess(["--rate-limit-rate", "1", "--retry-after", "120"])
            defer { mock.stop() }
            let (drain, _, stderr) = try CLI.start(["drain", "--db", db, "--log-level", "error"], environment: mock.environment)
            let logs = PipeCollector(stderr)
            #expect(try waitFor { (try mock.statistics()["rateLimited"] as? Int ?? 0) >= 1 }, "no rate-limited request")
            drain.terminate()
            #expect(waitFor(timeout: 10) { !drain.isRunning }, "drain still running 10 s after SIGTERM, in a 120 s Retry-After")
            if drain.isRunning { kill(drain.processIdentifier, SIGKILL) }
            drain.waitUntilExit()
            #expect(drain.terminationStatus == 0, "\(logs.text)")
            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(status["inflight"] as? Int == 0)
        }
    }

    /// `slow-producer | outbox append`: the input is read before the write
    /// lock is taken, so other writers (and the drain) go on meanwhile.
    @Test func aSlowProducerDoesNotLockOutOtherWriters() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["migrate", "--db", db]).status == 0)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["append", "--meter", "m", "--db", db, "--json"]
            process.environment = ["PATH": "/usr/bin:/bin"]
            let input = Pipe(), output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let lines = ndjson(2, prefix: "slow").split(separator: "\n").map { String($0) + "\n" }
            input.fileHandleForWriting.write(Data(lines[0].utf8))
            // The producer stalls. Another writer must get through at once,
            // long before the busy timeout (200 ms here) would fail it.
            let other = try CLI.run(["append", "--meter", "m", "--db", db, "--busy-timeout", "200"], stdin: ndjson(3, prefix: "quick"))
            #expect(other.status == 0, "\(other.stderr)")
            #expect(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout)?["pending"] as? Int == 3)
            // So does a drain: its claims and marks are writes too.
            let mock = try MockProcess()
            defer { mock.stop() }
            let drained = try CLI.run(
                ["drain", "--once", "--max-time", "30", "--busy-timeout", "200", "--json", "--db", db, "--log-level", "error"],
                environment: mock.environment)
            #expect(drained.status == 0, "\(drained.stderr)")
            #expect(CLI.json(drained.stdout)?["sent"] as? Int == 3)
            // The producer finishes; its append lands whole.
            input.fileHandleForWriting.write(Data(lines[1].utf8))
            try input.fileHandleForWriting.close()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(CLI.json(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))?["appended"] as? Int == 2)
            #expect(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout)?["pending"] as? Int == 2)
        }
    }

    @Test func aBaseURLWithCredentialsIsRefusedWithoutShowingThem() throws {
        try withTemporaryDirectory { dir in
            let result = try CLI.run(
                ["drain", "--once", "--db", dir + "/o.sqlite"],
                environment: ["ZUORA_BASE_URL": "https://ops:hunter2@rest.zuora.com", "ZUORA_BEARER_TOKEN": "t"])
            #expect(result.status == 64)
            #expect(result.stderr.contains("credentials") && !result.stderr.contains("hunter2"), "\(result.stderr)")
        }
    }

    @Test func demoRunsEndToEnd() throws {
        try withTemporaryDirectory { dir in
            let result = try CLI.run(["demo", "--db", dir + "/demo.sqlite", "--events", "1200"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("dead letters"))
            #expect(result.stdout.contains("Try next"))
            #expect(result.stdout.contains("0 duplicates"))
            #expect(result.stdout.contains("1 event moved from sent to dead letters"), "the demo shows a rejection after the 200")
        }
    }
}
