import Foundation
import OutboxCore
import OutboxDispatcher
import PowerCutVFS
import UsageOutbox
import ZuoraMock

/// Runs one `Scenario` against a fresh outbox with the recording VFS
/// installed, marking each append that returned (`ack <batch> <events>`)
/// and each settlement (`settled …`, `SettlementMarkingStore`).
struct Workload {
    let directory: String
    let durability: OutboxConfiguration.Durability
    let repository: URL
    var seed: UInt64

    var databasePath: String { directory + "/outbox.sqlite" }
    static let meter = "power-cut"

    static func event(batch: String, index: Int, invalid: Bool = false) -> String {
        #"{"CustomerId":"\#(invalid ? "INVALID-" : "")\#(batch)-\#(index)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":\#(index % 9 + 1)}"#
    }

    /// Marks an append that returned: `ack <batch> <events>`.
    static func acknowledge(batch: String, events: Int) {
        PowerCutMarks.write("ack \(batch) \(events)")
    }

    /// What a recorded run started from: the files before the recorder
    /// started, and the fixture's events among them.
    struct Recording {
        var initial: [String: Data] = [:]
        var fixtureEvents = 0
        /// Customers of the fixture's events that were sent or dead.
        var fixtureSettled: Set<String> = []
    }

    /// Runs `scenario` with the recorder installed; what it wrote is in
    /// `logPath`.
    func record(_ scenario: Scenario, logPath: String, injectedDefects: Set<InjectedDefect> = []) async throws -> Recording {
        var recording = Recording()
        if scenario == .migration {
            try Schema2Database.write(at: databasePath, repository: repository)
            (recording.fixtureEvents, recording.fixtureSettled) = try Schema2Database.events(at: databasePath)
            for suffix in ["", "-wal"] {
                if let bytes = FileManager.default.contents(atPath: databasePath + suffix) { recording.initial[databasePath + suffix] = bytes }
            }
        }
        guard power_cut_vfs_install(directory, logPath) == 0 else { throw HarnessFailure("cannot install the recording VFS") }
        var configuration = OutboxConfiguration(path: databasePath, durability: durability)
        configuration.injectedDefects = injectedDefects
        let outbox = try Outbox(configuration)
        PowerCutMarks.write("opened")
        let mock = try await ZuoraMockServer.start(MockConfiguration())
        var failure: Error?
        do {
            try await run(scenario, outbox: outbox, mock: mock)
        } catch {
            failure = error
        }
        await mock.shutdown()
        outbox.close()
        guard power_cut_vfs_uninstall() == 0 else { throw HarnessFailure("the operation log could not be written whole") }
        if let failure { throw failure }
        return recording
    }

    private func run(_ scenario: Scenario, outbox: Outbox, mock: ZuoraMockServer) async throws {
        switch scenario {
        case .appends:
            try await appendEveryWay(outbox, producers: 0..<9, scale: 1)
        case .delivery:
            // Faults: a share of 500s (retries), and invalid events in the
            // batches (400s, bisected into halves until the bad ones die).
            mock.update { $0.failureRate = 0.2 }
            async let appended: Void = appendEveryWay(outbox, producers: 0..<9, scale: 1, invalidEvery: 37)
            let dispatcher = try dispatcher(outbox, mock: mock)
            try await appended
            _ = try await dispatcher.drainOnce(maxTime: .seconds(60))
        case .takeover:
            try await appendBulk(outbox, producer: 0, batches: 3, size: 120)
            // A dispatcher that claimed and vanished: its lease lapses at once.
            for _ in 0..<2 {
                _ = try await outbox.claim(meter: Self.meter, owner: "vanished", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 1)
            }
            PowerCutMarks.write("claims abandoned")
            _ = try await dispatcher(outbox, mock: mock).drainOnce(maxTime: .seconds(60))
        case .retention:
            try await appendBulk(outbox, producer: 0, batches: 4, size: 100)
            try await drainAll(outbox, mock: mock)
            PowerCutMarks.write("purge")
            _ = try await outbox.purgeSent(before: WallClock.nowMilliseconds() + 1000)
            // The next events after the log emptied, then retention again.
            try await appendBulk(outbox, producer: 1, batches: 2, size: 50)
            try await drainAll(outbox, mock: mock)
            PowerCutMarks.write("purge")
            _ = try await outbox.purgeSent(before: WallClock.nowMilliseconds() + 1000)
        case .migration:
            try await appendBulk(outbox, producer: 0, batches: 2, size: 60)
            try await outbox.resumeMeter("b")
            _ = try await dispatcher(outbox, mock: mock).drainOnce(maxTime: .seconds(60))
        }
    }

