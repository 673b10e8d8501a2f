import Foundation
import Testing

/// Private by construction: what a local user, a typo or a stale config
/// could otherwise expose or break.
@Suite(.serialized) struct HardeningTests {
    @Test func configShowNeverPrintsADatabasePassword() throws {
        let url = "postgres://app:hunter2-s3cret@db.internal:5432/app"
        for arguments in [["config", "show"], ["config", "show", "--json"]] {
            let shown = try CLI.run(arguments, environment: ["OUTBOX_DB": url])
            #expect(shown.status == 0, "\(shown.stderr)")
            #expect(!(shown.stdout + shown.stderr).contains("hunter2-s3cret"))
            #expect(shown.stdout.contains("<redacted>"))
        }
    }

    @Test func aSchemeInAnyCaseIsPostgreSQLAndItsPasswordIsNeverEchoed() throws {
        try withTemporaryDirectory { dir in
            let result = try CLI.run(["status"], environment: ["OUTBOX_DB": "Postgres://app:hunter2-s3cret@127.0.0.1:1/app"], directory: dir)
            #expect(result.status == 74, "taken for PostgreSQL, which is not listening: \(result.stderr)")
            #expect(result.stderr.contains("PostgreSQL"))
            #expect(!(result.stdout + result.stderr).contains("hunter2-s3cret"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "taken for an SQLite path")
        }
    }

    @Test func aSymbolicLinkAtTheDatabasePathIsRefusedNotFollowed() throws {
        try withTemporaryDirectory { dir in
            let target = dir + "/elsewhere.sqlite"
            let link = dir + "/outbox.sqlite"
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
            let result = try CLI.run(["append", "--meter", "m", "--db", link], stdin: ndjson(1))
            #expect(result.status == 74, "\(result.stderr)")
            #expect(result.stderr.contains("symbolic link"))
            #expect(!FileManager.default.fileExists(atPath: target), "the database was created through the link")
        }
    }

    @Test func aSymbolicLinkBesideTheDatabaseIsRefusedToo() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/outbox.sqlite"
            let target = dir + "/elsewhere-wal"
            try FileManager.default.createSymbolicLink(atPath: db + "-wal", withDestinationPath: target)
            let result = try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(1))
            #expect(result.status == 74, "\(result.stderr)")
            #expect(result.stderr.contains("symbolic link"))
            #expect(!FileManager.default.fileExists(atPath: target), "SQLite wrote through the link")
        }
    }

    @Test(arguments: [
        "postgres://app@db.internal:5432/app?password=hunter2-s3cret",
        "  postgres://app:hunter2-s3cret@db.internal:5432/app",
    ])
    func aPasswordAnywhereInTheURLIsNeverShown(url: String) throws {
        let shown = try CLI.run(["config", "show", "--json"], environment: ["OUTBOX_DB": url])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(!(shown.stdout + shown.stderr).contains("hunter2-s3cret"), "\(shown.stdout)")
    }

    @Test func aNewDatabaseIsPrivateToItsOwner() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(1)).status == 0)
            for file in [db, db + "-wal", db + "-shm"] where FileManager.default.fileExists(atPath: file) {
                let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
                #expect(mode == 0o600, "\(file) has mode \(String(mode ?? 0, radix: 8))")
            }
        }
    }

    @Test func anExportOfDeadLettersIsPrivateAndNeverWrittenThroughALink() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(1)).status == 0)
            let file = dir + "/letters.ndjson"
            let exported = try CLI.run(["dead-letters", "export", "--db", db, "--file", file])
            #expect(exported.status == 0, "\(exported.stderr)")
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "the export has mode \(String(mode ?? 0, radix: 8))")
            let link = dir + "/link.ndjson"
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: dir + "/target.ndjson")
            let refused = try CLI.run(["dead-letters", "export", "--db", db, "--file", link])
            #expect(refused.status != 0 && refused.stderr.contains("symbolic link"), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/target.ndjson"))
        }
    }

    @Test func aConfigFileThatSharesAPasswordIsWarnedAbout() throws {
        try withTemporaryDirectory { dir in
            let config = dir + "/outbox.json"
            try #"{"db": "postgres://app:hunter2-s3cret@db.internal/app"}"#.write(toFile: config, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: config)
            let shared = try CLI.run(["config", "show", "--config", config])
            #expect(shared.stderr.contains("chmod 600"), "\(shared.stderr)")
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: config)
            let private_ = try CLI.run(["config", "show", "--config", config])
            #expect(!private_.stderr.contains("chmod 600"))
        }
    }

    @Test(arguments: [
        (["--request-timeout", "1e17s"], [String: String]()),
        (["--lease", "99999999d"], [:]),
        ([], ["OUTBOX_REQUEST_TIMEOUT": "1e300s"]),
        ([], ["OUTBOX_LEASE": "2d"]),
    ])
    func anAbsurdDurationIsAUsageErrorNeverATrap(flags: [String], environment: [String: String]) throws {
        try withTemporaryDirectory { dir in
            let result = try CLI.run(
                ["drain", "--once", "--db", dir + "/o.sqlite"] + flags,
                environment: ["ZUORA_BASE_URL": "http://127.0.0.1:1", "ZUORA_BEARER_TOKEN": "t"].merging(environment) { $1 })
            #expect(result.status == 64, "\(result.stderr)")
            #expect(!result.stderr.isEmpty && !result.stderr.contains("Fatal error"))
        }
    }

    @Test func anEventLargerThanARequestIsRefusedAtAppendWithItsPosition() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let big =
                #"{"CustomerId":"C","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"pad":"\#(String(repeating: "x", count: 5000))"}"#
            let input = ndjson(1) + big + "\n" + ndjson(1, prefix: "D")
            let refused = try CLI.run(["append", "--meter", "m", "--db", db], environment: ["OUTBOX_MAX_BATCH_BYTES": "4096"], stdin: input)
            #expect(refused.status == 65, "\(refused.stderr)")
            #expect(refused.stderr.contains("line 2") && refused.stderr.contains("one request"), "\(refused.stderr)")
            // With the default limit (1 MiB) it fits.
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: input).status == 0)
        }
    }

    @Test func aDrainHoldingSecretsCannotDumpCore() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let mock = try MockProcess()
            defer { mock.stop() }
            let (process, _, _) = try CLI.start(["drain", "--db", db, "--poll-interval", "1s"], environment: mock.environment)
            defer {
                process.terminate()
                process.waitUntilExit()
            }
            var line = ""
            let hardened = waitFor {
                let limits = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/limits", encoding: .utf8)) ?? ""
                line = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }.map(String.init) ?? ""
                return Array(line.split(separator: " ").dropFirst(4).prefix(2)) == ["0", "0"]
            }
            #expect(hardened, "the drain may still write a core file: \(line)")
        }
    }
}
