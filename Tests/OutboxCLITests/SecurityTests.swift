import Foundation
import Testing

/// Secrets never leave the environment: not in logs at any level or format,
/// not in error messages, not in the database file.
@Suite(.serialized) struct SecurityTests {
    @Test(arguments: ["text", "json"])
    func secretsAreAbsentFromLogsErrorsAndTheDatabase(format: String) throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(300)).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            // A full trace-level drain with OAuth.
            let drained = try CLI.run(
                ["drain", "--once", "--db", db, "--log-level", "trace", "--log-format", format, "--batch-size", "50"],
                environment: mock.environment)
            #expect(drained.status == 0)
            #expect(drained.stderr.contains("usage request"), "trace logs should be there to inspect")
            // Refused credentials: the error path.
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(5, prefix: "X")).status == 0)
            var wrong = mock.environment
            wrong["ZUORA_CLIENT_SECRET"] = "wrong-secret-s3cr3t"
            let refused = try CLI.run(["drain", "--once", "--max-time", "1", "--db", db, "--log-level", "trace", "--log-format", format], environment: wrong)
            // Caught at start (the drain's check): exit 64, nothing sent.
            #expect(refused.status == 64)
            #expect(refused.stderr.contains("refused the OAuth client credentials"))
            // A fixed token that is refused.
            let bearer = try CLI.run(
                ["drain", "--once", "--max-time", "1", "--db", db, "--log-level", "trace", "--log-format", format],
                environment: ["ZUORA_BASE_URL": mock.baseURL, "ZUORA_BEARER_TOKEN": "fixed-t0ken-value"])
            #expect(bearer.status == 75)
            let config = try CLI.run(["config", "show", "--db", db], environment: wrong)
            let everything = drained.stdout + drained.stderr + refused.stdout + refused.stderr + bearer.stdout + bearer.stderr + config.stdout + config.stderr
            for secret in ["mock-client-secret", "wrong-secret-s3cr3t", "fixed-t0ken-value", "mock-token-"] {
                #expect(!everything.contains(secret), "\(secret) appeared in the output")
            }
            var bytes = try Data(contentsOf: URL(fileURLWithPath: db))
            bytes.append((try? Data(contentsOf: URL(fileURLWithPath: db + "-wal"))) ?? Data())
            for secret in ["mock-client-secret", "wrong-secret-s3cr3t", "fixed-t0ken-value", "mock-token-"] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) is in the database file")
            }
        }
    }

    @Test func noFlagTakesASecret() throws {
        let help = try CLI.run(["drain", "--help"]).stdout.lowercased()
        #expect(!help.contains("--client-secret") && !help.contains("--token") && !help.contains("--password"))
    }
}