    private func drainAll(_ outbox: Outbox, mock: ZuoraMockServer) async throws {
        _ = try await dispatcher(outbox, mock: mock).drainOnce(maxTime: .seconds(60))
    }

    private func dispatcher(_ outbox: Outbox, mock: ZuoraMockServer) throws -> Dispatcher {
        var configuration = DispatcherConfiguration(
            baseURL: mock.baseURL, credentials: .oauth(clientID: "mock-client-id", clientSecret: Secret("mock-client-secret")))
        configuration.batchSize = 50
        configuration.requestTimeout = .seconds(5)
        configuration.lease = .seconds(10)
        configuration.backoff = BackoffPolicy(base: .milliseconds(5), cap: .milliseconds(20))
        return try Dispatcher(store: SettlementMarkingStore(outbox), configuration: configuration)
    }

    /// Single appends one after another (producer 0), single appends from
    /// concurrent tasks that group commit (1 to 6), bulk appends (7) and
    /// appends piped through a file descriptor (8).
    private func appendEveryWay(_ outbox: Outbox, producers: Range<Int>, scale: Int, invalidEvery: Int = 0) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for producer in producers {
                group.addTask {
                    switch producer {
                    case 0: try await appendSingles(outbox, producer: producer, count: 40 * scale, invalidEvery: invalidEvery)
                    case 1...6: try await appendSingles(outbox, producer: producer, count: 15 * scale, invalidEvery: invalidEvery)
                    case 7: try await appendBulk(outbox, producer: producer, batches: 3, size: 100 * scale, invalidEvery: invalidEvery)
                    default: try await appendPiped(outbox, producer: producer, batches: 2, size: 150 * scale, invalidEvery: invalidEvery)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func appendSingles(_ outbox: Outbox, producer: Int, count: Int, invalidEvery: Int) async throws {
        for sequence in 0..<count {
            let batch = "\(producer).\(sequence)"
            let invalid = invalidEvery > 0 && (producer * 1000 + sequence) % invalidEvery == 0
            _ = try await outbox.append(json: Self.event(batch: batch, index: 0, invalid: invalid), meter: Self.meter)
            Self.acknowledge(batch: batch, events: 1)
        }
    }

    private func appendBulk(_ outbox: Outbox, producer: Int, batches: Int, size: Int, invalidEvery: Int = 0) async throws {
        for sequence in 0..<batches {
            let batch = "\(producer).\(sequence)"
            let events = (0..<size).map { Self.event(batch: batch, index: $0, invalid: invalidEvery > 0 && $0 % invalidEvery == 5) }
            _ = try await outbox.append(jsonEvents: events, meter: Self.meter)
            Self.acknowledge(batch: batch, events: size)
        }
    }

    /// As `outbox append` reads a pipe: newline-delimited events from a
    /// descriptor that is not a regular file.
    private func appendPiped(_ outbox: Outbox, producer: Int, batches: Int, size: Int, invalidEvery: Int) async throws {
        for sequence in 0..<batches {
            let batch = "\(producer).\(sequence)"
            let text =
                (0..<size).map { Self.event(batch: batch, index: $0, invalid: invalidEvery > 0 && $0 % invalidEvery == 3) }.joined(separator: "\n") + "\n"
            let pipe = Pipe()
            let writer = Thread {
                pipe.fileHandleForWriting.write(Data(text.utf8))
                try? pipe.fileHandleForWriting.close()
            }
            writer.start()
            let counts = try await outbox.appendStreamReporting(fileDescriptor: pipe.fileHandleForReading.fileDescriptor, meter: Self.meter)
            try? pipe.fileHandleForReading.close()
            guard counts.appended == size else { throw HarnessFailure("a piped append took \(counts.appended) of \(size) events") }
            Self.acknowledge(batch: batch, events: size)
        }
    }
}
