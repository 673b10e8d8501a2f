import Foundation
import UsageOutbox

/// The outbox's own figures, measured the way an app or a script would see them.
enum OutboxBenchmarks {
    /// `outbox append --file` of `count` NDJSON events: events per second.
    static func cliAppend(count: Int, directory: String) throws -> Double {
        let input = directory + "/append.ndjson"
        try Workload.ndjson(count: count, path: input)
        let run = try Workload.outbox(["append", "--meter", "api-calls", "--file", input, "--db", directory + "/cli-append.sqlite"])
        guard run.status == 0 else { throw BenchError("outbox append failed: \(run.stderr)") }
        return Double(count) / run.seconds
    }

    /// `outbox append --file --event-id-field EventId` of `count` events that
    /// each carry their own id: every id is checked against the meter's
    /// (the idempotent append). Events per second.
    static func cliAppendOwnIDs(count: Int, directory: String) throws -> Double {
        let input = directory + "/append-own-ids.ndjson"
        try Workload.ndjson(count: count, path: input, ownIDs: true)
        let run = try Workload.outbox([
            "append", "--meter", "api-calls", "--file", input, "--event-id-field", "EventId", "--db", directory + "/cli-append-own-ids.sqlite",
        ])
        guard run.status == 0 else { throw BenchError("outbox append with own ids failed: \(run.stderr)") }
        return Double(count) / run.seconds
    }

    /// `producer | outbox append` of `count` NDJSON events through a pipe:
    /// read and validated into a spool first, then inserted (the write lock
    /// is never held while the producer is slow). Events per second.
    static func cliAppendFromPipe(count: Int, directory: String) throws -> Double {
        let input = directory + "/append-pipe.ndjson"
        try Workload.ndjson(count: count, path: input)
        let run = try Workload.outbox(["append", "--meter", "api-calls", "--db", directory + "/cli-append-pipe.sqlite"], pipingFile: input)
        guard run.status == 0 else { throw BenchError("outbox append from a pipe failed: \(run.stderr)") }
        return Double(count) / run.seconds
    }

    /// `Outbox.append(contentsOf:)` in chunks of `chunk` typed events.
    static func libraryAppend(count: Int, chunk: Int = 1000, directory: String) async throws -> Double {
        let outbox = try Outbox(path: directory + "/lib-append.sqlite")
        defer { outbox.close() }
        let events = (0..<chunk).map { index in
            UsageEvent(customerId: "C-\(index)", usageIdentifier: "api-calls", usageDate: "2026-11-29T10:00:00Z", quantity: Double(index % 97))
        }
        let clock = Stopwatch()
        var done = 0
        while done < count {
            try await outbox.append(contentsOf: Array(events.prefix(count - done)), meter: "api-calls")
            done += min(chunk, count - done)
        }
        return Double(count) / clock.seconds
    }

    /// `tasks` concurrent tasks, each appending `perTask` single events, so
    /// group commit can share syncs: events per second.
    /// With `ownIDs`, each event carries an id of its own (checked against
    /// the meter's: the idempotent append).
    static func groupCommit(tasks: Int, perTask: Int, ownIDs: Bool = false, directory: String) async throws -> (rate: Double, transactions: Int) {
        let outbox = try Outbox(
            OutboxConfiguration(path: directory + (ownIDs ? "/group-own-ids.sqlite" : "/group.sqlite"), eventIdField: ownIDs ? "EventId" : nil))
        defer { outbox.close() }
        let clock = Stopwatch()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for index in 0..<perTask {
                        let own = ownIDs ? #""EventId":"evt-\#(String(Workload.scrambled(task * perTask + index), radix: 16))","# : ""
                        try await outbox.append(
                            json: #"{\#(own)"CustomerId":"T\#(task)-\#(index)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#,
                            meter: "api-calls")
                    }
                }
            }
            try await group.waitForAll()
        }
        let rate = Double(tasks * perTask) / clock.seconds
        let status = try await outbox.status()
        guard status.totals.appended == tasks * perTask else { throw BenchError("group commit lost events: \(status.totals.appended)") }
        return (rate, outbox.writeStatistics.transactions)
    }

    /// One task appending single events: one transaction and one sync each.
    static func singleAppends(count: Int, directory: String) async throws -> Double {
        let outbox = try Outbox(path: directory + "/single.sqlite")
        defer { outbox.close() }
        let clock = Stopwatch()
        for index in 0..<count {
            try await outbox.append(
                json: #"{"CustomerId":"S-\#(index)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#, meter: "api-calls")
        }
        return Double(count) / clock.seconds
    }

    /// Median seconds per claim of `batch` events, for each of `backlogs`:
    /// (rows in the table, of which waiting). Claims on the outboxes
    /// alternate, so the machine's noise falls on all alike, and each claim
    /// is released again afterwards, so the backlog keeps its size while it
    /// is measured. Rows before the waiting ones are delivered, as a queue
    /// that has delivered them (and not purged them yet) holds them.
    static func claimCost(backlogs: [(rows: Int, waiting: Int)], batch: Int, claims: Int, directory: String) async throws -> [Double] {
        // Measured with synchronous=NORMAL: this isolates the query (an fsync
        // per claim would dominate both sides and hide what the backlog costs).
        var outboxes: [Outbox] = []
        defer { outboxes.forEach { $0.close() } }
        for (index, backlog) in backlogs.enumerated() {
            let path = directory + "/claim-\(index).sqlite"
            let input = directory + "/claim-\(index).ndjson"
            try Workload.ndjson(count: backlog.rows, path: input)
            let run = try Workload.outbox(["append", "--meter", "api-calls", "--file", input, "--db", path])
            guard run.status == 0 else { throw BenchError("append for the claim benchmark failed: \(run.stderr)") }
            try? FileManager.default.removeItem(atPath: input)
            if backlog.waiting < backlog.rows {
                let connection = try SQLiteConnection(path: path)
                // The oldest events were delivered (one settled range, the
                // meter's position past them); the newest `waiting` wait.
                let delivered = Int64(backlog.rows - backlog.waiting)
                try connection.execute("BEGIN IMMEDIATE")
                try connection.execute(
                    "INSERT INTO outbox_ranges (meter, first_id, last_id, events, settled_at) VALUES ('api-calls', 1, ?1, ?1, 0)", .integer(delivered))
                try connection.execute(
                    "UPDATE outbox_meters SET pending = ?1, sent = ?2, claimed_through = ?2, delivered_through = ?2",
                    .integer(Int64(backlog.waiting)), .integer(delivered))
                try connection.execute("COMMIT")
            }
            outboxes.append(try Outbox(OutboxConfiguration(path: path, durability: .normal)))
        }
        var samples = [[Double]](repeating: [], count: outboxes.count)
        for _ in 0..<claims {
            for (index, outbox) in outboxes.enumerated() {
                let clock = Stopwatch()
                let claim = try await outbox.claim(meter: "api-calls", owner: "bench", limit: batch, maxBytes: 4 << 20, leaseMilliseconds: 60_000)
                samples[index].append(clock.seconds)
                guard let claim, claim.events.count == batch else { throw BenchError("claimed \(claim?.events.count ?? 0), expected \(batch)") }
                _ = try await outbox.release(claim.events.map(\.rowID), meter: "api-calls", token: claim.token)
            }
        }
        return samples.map { $0.sorted()[$0.count / 2] }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
