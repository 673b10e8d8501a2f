import Foundation
import Logging
import OutboxDispatcher
import ServiceLifecycleTestKit
import Synchronization
import UsageOutbox
import ZuoraMock

/// An outbox (a temporary SQLite file, or a fresh PostgreSQL database) and a
/// mock Zuora on a loopback port, with a dispatcher configuration tuned for
/// fast tests (short backoffs, polls and timeouts). Everything goes over real
/// HTTP and a real database.
struct Harness {
    let kind: StoreKind
    let place: TestStore
    let outbox: any OperatedStore
    let mock: ZuoraMockServer
    let logs: LogCapture

    static func with<R>(_ kind: StoreKind = .sqlite, mock configuration: MockConfiguration = MockConfiguration(), _ body: (Harness) async throws -> R)
        async throws -> R
    {
        let place = try await TestStore.make(kind)
        let outbox = try await place.open()
        let mock = try await ZuoraMockServer.start(configuration)
        let harness = Harness(kind: kind, place: place, outbox: outbox, mock: mock, logs: LogCapture())
        do {
            let result = try await body(harness)
            await mock.shutdown()
            await outbox.close()
            await place.remove()
            return result
        } catch {
            await mock.shutdown()
            await outbox.close()
            await place.remove()
            throw error
        }
    }

    /// Another connection to the same store, as another process would have.
    func openAnother() async throws -> any OperatedStore { try await place.open() }

    var oauth: ZuoraCredentials {
        .oauth(clientID: "mock-client-id", clientSecret: Secret("mock-client-secret"))
    }

    func configuration(_ tweak: (inout DispatcherConfiguration) -> Void = { _ in }) -> DispatcherConfiguration {
        var configuration = DispatcherConfiguration(baseURL: mock.baseURL, credentials: oauth, logger: logs.logger())
        configuration.backoff = BackoffPolicy(base: .milliseconds(20), cap: .milliseconds(200))
        configuration.pollInterval = .milliseconds(50)
        // Generous: the suite runs tests in parallel on small machines, and a
        // timeout under load is a (legitimate) transient failure that would
        // spend attempts in tests that count them.
        configuration.requestTimeout = .seconds(10)
        configuration.lease = .seconds(30)
        tweak(&configuration)
        return configuration
    }

    func dispatcher(store: (any DispatchStore)? = nil, _ tweak: (inout DispatcherConfiguration) -> Void = { _ in }) throws -> Dispatcher {
        try Dispatcher(store: store ?? outbox, configuration: configuration(tweak))
    }

    /// Appends `count` events to `meter`; customers named `prefix-N`.
    @discardableResult
    func append(_ count: Int, meter: String = "m", prefix: String = "C", quantity: (Int) -> Double = { Double($0 % 7) }) async throws -> [String] {
        let texts = (0..<count).map { index in
            UsageEvent(customerId: "\(prefix)-\(index)", usageIdentifier: "u", usageDate: "2026-11-29T10:00:00Z", quantity: quantity(index)).jsonText
        }
        try await outbox.append(jsonEvents: texts, meter: meter)
        return texts
    }

    func status() async throws -> OutboxStatus { try await outbox.status() }

    /// Runs `dispatcher` as a Service until `condition` holds, then shuts it
    /// down gracefully (as SIGTERM would) and returns its summary.
    func run(_ dispatcher: Dispatcher, until message: String, _ condition: @escaping @Sendable () async throws -> Bool) async throws -> DrainSummary {
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await dispatcher.run() }
                do {
                    // Generous: on PostgreSQL a claim waits for every older
                    // write transaction of the shared, loaded test cluster.
                    try await waitUntil(message, timeout: .seconds(60), condition)
                } catch {
                    trigger.triggerGracefulShutdown()
                    try await group.waitForAll()
                    throw error
                }
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        return dispatcher.summary
    }
}

/// Collects every log line (all levels, metadata included) for inspection.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    func logger() -> Logger {
        var logger = Logger(label: "test") { _ in CapturingHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
    var text: String { all.joined(separator: "\n") }

    struct CapturingHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append("\(event.level) \(event.message) \(merged)")
        }
    }
}
