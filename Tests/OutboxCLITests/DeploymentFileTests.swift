import Foundation
import Testing

/// The shipped deployment files work as shipped: the cron file's drain line,
/// run by `sh` with cron's bare environment (paths pointed at a temporary
/// directory, the binary standing in for /usr/local/bin/outbox), and the
/// unit's restart policy.
@Suite(.serialized) struct DeploymentFileTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/deploy")

    /// The cron file's drain command (the line's text after the five time
    /// fields and the user), with its paths moved into `dir`.
    static func drainCommand(in dir: String, maxTime: String = "30") throws -> String {
        let text = try String(contentsOf: deploy.appendingPathComponent("outbox-cron"), encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("*/5 ") })
        let command = line.split(separator: " ", maxSplits: 6).last.map(String.init) ?? ""
        #expect(command.contains("--max-time 240 "), "the test shortens the drain's --max-time: update it with the cron file")
        return
            command
            .replacingOccurrences(of: "/etc/outbox/zuora.env", with: dir + "/zuora.env")
            .replacingOccurrences(of: "/var/lib/myapp/outbox.sqlite", with: dir + "/outbox.sqlite")
            .replacingOccurrences(of: "/var/log/outbox/drain.log", with: dir + "/drain.log")
            .replacingOccurrences(of: "/run/lock/outbox-drain", with: dir + "/drain.lock")
            .replacingOccurrences(of: "--max-time 240 ", with: "--max-time \(maxTime) ")
    }

    /// Runs `command` as cron does: `sh -c`, an environment of PATH (the
    /// cron file's, with the binary's directory for /usr/local/bin) and HOME.
    static func runAsCron(_ command: String) throws -> CLI.Result {
        let path = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().path + ":/usr/bin:/bin"
        return try CLI.run(["-i", "PATH=\(path)", "HOME=/", "SHELL=/bin/sh", "/bin/sh", "-c", command], executable: "/usr/bin/env")
    }

    static func writeEnvironmentFile(_ dir: String, _ values: [String: String]) throws {
        let text = values.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "\n") + "\n"
        try text.write(toFile: dir + "/zuora.env", atomically: true, encoding: .utf8)
    }

    @Test func theCronDrainLineDeliversAndCountsWorkLeftAsSuccess() throws {
        try withTemporaryDirectory { dir in
            #expect(try CLI.run(["append", "--meter", "m", "--db", dir + "/outbox.sqlite"], stdin: ndjson(20)).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            try Self.writeEnvironmentFile(dir, mock.environment)
            let delivered = try Self.runAsCron(try Self.drainCommand(in: dir))
            #expect(
                delivered.status == 0, "\(delivered.stdout) \(delivered.stderr) \((try? String(contentsOfFile: dir + "/drain.log", encoding: .utf8)) ?? "")")
            #expect(try mock.statistics()["acceptedEvents"] as? Int == 20)

            // Zuora down: events remain (75), which cron must not mail about.
            #expect(try CLI.run(["append", "--meter", "m", "--db", dir + "/outbox.sqlite"], stdin: ndjson(5, prefix: "D")).status == 0)
            let down = try MockProcess(["--down"])
            defer { down.stop() }
            try Self.writeEnvironmentFile(dir, down.environment)
            let remaining = try Self.runAsCron(try Self.drainCommand(in: dir, maxTime: "1"))
            #expect(remaining.status == 0, "\(remaining.stderr)")
            #expect(remaining.stderr.isEmpty, "nothing for cron to mail: \(remaining.stderr)")
            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", dir + "/outbox.sqlite"]).stdout))
            #expect(status["sent"] as? Int == 20 && (status["failed"] as? Int ?? 0) + (status["pending"] as? Int ?? 0) == 5, "75, not 0: \(status)")
            #expect(try String(contentsOfFile: dir + "/drain.log", encoding: .utf8).contains("\"level\""), "the drain logs JSON to its file")
        }
    }

    @Test func theCronDrainLineKeepsARealFailuresExitCode() throws {
        try withTemporaryDirectory { dir in
            // A configuration error (no base URL): exit 64, for cron to mail.
            try Self.writeEnvironmentFile(dir, ["ZUORA_CLIENT_ID": "id", "ZUORA_CLIENT_SECRET": "secret"])
            let result = try Self.runAsCron(try Self.drainCommand(in: dir))
            #expect(result.status == 64, "\(result.stderr)")
            #expect(result.stderr.contains("outbox drain exited 64"), "a line for cron to mail: \(result.stderr)")
        }
    }

    @Test func theUnitDoesNotRestartOnErrorsARestartCannotFix() throws {
        let unit = try String(contentsOf: Self.deploy.appendingPathComponent("outbox-drain.service"), encoding: .utf8)
        #expect(unit.contains("RestartPreventExitStatus=64\n"), "a usage error is not restarted; a database out of reach (74) is")
        #expect(unit.contains("Restart=on-failure"))
        #expect(!FileManager.default.fileExists(atPath: Self.deploy.appendingPathComponent("outbox.cron").path), "Debian's cron ignores names with a dot")
    }
}
