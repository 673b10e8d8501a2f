import Foundation
import Testing

/// The drain's HTTP endpoint for a fleet: `/metrics` with the build's
/// version, `/healthz`, and `/readyz` (the database answers and Zuora gave
/// a token).
@Suite(.serialized) struct MetricsEndpointTests {
    /// Starts a drain serving metrics on a free port; returns it and the
    /// endpoint's base URL (from its log line).
    static func startDrain(db: String, environment: [String: String]) throws -> (Process, String) {
        let (drain, _, stderr) = try CLI.start(["drain", "--db", db, "--log-level", "notice", "--metrics-port", "0"], environment: environment)
        let logs = PipeCollector(stderr)
        var base: String?
        let found = waitFor {
            base = logs.text.split(separator: "\n").first { $0.contains("serving Prometheus metrics") }
                .flatMap { line in line.split(separator: " ").first { $0.hasPrefix("url=http://127.0.0.1:") } }
                .map { String($0.dropFirst("url=".count).dropLast("/metrics".count)) }
            return base != nil
        }
        if !found {
            drain.terminate()
            drain.waitUntilExit()
            Issue.record("no metrics URL in the log: \(logs.text)")
            throw CancellationError()
        }
        return (drain, base!)
    }

    @Test func aHealthyDrainIsLiveReadyAndSaysItsVersion() throws {
        try withTemporaryDirectory { dir in
            let mock = try MockProcess()
            defer { mock.stop() }
            let (drain, base) = try Self.startDrain(db: dir + "/o.sqlite", environment: mock.environment)
            defer {
                drain.terminate()
                drain.waitUntilExit()
            }
            #expect(try LoopbackGET.fetchResponse(base + "/healthz").status == 200)
            let ready = try LoopbackGET.fetchResponse(base + "/readyz")
            #expect(ready.status == 200 && ready.body.contains("ready"), "\(ready)")
            let version = try CLI.run(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let metrics = try LoopbackGET.fetch(base + "/metrics")
            #expect(metrics.contains("outbox_build_info{version=\"\(version)\"} 1"), "\(metrics.prefix(2000))")
            #expect(metrics.contains("# HELP outbox_build_info"))
            #expect(metrics.contains("outbox_paused_oldest_pending_age_seconds"), "paused meters' age has a gauge of its own")
            #expect(try LoopbackGET.fetchResponse(base + "/nope").status == 404)
        }
    }

    @Test func aDrainWithoutATokenIsLiveButNotReady() throws {
        try withTemporaryDirectory { dir in
            // Nothing listens on port 1: the token endpoint is out of reach.
            let environment = ["ZUORA_BASE_URL": "http://127.0.0.1:1", "ZUORA_CLIENT_ID": "id", "ZUORA_CLIENT_SECRET": "s"]
            let (drain, base) = try Self.startDrain(db: dir + "/o.sqlite", environment: environment)
            defer {
                drain.terminate()
                drain.waitUntilExit()
            }
            #expect(try LoopbackGET.fetchResponse(base + "/healthz").status == 200)
            let ready = try LoopbackGET.fetchResponse(base + "/readyz")
            #expect(ready.status == 503 && ready.body.contains("no token"), "\(ready)")
        }
    }

    /// Readiness is not sticky: a drain whose fixed bearer token Zuora
    /// refuses at its first send stops being ready, and `/readyz` says why.
    @Test func aDrainWhoseTokenIsRefusedStopsBeingReady() throws {
        try withTemporaryDirectory { dir in
            let mock = try MockProcess()
            defer { mock.stop() }
            let db = dir + "/o.sqlite"
            let environment = ["ZUORA_BASE_URL": mock.baseURL, "ZUORA_BEARER_TOKEN": "not-a-token-zuora-knows"]
            let (drain, base) = try Self.startDrain(db: db, environment: environment)
            defer {
                drain.terminate()
                drain.waitUntilExit()
            }
            let before = try LoopbackGET.fetchResponse(base + "/readyz")
            #expect(before.status == 200, "a fixed token is judged at its first send: \(before)")
            let event = #"{"CustomerId":"A","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
            #expect(try CLI.run(["append", "--db", db, "--meter", "m"], stdin: event).status == 0)
            var after = before
            let refused = waitFor {
                after = (try? LoopbackGET.fetchResponse(base + "/readyz")) ?? after
                return after.status == 503
            }
            #expect(refused && after.body.contains("rejected the fixed bearer token"), "\(after)")
            #expect(!after.body.contains("not-a-token-zuora-knows"), "the token stays secret")
        }
    }

    @Test func aBadMetricsAddressIsAUsageError() throws {
        try withTemporaryDirectory { dir in
            let result = try CLI.run(["drain", "--once", "--db", dir + "/o.sqlite", "--metrics-port", "0", "--metrics-address", "not an address"])
            #expect(result.status == 64 && result.stderr.contains("metrics-address"), "\(result.stderr)")
        }
    }
}
