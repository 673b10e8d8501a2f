import Foundation
import Testing

/// The CLI contract on a PostgreSQL outbox (`--db postgres://...`), and many
/// workers on many "hosts" (processes) sharing one queue.
@Suite(.serialized) struct PostgresCommandTests {
    static let baseURL = ProcessInfo.processInfo.environment["OUTBOX_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// A fresh database for one test, dropped afterwards.
    static func withDatabase(_ body: (String) throws -> Void) throws {
        guard let base = baseURL else { return }
        let name = "cli_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try psql(base, "CREATE DATABASE \(name)")
        defer { try? psql(base, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        var components = URLComponents(string: base)!
        components.path = "/" + name
        try body(components.string!)
    }

    static func psql(_ url: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [url, "-v", "ON_ERROR_STOP=1", "-qc", sql]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 { throw CocoaError(.executableLoad) }
    }

    /// A drain whose database goes away keeps serving: `/metrics` says
    /// `outbox_store_up 0` (its queue gauges are stale), and `/readyz`
    /// answers 503 and why.
    @Test func aDrainWhoseDatabaseGoesAwaySaysSo() throws {
        guard let base = Self.baseURL else { return }
        try Self.withDatabase { db in
            #expect(try CLI.run(["migrate", "--db", db]).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            let (drain, endpoint) = try MetricsEndpointTests.startDrain(db: db, environment: mock.environment)
            defer {
                // Killed: a graceful stop waits out the connection pool's
                // one-minute circuit breaker while the database is gone.
                kill(drain.processIdentifier, SIGKILL)
                drain.waitUntilExit()
            }
            #expect(MetricsScrapeTests.value(of: "outbox_store_up", in: try LoopbackGET.fetch(endpoint + "/metrics")) == 1)
            #expect(try LoopbackGET.fetchResponse(endpoint + "/readyz").status == 200)
            let name = String(URLComponents(string: db)!.path.dropFirst())
            try Self.psql(base, "DROP DATABASE \(name) WITH (FORCE)")
            var scrape = ""
            let unreadable = waitFor {
                scrape = (try? LoopbackGET.fetch(endpoint + "/metrics")) ?? scrape
                return MetricsScrapeTests.value(of: "outbox_store_up", in: scrape) == 0
            }
            #expect(unreadable, "\(scrape.prefix(2000))")
            let ready = try LoopbackGET.fetchResponse(endpoint + "/readyz")
            #expect(ready.status == 503 && ready.body.contains("database does not answer"), "\(ready)")
        }
    }

    @Test func theContractHoldsOnPostgres() throws {
        try Self.withDatabase { db in
            let appended = try CLI.run(["append", "--meter", "api-calls", "--db", db, "--json"], stdin: ndjson(500))
            #expect(appended.status == 0, "\(appended.stderr)")
            #expect(CLI.json(appended.stdout)?["appended"] as? Int == 500)
            let bad = try CLI.run(["append", "--meter", "api-calls", "--db", db], stdin: ndjson(10, badAt: [3]))
            #expect(bad.status == 65 && bad.stderr.contains("line 4:"))
            var lines = ndjson(100, prefix: "P").split(separator: "\n").map(String.init)
            lines[7] = #"{"CustomerId":"INVALID-7","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
            #expect(try CLI.run(["append", "--meter", "storage", "--db", db], stdin: lines.joined(separator: "\n")).status == 0)

            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(status["pending"] as? Int == 600)
            let mock = try MockProcess()
            defer { mock.stop() }
            let drained = try CLI.run(["drain", "--once", "--json", "--db", db, "--log-level", "error"], environment: mock.environment)
            #expect(drained.status == 0, "\(drained.stderr)")
            let summary = try #require(CLI.json(drained.stdout))
            #expect(summary["sent"] as? Int == 599 && summary["dead"] as? Int == 1 && summary["remaining"] as? Int == 0)
            #expect(try mock.statistics()["duplicateEvents"] as? Int == 0)

            let letters = CLI.jsonArray(try CLI.run(["dead-letters", "list", "--json", "--db", db]).stdout)
            #expect(letters.count == 1)
            let id = try #require(letters.first?["id"] as? String)
            #expect(try CLI.run(["dead-letters", "show", id, "--db", db]).stdout.contains("INVALID-7"))
            #expect(try CLI.run(["dead-letters", "retry", id, "nope", "--db", db]).status == 65)
            #expect(CLI.json(try CLI.run(["dead-letters", "purge", id, "--json", "--db", db]).stdout)?["purged"] as? Int == 1)
            #expect(CLI.json(try CLI.run(["purge", "--sent-older-than", "0s", "--json", "--db", db]).stdout)?["purged"] as? Int == 599)
            let verify = try CLI.run(["verify", "--json", "--db", db])
            #expect(verify.status == 0 && CLI.json(verify.stdout)?["ok"] as? Bool == true)
            #expect(try CLI.run(["backup", "--to", NSTemporaryDirectory() + UUID().uuidString, "--db", db]).status == 64)
        }
    }

    @Test func aPasswordOnTheCommandLineIsRefusedAndNeverEchoed() throws {
        let result = try CLI.run(["status", "--db", "postgres://app:hunter2-secret@127.0.0.1:1/app"])
        #expect(result.status == 64)
        #expect(!result.stderr.contains("hunter2-secret"))
        #expect(result.stderr.contains("OUTBOX_DB_PASSWORD") && result.stderr.contains("--db"))
        // From the environment (as DATABASE_URL usually is) it is used: the
        // failure is the unreachable server's, and the password never shows.
        let fromEnvironment = try CLI.run(["status"], environment: ["OUTBOX_DB": "postgres://app:hunter2-secret@127.0.0.1:1/app"])
        #expect(fromEnvironment.status == 74, "\(fromEnvironment.stderr)")
        #expect(!fromEnvironment.stderr.contains("hunter2-secret"))
        let unreachable = try CLI.run(["status", "--db", "postgres://app@127.0.0.1:1/app"], environment: ["OUTBOX_DB_PASSWORD": "hunter2-secret"])
        #expect(unreachable.status == 74)
        #expect(!unreachable.stderr.contains("hunter2-secret"))
    }

    /// The password inside OUTBOX_DB (or the config file) is the one used.
    @Test func aPasswordInOutboxDBFromTheEnvironmentIsUsed() throws {
        try Self.withDatabase { db in
            try Self.psql(db, "DO $$ BEGIN CREATE ROLE outbox_pw LOGIN PASSWORD 'pw-from-url'; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
            try Self.psql(db, "GRANT ALL ON SCHEMA public TO outbox_pw")
            var components = URLComponents(string: db)!
            components.user = "outbox_pw"
            components.password = "pw-from-url"
            let withPassword = components.string!
            let appended = try CLI.run(["append", "--meter", "m", "--json"], environment: ["OUTBOX_DB": withPassword], stdin: ndjson(3))
            #expect(appended.status == 0, "\(appended.stderr)")
            let config = NSTemporaryDirectory() + "outbox-pg-config-\(UUID().uuidString).json"
            try #"{"db": "\#(withPassword)"}"#.write(toFile: config, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: config) }
            let status = try CLI.run(["status", "--json", "--config", config])
            #expect(status.status == 0 && CLI.json(status.stdout)?["pending"] as? Int == 3, "\(status.stderr)")
            #expect(!status.stderr.contains("pw-from-url"))
            // The server checks it: a wrong one is refused.
            components.password = "wrong"
            let refused = try CLI.run(["status"], environment: ["OUTBOX_DB": components.string!])
            #expect(refused.status == 74 && !refused.stderr.contains("wrong"), "\(refused.stderr)")
        }
    }

    /// Four `outbox drain` processes share one queue while producers keep
    /// appending: every event is accepted exactly once.
    @Test func fourWorkersShareOneQueueWithoutDoubleSending() throws {
        try Self.withDatabase { db in
            let mock = try MockProcess(["--delay-ms", "20"])
            defer { mock.stop() }
            let workers = try (0..<4).map { _ in
                try CLI.start(["drain", "--db", db, "--batch-size", "100", "--concurrency", "2", "--log-level", "error"], environment: mock.environment)
            }
            var appended = 0
            for round in 0..<12 {
                #expect(try CLI.run(["append", "--meter", ["a", "b", "c"][round % 3], "--db", db], stdin: ndjson(2500, prefix: "R\(round)")).status == 0)
                appended += 2500
            }
            let finished = try CLI.run(["drain", "--once", "--max-time", "120", "--db", db, "--log-level", "error"], environment: mock.environment)
            for (process, _, _) in workers {
                process.terminate()
                process.waitUntilExit()
                #expect(process.terminationStatus == 0, "a worker did not stop cleanly on SIGTERM")
            }
            #expect(finished.status == 0, "\(finished.stderr)")
            let stats = try mock.statistics()
            #expect(stats["acceptedEvents"] as? Int == appended)
            #expect(stats["duplicateEvents"] as? Int == 0, "an event was sent twice")
            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(status["sent"] as? Int == appended && status["inflight"] as? Int == 0)
            #expect(try CLI.run(["verify", "--db", db]).status == 0)
        }
    }

    /// A worker killed with kill -9 mid-drain: its leased events come back
    /// when the lease expires, and every event is accepted at least once.
    @Test func aKilledWorkersEventsAreDeliveredByTheOthers() throws {
        try Self.withDatabase { db in
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(20_000)).status == 0)
            let mock = try MockProcess(["--delay-ms", "50"])
            defer { mock.stop() }
            let flags = ["drain", "--db", db, "--batch-size", "100", "--concurrency", "2", "--lease", "3s", "--request-timeout", "2s", "--log-level", "error"]
            let victim = try CLI.start(flags, environment: mock.environment)
            let survivors = try (0..<3).map { _ in try CLI.start(flags, environment: mock.environment) }
            // Killed once the drain is well under way: the victim has batches in flight.
            #expect(try waitFor { (try mock.statistics()["acceptedEvents"] as? Int ?? 0) >= 2000 })
            kill(victim.0.processIdentifier, SIGKILL)
            victim.0.waitUntilExit()
            let finished = try CLI.run(
                ["drain", "--once", "--max-time", "120", "--lease", "3s", "--request-timeout", "2s", "--db", db, "--log-level", "error"],
                environment: mock.environment)
            for (process, _, _) in survivors {
                process.terminate()
                process.waitUntilExit()
            }
            #expect(finished.status == 0, "\(finished.stderr)")
            let recorded = Set(try mock.recorded()["m"] ?? [])
            let expected = Set(ndjson(20_000).split(separator: "\n").map(String.init))
            #expect(expected.isSubset(of: recorded), "\(expected.subtracting(recorded).count) events were never accepted")
            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(status["sent"] as? Int == 20_000 && status["inflight"] as? Int == 0)
            #expect(try CLI.run(["verify", "--db", db]).status == 0)
        }
    }
}
