import Foundation

/// `outbox drain --once` end to end: append `count` events (not timed), then
/// drain them to a loopback sink with the real binary.
enum DrainBenchmarks {
    struct Result {
        let rate: Double
        let peakRSS: Int
        let requests: Int
    }

    static func drain(count: Int, sinkURL: String, gzip: Bool, label: String, directory: String, environment extra: [String: String] = [:]) throws -> Result {
        let db = directory + "/drain-\(label).sqlite"
        let input = directory + "/drain.ndjson"
        if !FileManager.default.fileExists(atPath: input) { try Workload.ndjson(count: count, path: input) }
        let appended = try Workload.outbox(["append", "--meter", "api-calls", "--file", input, "--db", db])
        guard appended.status == 0 else { throw BenchError("append before drain failed: \(appended.stderr)") }
        var environment = ["ZUORA_BASE_URL": sinkURL, "ZUORA_BEARER_TOKEN": "bench-token"]
        environment.merge(extra) { $1 }
        let run = try Workload.outbox(
            [
                "drain", "--once", "--json", "--batch-size", "1000", gzip ? "--gzip" : "--no-gzip",
                "--log-level", "error", "--db", db,
            ], environment: environment)
        guard run.status == 0 else { throw BenchError("drain to \(label) failed (\(run.status)): \(run.stderr)") }
        let summary = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any] ?? [:]
        guard summary["sent"] as? Int == count else { throw BenchError("drain to \(label) sent \(summary["sent"] ?? "?") of \(count)") }
        try? FileManager.default.removeItem(atPath: db)
        try? FileManager.default.removeItem(atPath: db + "-wal")
        return Result(rate: Double(count) / run.seconds, peakRSS: run.peakRSS, requests: summary["requests"] as? Int ?? 0)
    }

    /// `outbox mock-zuora` on a free port, for the drain-to-mock figure.
    final class Mock {
        let process: Process
        let baseURL: String

        init() throws {
            process = Process()
            process.executableURL = URL(fileURLWithPath: Workload.outboxBinary)
            process.arguments = ["mock-zuora", "--port", "0", "--log-level", "error"]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            var line = Data()
            while true {
                let byte = out.fileHandleForReading.readData(ofLength: 1)
                if byte.isEmpty || byte == Data("\n".utf8) { break }
                line.append(byte)
            }
            baseURL = String(decoding: line, as: UTF8.self)
        }

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
