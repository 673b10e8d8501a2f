import Foundation
import Testing

/// A drain killed with requests on the wire: Zuora (the mock, honouring
/// keys as Zuora documents) has billed them, the outbox never heard. The
/// next drain takes the lapsed claims over and re-sends the same events
/// under the same keys: the mock answers from its memory, and bills each
/// event once. Without keys, the same kills bill events twice.
@Suite(.serialized) struct IdempotencyKeyCommandTests {
    struct Outcome {
        let sent: Int?
        let statistics: [String: Any]
        var count: (String) -> Int { { key in statistics[key] as? Int ?? -1 } }
    }

    static let events = 600

    static func killDrainsMidRequest(db: String, keys: String, kills: Int = 3) throws -> Outcome {
        let appended = try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(events))
        #expect(appended.status == 0, "\(appended.stderr)")
        // A slow Zuora: each answer takes 400 ms, so a kill lands mid-request.
        let mock = try MockProcess(["--delay-ms", "400"])
        defer { mock.stop() }
        let flags = [
            "--db", db, "--lease", "2s", "--request-timeout", "1s", "--log-level", "error", "--backoff-base", "0.1s", "--backoff-cap", "0.5s",
            "--batch-size", "100", "--concurrency", "2", "--idempotency-keys", keys,
        ]
        for round in 0..<kills {
            let before = try mock.statistics()["usageRequests"] as? Int ?? 0
            let (drain, _, _) = try CLI.start(["drain"] + flags, environment: mock.environment)
            let sending = try waitFor { (try mock.statistics()["usageRequests"] as? Int ?? 0) > before }
            kill(drain.processIdentifier, SIGKILL)
            drain.waitUntilExit()
            #expect(sending, "round \(round): the drain sent nothing before it was killed")
        }
        let final = try CLI.run(["drain", "--once", "--max-time", "60", "--json"] + flags, environment: mock.environment)
        #expect(final.status == 0, "\(final.stderr)")
        #expect(try CLI.run(["verify", "--db", db]).status == 0)
        return Outcome(sent: CLI.json(final.stdout)?["sent"] as? Int, statistics: try mock.statistics())
    }

    static func expectEachEventBilledOnce(_ outcome: Outcome) {
        #expect(outcome.count("acceptedEvents") == events, "\(outcome.statistics)")
        #expect(outcome.count("duplicateEvents") == 0, "\(outcome.statistics)")
        #expect(outcome.count("idempotentReplays") >= 1, "a killed request was billed, and its re-send answered from memory: \(outcome.statistics)")
        #expect(outcome.count("idempotencyMismatches") == 0, "a re-send under a key came with another body: \(outcome.statistics)")
    }

    @Test func drainsKilledMidRequestBillEachEventOnce() throws {
        try withTemporaryDirectory { dir in
            Self.expectEachEventBilledOnce(try Self.killDrainsMidRequest(db: dir + "/o.sqlite", keys: "on"))
        }
    }

    @Test func drainsKilledMidRequestBillEachEventOnceOnPostgres() throws {
        try PostgresCommandTests.withDatabase { db in
            Self.expectEachEventBilledOnce(try Self.killDrainsMidRequest(db: db, keys: "on"))
        }
    }

    /// The control: the same kills without keys bill the killed requests'
    /// events twice (what the keys are for).
    @Test func withoutKeysTheSameKillsBillTwice() throws {
        try withTemporaryDirectory { dir in
            let outcome = try Self.killDrainsMidRequest(db: dir + "/o.sqlite", keys: "off")
            #expect(outcome.count("duplicateEvents") > 0, "\(outcome.statistics)")
            #expect(outcome.count("idempotentReplays") == 0)
        }
    }

    @Test func aBadSwitchIsAUsageError() throws {
        let result = try CLI.run(["drain", "--once", "--db", "/nonexistent/o.sqlite", "--idempotency-keys", "maybe"])
        #expect(result.status == 64 && result.stderr.contains("--idempotency-keys"), "\(result.stderr)")
    }
}
