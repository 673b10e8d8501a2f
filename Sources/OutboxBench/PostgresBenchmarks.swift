import Foundation

/// The PostgreSQL store: bulk append, and drain throughput with 1, 2 and 4
/// `outbox drain` workers sharing one queue (each its own process, as on
/// separate hosts), to the nginx sink.
enum PostgresBenchmarks {
    struct Result {
        let appendRate: Double
        let drainRates: [(workers: Int, rate: Double)]
    }

    static func run(count: Int, baseURL: String, sinkURL: String, workers: [Int], directory: String) throws -> Result {
        let input = directory + "/pg.ndjson"
        try Workload.ndjson(count: count, path: input)
        var appendRate = 0.0
        var drainRates: [(Int, Double)] = []
        for workerCount in workers {
            let url = try freshDatabase(baseURL, name: "bench_\(workerCount)_\(getpid())")
            defer { try? psql(baseURL, "DROP DATABASE IF EXISTS bench_\(workerCount)_\(getpid()) WITH (FORCE)") }
            let appended = try Workload.outbox(["append", "--meter", "api-calls", "--file", input, "--db", url])
            guard appended.status == 0 else { throw BenchError("append to PostgreSQL failed: \(appended.stderr)") }
            if appendRate == 0 { appendRate = Double(count) / appended.seconds }
            let clock = Stopwatch()
            let processes = try (0..<workerCount).map { _ in
                try start(
                    ["drain", "--once", "--no-gzip", "--batch-size", "1000", "--log-level", "error", "--db", url],
                    environment: ["ZUORA_BASE_URL": sinkURL, "ZUORA_BEARER_TOKEN": "bench"])
            }
            for process in processes {
                process.waitUntilExit()
                guard process.terminationStatus == 0 else { throw BenchError("a PostgreSQL drain worker exited \(process.terminationStatus)") }
            }
            drainRates.append((workerCount, Double(count) / clock.seconds))
        }
        return Result(appendRate: appendRate, drainRates: drainRates)
    }

    static func start(_ arguments: [String], environment: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Workload.outboxBinary)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func freshDatabase(_ baseURL: String, name: String) throws -> String {
        try psql(baseURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        try psql(baseURL, "CREATE DATABASE \(name)")
        var components = URLComponents(string: baseURL)!
        components.path = "/" + name
        return components.string!
    }

    static func psql(_ url: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [url, "-v", "ON_ERROR_STOP=1", "-qc", sql]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("psql failed: \(sql)") }
    }
}
