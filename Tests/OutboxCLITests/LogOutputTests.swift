import Foundation
import Testing

/// Logs for machines: JSON values keep their types, a running drain logs a
/// summary at info and a line per request only at debug, and with JSON
/// logs its final summary is a JSON line too.
@Suite(.serialized) struct LogOutputTests {
    static func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").map { line in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            return object ?? [:]
        }
    }

    /// A JSON number that is a whole number (not a string holding one).
    static func integer(_ value: Any?) -> Int? {
        guard !(value is String) else { return nil }
        return value as? Int
    }

    @Test func aRunningDrainLogsTypedSummariesAndEndsWithAJSONSummary() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(20)).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            let (drain, _, stderr) = try CLI.start(
                ["drain", "--db", db, "--log-format", "json", "--log-summary-every", "1s", "--batch-size", "5"], environment: mock.environment)
            let logs = PipeCollector(stderr)
            // Until the summaries account for every event: on a loaded
            // machine the first interval may hold only some of them.
            let summarized = waitFor {
                Self.jsonLines(logs.text).filter { $0["message"] as? String == "delivered" }.compactMap { Self.integer($0["sent"]) }.reduce(0, +) == 20
            }
            kill(drain.processIdentifier, SIGTERM)
            drain.waitUntilExit()
            #expect(summarized, "no summary line: \(logs.text)")
            #expect(drain.terminationStatus == 0)
            let lines = Self.jsonLines(logs.text)
            let summaries = lines.filter { $0["message"] as? String == "delivered" }
            #expect(summaries.allSatisfy { Self.integer($0["sent"]) != nil && Self.integer($0["requests"]) != nil }, "\(summaries)")
            #expect(summaries.compactMap { Self.integer($0["sent"]) }.reduce(0, +) == 20, "\(summaries)")
            #expect(!lines.contains { $0["message"] as? String == "usage request" }, "a line per request is for debug level")
            let finished = try #require(lines.last { $0["message"] as? String == "drain finished" }, "\(logs.text)")
            #expect(Self.integer(finished["sent"]) == 20 && Self.integer(finished["remaining"]) == 0, "\(finished)")
            #expect(finished["elapsed_s"] is NSNumber)
            #expect(!logs.text.contains("drain: sent"), "the text summary is for text logs")
        }
    }

    @Test func atDebugLevelEachRequestHasALineWithANumericStatus() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(6)).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            let result = try CLI.run(
                ["drain", "--once", "--db", db, "--log-format", "json", "--log-level", "debug", "--batch-size", "3"], environment: mock.environment)
            #expect(result.status == 0, "\(result.stderr)")
            let requests = Self.jsonLines(result.stderr).filter { $0["message"] as? String == "usage request" }
            #expect(requests.count == 2, "\(result.stderr)")
            #expect(requests.allSatisfy { (200..<300).contains(Self.integer($0["status"]) ?? 0) && Self.integer($0["events"]) == 3 }, "\(requests)")
        }
    }

    @Test func theConfigFileKeysAreListedWithTheirMeaning() throws {
        let text = try CLI.run(["config", "show", "--keys"])
        #expect(text.status == 0)
        for key in ["db", "lease", "log-summary-every", "metrics-address", "meter-ids", "idempotency-keys"] {
            #expect(text.stdout.contains("\n\(key) (") || text.stdout.hasPrefix("\(key) ("), "\(key) is not listed")
        }
        let json = try CLI.run(["config", "show", "--keys", "--json"])
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(keys.count >= 30 && keys.allSatisfy { ($0["meaning"] as? String)?.isEmpty == false })
        // Each listed key is one the config file accepts.
        try withTemporaryDirectory { dir in
            let names = keys.compactMap { $0["key"] as? String }
            try #"{"lease": "90s", "log-summary-every": "0s"}"#.write(toFile: dir + "/c.json", atomically: true, encoding: .utf8)
            let shown = try CLI.run(["config", "show", "--config", dir + "/c.json", "--db", dir + "/o.sqlite"])
            #expect(shown.status == 0 && shown.stdout.contains("log-summary-every"), "\(shown.stderr)")
            #expect(Set(names).count == names.count)
        }
    }

    @Test func aSummaryIntervalUnderASecondIsRefused() throws {
        try withTemporaryDirectory { dir in
            let result = try CLI.run(["drain", "--once", "--db", dir + "/o.sqlite", "--log-summary-every", "0.1s"])
            #expect(result.status == 64 && result.stderr.contains("at least 1s"), "\(result.stderr)")
        }
    }

    @Test func mockIsAnAliasOfMockZuora() throws {
        let help = try CLI.run(["mock", "--help"])
        #expect(help.status == 0 && help.stdout.contains("Zuora-compatible mock"), "\(help.stdout.prefix(300))")
    }
}
