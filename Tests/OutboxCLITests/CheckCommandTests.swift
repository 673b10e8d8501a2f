import Foundation
import Testing

/// `outbox check`, and the same check at the start of `drain`: a wrong
/// secret shows before the first event.
@Suite(.serialized) struct CheckCommandTests {
    @Test func aGoodSetupPassesAndSaysWhatItWillRunWith() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let mock = try MockProcess()
            defer { mock.stop() }
            // Before any append: no database yet is not a failure.
            let early = try CLI.run(["check", "--db", db], environment: mock.environment)
            #expect(early.status == 0 && early.stderr.contains("no outbox yet at \(db)"), "\(early.stderr)")
            #expect(!FileManager.default.fileExists(atPath: db), "check created the database")
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(3)).status == 0)
            let result = try CLI.run(["check", "--db", db, "--concurrency", "2"], environment: mock.environment)
            #expect(result.status == 0, "\(result.stderr)")
            for expected in [
                "outbox \(OutboxVersionForTests.current):", "database \(db)", "base url \(mock.baseURL)", "concurrency 2", "3 events to deliver",
                "check: passed",
            ] {
                #expect(result.stderr.contains(expected), "missing \(expected): \(result.stderr)")
            }
            #expect(!result.stderr.contains("mock-client-secret"), "a secret was printed")
            #expect(try mock.statistics()["usageRequests"] as? Int == 0)
        }
    }

    @Test func aWrongSecretIsCaughtBeforeTheFirstEvent() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(3)).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            var wrong = mock.environment
            wrong["ZUORA_CLIENT_SECRET"] = "not-the-secret"
            let checked = try CLI.run(["check", "--db", db], environment: wrong)
            #expect(checked.status == 64 && checked.stderr.contains("ZUORA_CLIENT_SECRET"), "\(checked.stderr)")
            #expect(!checked.stderr.contains("not-the-secret"), "a secret was printed")
            // The drain checks too: it stops at once, sending nothing.
            let drained = try CLI.run(["drain", "--once", "--max-time", "10", "--db", db, "--log-level", "error"], environment: wrong)
            #expect(drained.status == 64, "\(drained.stderr)")
            #expect(try mock.statistics()["usageRequests"] as? Int == 0)
        }
    }

    @Test func aBaseURLHoldingAPasswordIsRefusedBeforeAnythingIsPrinted() throws {
        try withTemporaryDirectory { dir in
            let result = try CLI.run(
                ["check", "--db", dir + "/o.sqlite"],
                environment: ["ZUORA_BASE_URL": "https://ops:s3cret-pw@rest.zuora.com", "ZUORA_CLIENT_ID": "id", "ZUORA_CLIENT_SECRET": "s"])
            #expect(result.status == 64, "\(result.stderr)")
            #expect(!result.stderr.contains("s3cret-pw"), "the password was printed: \(result.stderr)")
        }
    }

    @Test func aTokenEndpointOutOfReachIsWorthRetrying() throws {
        try withTemporaryDirectory { dir in
            let result = try CLI.run(
                ["check", "--db", dir + "/o.sqlite", "--request-timeout", "2s"],
                environment: ["ZUORA_BASE_URL": "http://127.0.0.1:1", "ZUORA_CLIENT_ID": "id", "ZUORA_CLIENT_SECRET": "s"])
            #expect(result.status == 75 && result.stderr.contains("try again later"), "\(result.stderr)")
        }
    }

    @Test func theDrainStartsWithItsSettingsInTheLog() throws {
        try withTemporaryDirectory { dir in
            let mock = try MockProcess()
            defer { mock.stop() }
            let result = try CLI.run(["drain", "--once", "--db", dir + "/o.sqlite", "--log-format", "json"], environment: mock.environment)
            #expect(result.status == 0, "\(result.stderr)")
            let starting = result.stderr.split(separator: "\n").first { $0.contains("\"starting\"") }
            #expect(starting?.contains("\"base_url\"") == true && starting?.contains("\"version\"") == true, "\(result.stderr)")
        }
    }

    @Test func eachMappedMeterIdIsProbedAndAnUnknownOneIsAUsageError() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "calls", "--db", db], stdin: ndjson(1)).status == 0)
            let mock = try MockProcess(["--meter-id", "calls=101"])
            defer { mock.stop() }
            let known = try CLI.run(["check", "--db", db, "--meter-id", "calls=101"], environment: mock.environment)
            #expect(known.status == 0 && known.stderr.contains("Zuora knows meter id 101 (calls)"), "\(known.stderr)")
            // Before the first append too: a fresh install is when check runs.
            let fresh = try CLI.run(["check", "--db", dir + "/new.sqlite", "--meter-id", "calls=999"], environment: mock.environment)
            #expect(fresh.status == 64 && fresh.stderr.contains("no meter with id 999"), "\(fresh.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/new.sqlite"))
            let unknown = try CLI.run(["check", "--db", db, "--meter-id", "calls=999"], environment: mock.environment)
            #expect(unknown.status == 64 && unknown.stderr.contains("no meter with id 999"), "\(unknown.stderr)")
            #expect(try mock.statistics()["usageRequests"] as? Int == 0, "a probe sends no usage")
        }
    }

    @Test func aSetupTheDrainWouldRefuseFailsTheCheck() throws {
        try withTemporaryDirectory { dir in
            let mock = try MockProcess()
            defer { mock.stop() }
            // Reconcile with no meter id to read an audit trail by.
            let reconcile = try CLI.run(["check", "--db", dir + "/o.sqlite", "--reconcile-every", "1h"], environment: mock.environment)
            #expect(reconcile.status == 64 && reconcile.stderr.contains("--reconcile-every needs meter ids"), "\(reconcile.stderr)")
            // A setting only the drain used to read: check reads it too.
            let operatorID = try CLI.run(["check", "--db", dir + "/o.sqlite", "--dedup-operator-id", " "], environment: mock.environment)
            #expect(operatorID.status == 64, "\(operatorID.stderr)")
            #expect(try CLI.run(["drain", "--once", "--db", dir + "/o.sqlite", "--dedup-operator-id", " "], environment: mock.environment).status == 64)
            // A database the drain could not create.
            let nowhere = dir + "/missing/o.sqlite"
            let missing = try CLI.run(["check", "--db", nowhere], environment: mock.environment)
            #expect(missing.status == 74 && missing.stderr.contains("no directory \(dir)/missing"), "\(missing.stderr)")
            #expect(try CLI.run(["drain", "--once", "--db", nowhere], environment: mock.environment).status == 74, "the drain agrees")
        }
    }
}

/// The version the binary reports (`outbox --version`).
enum OutboxVersionForTests {
    static var current: String { (try? CLI.run(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? "?" }
}
