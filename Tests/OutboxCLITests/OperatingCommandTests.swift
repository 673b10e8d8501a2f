import Foundation
import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// Config precedence, retention, verify and backup, through the binary.
@Suite(.serialized) struct OperatingCommandTests {
    @Test func flagsBeatEnvironmentWhichBeatsTheConfigFile() throws {
        try withTemporaryDirectory { dir in
            let config = dir + "/outbox.json"
            try #"{"db": "\#(dir)/from-file.sqlite", "batch-size": 500, "concurrency": 2, "lease": "90s"}"#.write(
                toFile: config, atomically: true, encoding: .utf8)
            let result = try CLI.run(
                ["config", "show", "--json", "--config", config, "--batch-size", "700"],
                environment: ["OUTBOX_CONCURRENCY": "3", "OUTBOX_BATCH_SIZE": "600", "ZUORA_CLIENT_SECRET": "super-secret-value", "ZUORA_CLIENT_ID": "cid"])
            #expect(result.status == 0, "\(result.stderr)")
            let shown = try #require(CLI.json(result.stdout) as? [String: [String: String]])
            #expect(shown["batch-size"] == ["value": "700", "source": "flag"])
            #expect(shown["concurrency"] == ["value": "3", "source": "environment"])
            #expect(shown["lease"]?["source"] == "file")
            #expect(shown["db"] == ["value": dir + "/from-file.sqlite", "source": "file"])
            #expect(shown["max-attempts"]?["source"] == "default")
            #expect(shown["client-id"]?["value"] == "cid")
            #expect(!result.stdout.contains("super-secret-value"), "a secret was printed")
            #expect(shown["client-secret"]?["value"]?.contains("****") == true)
        }
    }

    @Test func aBadConfigFileIsAUsageError() throws {
        try withTemporaryDirectory { dir in
            for (name, text, message) in [
                ("typo", #"{"batchsize": 5}"#, "unknown keys: batchsize"),
                ("type", #"{"batch-size": "lots"}"#, "must be a whole number"),
                ("secret", #"{"client-secret": "x"}"#, "secrets are read from the environment only"),
                ("json", "{not json", "not a valid JSON object"),
            ] {
                let path = dir + "/\(name).json"
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                let result = try CLI.run(["status", "--config", path, "--db", dir + "/o.sqlite"])
                #expect(result.status == 64, "\(name)")
                #expect(result.stderr.contains(message), "\(name): \(result.stderr)")
            }
            #expect(try CLI.run(["status", "--config", dir + "/missing.json"]).status == 64)
        }
    }

    @Test func purgeDeletesOldSentEventsAndShrinksTheFile() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let pad = String(repeating: "p", count: 400)
            let events = (0..<4000).map { #"{"CustomerId":"C-\#($0)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"pad":"\#(pad)"}"# }
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: events.joined(separator: "\n")).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            #expect(try CLI.run(["drain", "--once", "--db", db, "--log-level", "error"], environment: mock.environment).status == 0)
            // Not old enough yet: nothing goes.
            let early = try CLI.run(["purge", "--sent-older-than", "7d", "--json", "--db", db])
            #expect(CLI.json(early.stdout)?["purged"] as? Int == 0)
            let sizeBefore = try fileSize(db)
            let purge = try CLI.run(["purge", "--sent-older-than", "0s", "--json", "--db", db])
            #expect(purge.status == 0, "\(purge.stderr)")
            #expect(CLI.json(purge.stdout)?["purged"] as? Int == 4000)
            #expect(try fileSize(db) < sizeBefore / 2, "the file did not shrink")
            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(status["sent"] as? Int == 0)
            #expect(try CLI.run(["verify", "--db", db]).status == 0)
        }
    }

    @Test func verifyCatchesCountersThatDoNotAddUp() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(10)).status == 0)
            let ok = try CLI.run(["verify", "--json", "--db", db])
            #expect(ok.status == 0)
            #expect(CLI.json(ok.stdout)?["ok"] as? Bool == true)
            // An event lost behind the outbox's back.
            try SQLiteConnection(path: db).execute("DELETE FROM outbox_log WHERE id = (SELECT min(id) FROM outbox_log)")
            let broken = try CLI.run(["verify", "--db", db])
            #expect(broken.status == 1)
            #expect(broken.stdout.contains("pending: counter says 10, rows say 9"))
            #expect(broken.stderr.contains("do not add up"))
        }
    }

    @Test func backupWritesAPrivateConsistentCopy() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(50)).status == 0)
            let copy = dir + "/copy.sqlite"
            #expect(try CLI.run(["backup", "--to", copy, "--db", db]).status == 0)
            let mode = (try FileManager.default.attributesOfItem(atPath: copy)[.posixPermissions] as? NSNumber)?.intValue
            #expect(mode == 0o600)
            #expect(CLI.json(try CLI.run(["status", "--json", "--db", copy]).stdout)?["pending"] as? Int == 50)
            #expect(try CLI.run(["backup", "--to", copy, "--db", db]).status == 64, "a backup must never overwrite")
        }
    }

    private func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
    }
}
