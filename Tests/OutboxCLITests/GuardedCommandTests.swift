import Foundation
import Testing

/// Guards for operators: read-only commands never create a database, every
/// purge has a dry run, deleting everything from a terminal asks for
/// `--yes`, and a duration must say its unit.
@Suite(.serialized) struct GuardedCommandTests {
    /// Runs `outbox` with a terminal for stdin (as an operator at a shell),
    /// through util-linux's `script`; stdout and stderr come back together.
    static func runInTerminal(_ arguments: [String]) throws -> CLI.Result {
        let quoted = ([CLI.binary] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return try CLI.run(["-qec", quoted, "/dev/null"], executable: "/usr/bin/script")
    }

    @Test(arguments: [
        ["status"], ["verify"], ["dead-letters", "list"], ["dead-letters", "export"], ["meters", "list"],
        ["purge", "--sent-older-than", "7d"], ["dead-letters", "purge", "--all", "--yes"], ["backup", "--to", "BACKUP"],
    ])
    func aReadOnlyOrDestructiveCommandNeverCreatesADatabase(command: [String]) throws {
        try withTemporaryDirectory { dir in
            let typo = dir + "/typo.sqlite"
            let result = try CLI.run(command.map { $0 == "BACKUP" ? dir + "/backup.sqlite" : $0 } + ["--db", typo])
            #expect(result.status == 74, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("there is no outbox at \(typo)") && result.stderr.contains("--db"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: typo), "\(command) created \(typo)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/backup.sqlite"), "an empty backup was left")
        }
    }

    @Test func appendMigrateAndDrainStillCreateOne() throws {
        try withTemporaryDirectory { dir in
            #expect(try CLI.run(["migrate", "--db", dir + "/m.sqlite"]).status == 0)
            #expect(try CLI.run(["append", "--meter", "m", "--db", dir + "/a.sqlite"], stdin: ndjson(1)).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            #expect(try CLI.run(["drain", "--once", "--db", dir + "/d.sqlite"], environment: mock.environment).status == 0)
            for name in ["m", "a", "d"] { #expect(FileManager.default.fileExists(atPath: dir + "/\(name).sqlite")) }
        }
    }

    @Test(arguments: [
        (["purge", "--sent-older-than", "7"], [String: String]()),
        (["dead-letters", "purge", "--older-than", "30"], [:]),
        (["drain", "--once"], ["OUTBOX_LEASE": "60"]),
    ])
    func aDurationWithoutAUnitIsAUsageError(command: [String], environment: [String: String]) throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["migrate", "--db", db]).status == 0)
            let result = try CLI.run(command + ["--db", db], environment: environment)
            #expect(result.status == 64, "\(command) \(environment): \(result.stderr)")
            #expect(result.stderr.contains("90s") || result.stderr.contains("duration"), "\(result.stderr)")
        }
    }

    /// 6 events sent, 2 dead letters: what the purges below work on.
    static func deliveredOutbox(_ dir: String) throws -> String {
        let db = dir + "/o.sqlite"
        #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(6) + ndjson(2, prefix: "INVALID")).status == 0)
        let mock = try MockProcess()
        defer { mock.stop() }
        let drained = try CLI.run(["drain", "--once", "--json", "--db", db, "--log-level", "error"], environment: mock.environment)
        #expect(CLI.json(drained.stdout)?["sent"] as? Int == 6 && CLI.json(drained.stdout)?["dead"] as? Int == 2, "\(drained.stdout)")
        return db
    }

    @Test func purgesHaveADryRunThatDeletesNothing() throws {
        try withTemporaryDirectory { dir in
            let db = try Self.deliveredOutbox(dir)
            let sentDry = try CLI.run(["purge", "--sent-older-than", "0s", "--dry-run", "--json", "--db", db])
            #expect(sentDry.status == 0 && CLI.json(sentDry.stdout)?["would_purge"] as? Int == 6, "\(sentDry.stdout) \(sentDry.stderr)")
            let letters = CLI.jsonArray(try CLI.run(["dead-letters", "list", "--json", "--db", db]).stdout)
            let ids = letters.compactMap { $0["id"] as? String }
            #expect(ids.count == 2)
            let deadDry = try CLI.run(["dead-letters", "purge", "--all", "--dry-run", "--json", "--db", db])
            #expect(deadDry.status == 0 && CLI.json(deadDry.stdout)?["would_purge"] as? Int == 2, "\(deadDry.stdout) \(deadDry.stderr)")
            #expect(Set(CLI.json(deadDry.stdout)?["ids"] as? [String] ?? []) == Set(ids))
            let unknown = try CLI.run(["dead-letters", "purge", "no-such-id", "--dry-run", "--db", db])
            #expect(unknown.status == 65 && unknown.stderr.contains("no-such-id"), "\(unknown.stderr)")
            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(status["sent"] as? Int == 6 && status["dead"] as? Int == 2, "a dry run deleted something: \(status)")
            // Without --dry-run, from a script (no terminal): no question.
            let purged = try CLI.run(["purge", "--sent-older-than", "0s", "--json", "--db", db])
            #expect(purged.status == 0 && CLI.json(purged.stdout)?["purged"] as? Int == 6, "\(purged.stdout) \(purged.stderr)")
        }
    }

    @Test func aDurationWithoutAUnitInTheConfigFileIsRefused() throws {
        try withTemporaryDirectory { dir in
            try #"{"lease": 60}"#.write(toFile: dir + "/outbox.json", atomically: true, encoding: .utf8)
            let result = try CLI.run(["config", "show", "--config", dir + "/outbox.json"])
            #expect(result.status == 64 && result.stderr.contains("lease"), "\(result.stderr)")
        }
    }

    @Test func deletingEverythingFromATerminalAsksForYes() throws {
        try withTemporaryDirectory { dir in
            let db = try Self.deliveredOutbox(dir)
            let everySent = try Self.runInTerminal(["purge", "--sent-older-than", "0s", "--db", db])
            #expect(everySent.status == 64 && everySent.stdout.contains("add --yes"), "\(everySent.stdout)")
            let everyDead = try Self.runInTerminal(["dead-letters", "purge", "--all", "--db", db])
            #expect(everyDead.status == 64 && everyDead.stdout.contains("add --yes"), "\(everyDead.stdout)")
            // The same without --all: what counts is what would go.
            let everyOld = try Self.runInTerminal(["dead-letters", "purge", "--older-than", "0s", "--db", db])
            #expect(everyOld.status == 64 && everyOld.stdout.contains("add --yes"), "\(everyOld.stdout)")
            // Part of them: no question.
            let one = try #require(CLI.jsonArray(try CLI.run(["dead-letters", "list", "--json", "--db", db]).stdout).first?["id"] as? String)
            #expect(try Self.runInTerminal(["dead-letters", "purge", one, "--db", db]).status == 0)
            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(status["sent"] as? Int == 6 && status["dead"] as? Int == 1, "\(status)")
            #expect(try Self.runInTerminal(["dead-letters", "purge", "--all", "--yes", "--db", db]).status == 0)
            #expect(try Self.runInTerminal(["purge", "--sent-older-than", "0s", "--yes", "--db", db]).status == 0)
            let after = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(after["dead"] as? Int == 0 && after["sent"] as? Int == 0, "\(after)")
        }
    }
}
