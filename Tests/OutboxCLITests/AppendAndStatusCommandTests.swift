import Foundation
import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// The contract for `append`, `status` and `migrate`, through the binary.
@Suite(.serialized) struct AppendAndStatusCommandTests {
    @Test func appendsAndReportsInJSON() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            try ndjson(25).write(toFile: dir + "/e.ndjson", atomically: true, encoding: .utf8)
            let appended = try CLI.run(["append", "--meter", "api-calls", "--file", dir + "/e.ndjson", "--db", db, "--json"])
            #expect(appended.status == 0, "\(appended.stderr)")
            let output = try #require(CLI.json(appended.stdout))
            #expect(output["appended"] as? Int == 25)
            #expect(output["meter"] as? String == "api-calls")

            // stdin, and OUTBOX_DB instead of --db
            let piped = try CLI.run(["append", "--meter", "storage"], environment: ["OUTBOX_DB": db], stdin: ndjson(5, prefix: "S"))
            #expect(piped.status == 0, "\(piped.stderr)")

            let status = try CLI.run(["status", "--json", "--db", db])
            #expect(status.status == 0)
            let json = try #require(CLI.json(status.stdout))
            for key in ["pending", "inflight", "failed", "sent", "dead", "oldest_pending_age_seconds", "meters"] {
                #expect(json[key] != nil, "status --json lacks \(key)")
            }
            #expect(json["pending"] as? Int == 30)
            let meters = try #require(json["meters"] as? [String: [String: Any]])
            #expect(meters["api-calls"]?["pending"] as? Int == 25)
            #expect(meters["storage"]?["pending"] as? Int == 5)
            #expect(status.stderr.isEmpty, "--json keeps stdout clean and stderr quiet: \(status.stderr)")

            let human = try CLI.run(["status", "--db", db])
            #expect(human.stdout.contains("api-calls") && human.stdout.contains("oldest undelivered event"))
        }
    }

    @Test func invalidInputIsReportedByLineAndChangesNothing() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let result = try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(10, badAt: [1, 7]))
            #expect(result.status == 65)
            #expect(result.stderr.contains("line 2: Quantity must be a number, found a string"))
            #expect(result.stderr.contains("line 8:"))
            #expect(result.stderr.contains("nothing was appended"))
            #expect(!result.stderr.contains("Fatal") && !result.stderr.contains("Stack"))
            let status = try CLI.run(["status", "--json", "--db", db])
            #expect(CLI.json(status.stdout)?["pending"] as? Int == 0)
        }
    }

    @Test(arguments: ["", "\n\n", "[]", "42", "[{\"a\":1}", "\u{FEFF}"])
    func inputWithoutValidEventsExits65(_ input: String) throws {
        try withTemporaryDirectory { dir in
            let result = try CLI.run(["append", "--meter", "m", "--db", dir + "/o.sqlite"], stdin: input)
            #expect(result.status == 65, "input \(input.debugDescription): \(result.stderr)")
            #expect(result.stderr.contains("outbox: error:"))
        }
    }

    @Test func usageErrorsExit64WithAClearMessage() throws {
        try withTemporaryDirectory { dir in
            let noMeter = try CLI.run(["append", "--db", dir + "/o.sqlite"], stdin: ndjson(1))
            #expect(noMeter.status == 64)
            #expect(noMeter.stderr.contains("--meter"))
            let missingFile = try CLI.run(["append", "--meter", "m", "--file", dir + "/nope.ndjson", "--db", dir + "/o.sqlite"])
            #expect(missingFile.status == 64)
            #expect(missingFile.stderr.contains("cannot open --file"))
            let badDuration = try CLI.run(["purge", "--sent-older-than", "soon", "--db", dir + "/o.sqlite"])
            #expect(badDuration.status == 64)
        }
    }

    @Test func badDatabaseFilesExit74AndAreLeftAlone() throws {
        try withTemporaryDirectory { dir in
            // Another application's SQLite database.
            let foreign = dir + "/app.sqlite"
            let app = try SQLiteConnection(path: foreign)
            try app.execute("CREATE TABLE customers (id INTEGER)")
            let refused = try CLI.run(["append", "--meter", "m", "--db", foreign], stdin: ndjson(1))
            #expect(refused.status == 74)
            #expect(refused.stderr.contains("another application"))
            #expect(try DatabaseSetup.userTables(app) == ["customers"])

            // Not SQLite at all.
            let text = dir + "/notes.txt"
            try String(repeating: "not a database\n", count: 100).write(toFile: text, atomically: true, encoding: .utf8)
            let notSQLite = try CLI.run(["status", "--db", text])
            #expect(notSQLite.status == 74)
            #expect(notSQLite.stderr.contains("not an SQLite database"))

            // A newer schema.
            let newer = dir + "/newer.sqlite"
            #expect(try CLI.run(["migrate", "--db", newer]).status == 0)
            try SQLiteConnection(path: newer).execute("INSERT INTO outbox_schema_migrations VALUES (99, 'future', 0)")
            let tooNew = try CLI.run(["status", "--db", newer])
            #expect(tooNew.status == 74)
            #expect(tooNew.stderr.contains("newer than this outbox knows"))

            // A directory that does not exist.
            let missing = try CLI.run(["status", "--db", dir + "/no/such/dir/o.sqlite"])
            #expect(missing.status == 74)
            #expect(missing.stderr.split(separator: "\n").count <= 2)
        }
    }

    @Test func migrateCreatesAPrivateFile() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/fresh.sqlite"
            let result = try CLI.run(["migrate", "--db", db, "--json"])
            #expect(result.status == 0)
            #expect(CLI.json(result.stdout)?["schema_version"] as? Int == Migration.latestVersion)
            let mode = (try FileManager.default.attributesOfItem(atPath: db)[.posixPermissions] as? NSNumber)?.intValue
            #expect(mode == 0o600)
        }
    }
}
