import Foundation
import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// `outbox reconcile`, `outbox meters` and the environment limits, through
/// the binary against `outbox mock-zuora`.
@Suite(.serialized) struct ReconcileCommandTests {
    static func events(_ count: Int, late: Set<Int>) -> String {
        (0..<count).map { index in
            let customer = late.contains(index) ? "LATE-\(index)" : "C-\(index)"
            return #"{"CustomerId":"\#(customer)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":\#(index)}"#
        }.joined(separator: "\n") + "\n"
    }

    @Test func reconcileDeadLettersLateRejectionsOnceAndVerifyBalances() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            // 300 late ones carry the event id field (matched by id), 220 do not
            // (matched by content): 520 audit entries, two pages of 500.
            let withIDs = Self.events(340, late: Set(0..<300))
            let withoutIDs = (0..<260).map { index in
                #"{"CustomerId":"\#(index < 220 ? "LATE-b" : "C-b")\#(index)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":\#(index)}"#
            }.joined(separator: "\n")
            #expect(try CLI.run(["append", "--meter", "m", "--db", db, "--event-id-field", "EventId"], stdin: withIDs).status == 0)
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: withoutIDs).status == 0)
            let mock = try MockProcess(["--late-reject-prefix", "LATE", "--meter-id", "m=101"])
            defer { mock.stop() }
            #expect(try CLI.run(["drain", "--once", "--db", db, "--log-level", "error"], environment: mock.environment).status == 0)
            let environment = mock.environment.merging(["OUTBOX_METER_IDS": "m=101"]) { $1 }
            let first = try CLI.run(["reconcile", "--json", "--db", db, "--event-id-field", "EventId", "--log-level", "error"], environment: environment)
            #expect(first.status == 0, "\(first.stderr)")
            let report = try #require(CLI.json(first.stdout))
            for key in ["entries", "late_rejected", "already_dead", "unmatched", "meters"] { #expect(report[key] != nil, "missing \(key)") }
            #expect(report["entries"] as? Int == 520 && report["late_rejected"] as? Int == 520 && report["unmatched"] as? Int == 0, "\(report)")
            #expect(try mock.statistics()["auditRequests"] as? Int == 2, "two pages")
            #expect((report["meters"] as? [String: Any])?["m"] != nil)
            let second = try CLI.run(["reconcile", "--json", "--db", db, "--log-level", "error"], environment: environment)
            #expect(CLI.json(second.stdout)?["late_rejected"] as? Int == 0, "a second run changes nothing")
            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(status["sent"] as? Int == 80 && status["dead"] as? Int == 520)
            #expect(((status["meters"] as? [String: Any])?["m"] as? [String: Any])?["late_rejected"] as? Int == 520)
            let letters = CLI.jsonArray(try CLI.run(["dead-letters", "list", "--json", "--limit", "1000", "--db", db]).stdout)
            #expect(letters.count == 520 && letters.allSatisfy { ($0["reason"] as? String)?.hasPrefix("rejected by Zuora after acceptance: ") == true })
            #expect(letters.allSatisfy { (($0["event"] as? [String: Any])?["CustomerId"] as? String)?.hasPrefix("LATE") == true })
            #expect(letters.allSatisfy { $0["status"] is NSNull })
            #expect(try CLI.run(["verify", "--db", db]).status == 0)
        }
    }

    @Test func reconcileExitCodes() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(3)).status == 0)
            let mock = try MockProcess(["--meter-id", "m=101"])
            defer { mock.stop() }
            let noID = try CLI.run(["reconcile", "--meter", "m", "--db", db], environment: mock.environment)
            #expect(noID.status == 64)
            #expect(noID.stderr.contains("--meter-id") && noID.stderr.contains("OUTBOX_METER_IDS"), "\(noID.stderr)")
            let unknownID = try CLI.run(["reconcile", "--meter-id", "m=999", "--db", db, "--log-level", "error"], environment: mock.environment)
            #expect(unknownID.status == 64, "\(unknownID.stderr)")
            // A server that takes connections and drops them: Zuora cannot be read.
            let dropper = try ClosingListener()
            defer { dropper.stop() }
            let unreachable = try CLI.run(
                ["reconcile", "--meter-id", "m=101", "--db", db, "--log-level", "error", "--backoff-base", "0.01s", "--backoff-cap", "0.05s"],
                environment: mock.environment.merging(["ZUORA_BASE_URL": "http://127.0.0.1:\(dropper.port)"]) { $1 })
            #expect(unreachable.status == 75, "\(unreachable.stderr)")
            #expect(unreachable.stderr.contains("audit trail"))
        }
    }

    @Test func pausingAMeterFromTheCommandLine() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "a", "--db", db], stdin: ndjson(10)).status == 0)
            #expect(try CLI.run(["append", "--meter", "b", "--db", db], stdin: ndjson(5)).status == 0)
            #expect(try CLI.run(["meters", "pause", "a", "--reason", "reconfiguring in Zuora", "--db", db]).status == 0)
            let unknown = try CLI.run(["meters", "pause", "nope", "--db", db])
            #expect(unknown.status == 65 && unknown.stderr.contains("nope"))
            let list = CLI.jsonArray(try CLI.run(["meters", "list", "--json", "--db", db]).stdout)
            let a = try #require(list.first { $0["meter"] as? String == "a" })
            #expect(a["paused"] as? Bool == true && a["reason"] as? String == "reconfiguring in Zuora" && a["pending"] as? Int == 10)
            #expect(a["paused_at"] is String)
            #expect(list.first { $0["meter"] as? String == "b" }?["paused"] as? Bool == false)
            #expect(try CLI.run(["status", "--db", db]).stdout.contains("PAUSED"))
            let mock = try MockProcess()
            defer { mock.stop() }
            let drained = try CLI.run(["drain", "--once", "--json", "--db", db, "--log-level", "error"], environment: mock.environment)
            #expect(drained.status == 0, "\(drained.stderr)")
            let summary = try #require(CLI.json(drained.stdout))
            #expect(summary["sent"] as? Int == 5 && summary["remaining"] as? Int == 0 && summary["paused"] as? Int == 10)
            #expect(try CLI.run(["meters", "resume", "a", "--db", db]).status == 0)
            let after = try CLI.run(["drain", "--once", "--json", "--db", db, "--log-level", "error"], environment: mock.environment)
            #expect(CLI.json(after.stdout)?["sent"] as? Int == 10)
        }
    }

    @Test func environmentLimitsAreUsageErrorsThatNameTheLimit() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let token = ["ZUORA_BEARER_TOKEN": "t"]
            let explicit = try CLI.run(
                [
                    "drain", "--once", "--db", db, "--zuora-environment", "api-sandbox", "--batch-size", "5000",
                    "--base-url", "http://127.0.0.1:9",
                ], environment: token)
            #expect(explicit.status == 64)
            #expect(
                explicit.stderr.contains("1000") && explicit.stderr.contains("API Sandbox") && explicit.stderr.contains("--batch-size"), "\(explicit.stderr)")
            let inferred = try CLI.run(
                ["drain", "--once", "--db", db, "--max-requests-per-minute", "1000"],
                environment: token.merging(["ZUORA_BASE_URL": "https://rest.apisandbox.zuora.com"]) { $1 })
            #expect(inferred.status == 64 && inferred.stderr.contains("600") && inferred.stderr.contains("--max-requests-per-minute"), "\(inferred.stderr)")
            let shown = try #require(
                CLI.json(
                    try CLI.run(
                        ["config", "show", "--json", "--db", db],
                        environment: ["ZUORA_BASE_URL": "https://rest.test.zuora.com"]
                    ).stdout))
            let environment = try #require(shown["zuora-environment"] as? [String: String])
            #expect(environment["source"] == "inferred" && environment["value"]?.hasPrefix("developer-sandbox") == true)
            #expect((shown["max-requests-per-minute"] as? [String: String])?["value"]?.hasPrefix("5000") == true)
            let badName = try CLI.run(
                ["drain", "--once", "--db", db], environment: token.merging(["ZUORA_ENVIRONMENT": "staging", "ZUORA_BASE_URL": "http://127.0.0.1:9"]) { $1 })
            #expect(badName.status == 64 && badName.stderr.contains("ZUORA_ENVIRONMENT"), "\(badName.stderr)")
        }
    }
}

/// Accepts TCP connections on a free loopback port and closes each at once.
final class ClosingListener: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let thread: Thread

    init() throws {
        let fd = socket(AF_INET, streamSocket, 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw CocoaError(.fileWriteUnknown) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        let listener = fd
        // The listener's thread touches only `listener`, never `self`.
        thread = Thread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { break }
                close(client)
            }
        }
        thread.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
