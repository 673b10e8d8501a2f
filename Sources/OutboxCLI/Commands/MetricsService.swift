import HTTPServing
import Logging
import Metrics
import OutboxDispatcher
import Prometheus
import ServiceLifecycle
import Synchronization
import UsageOutbox

/// Serves Prometheus text at `/metrics`. The dispatcher's counters come from
/// swift-metrics; queue depths and the appended total are read from the
/// database at each scrape, so they include other processes' appends.
/// `/healthz` answers 200 while the process serves; `/readyz` answers 200
/// while the database answers and the last token request gave a token, else
/// 503 and why. `outbox_store_up` says whether the last scrape could read
/// the database (0: the queue gauges hold older values).
final class MetricsService: Service, Sendable {
    private let server: LoopbackHTTPServer

    private init(server: LoopbackHTTPServer) {
        self.server = server
    }

    static func start(
        port: Int, host: String = "127.0.0.1", outbox: any OperatedStore, dispatcher: Dispatcher, logger: Logger,
        credentialsProblem: @escaping @Sendable () -> String? = { nil }
    ) async throws -> MetricsService {
        let registry = PrometheusMetricsBootstrap.registry()
        let gauges = QueueGauges(registry: registry)
        let meterGauges = MeterGauges(registry: registry)
        let server: LoopbackHTTPServer
        do {
            server = try await startServer(
                host: host, port: port, registry: registry, gauges: gauges, meterGauges: meterGauges, outbox: outbox, credentialsProblem: credentialsProblem)
        } catch {
            throw CommandFailure(
                "cannot serve metrics on \(host):\(port) (--metrics-port \(port), --metrics-address \(host)): \(MetricsService.describe(error))",
                hint: "pick a free port with --metrics-port (or OUTBOX_METRICS_PORT), or 0 to let the system choose one",
                exitCode: Exit.usage)
        }
        // The bound URL, at notice level: with --metrics-port 0 this is how
        // a supervisor (or a test) learns the port.
        // An IPv6 address goes in brackets, or the URL is not one.
        let hostInURL = host.contains(":") ? "[\(host)]" : host
        logger.notice("serving Prometheus metrics", metadata: ["url": "http://\(hostInURL):\(server.port)/metrics"])
        return MetricsService(server: server)
    }

    private static func startServer(
        host: String, port: Int, registry: PrometheusCollectorRegistry, gauges: QueueGauges, meterGauges: MeterGauges,
        outbox: any OperatedStore, credentialsProblem: @escaping @Sendable () -> String?
    ) async throws -> LoopbackHTTPServer {
        try await LoopbackHTTPServer.start(host: host, port: port, limits: .scrapeEndpoint) { request in
            guard request.method == "GET" else { return .text(405, "only GET\n") }
            switch request.path {
            case "/metrics":
                // A failed read keeps the last values, and says so.
                if let status = await AnswerWithin.run(Self.readLimit, { try await outbox.status() }) {
                    gauges.update(status)
                    meterGauges.update(status)
                } else {
                    gauges.markUnreadable()
                }
                return .response(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: registry.emitToBuffer())
            case "/healthz":
                return .text(200, "ok\n")
            case "/readyz":
                // The counters only: a probe every few seconds stays cheap.
                guard await AnswerWithin.run(Self.readLimit, { try await outbox.undeliveredCount() }) != nil else {
                    return .text(503, "not ready: the database does not answer\n")
                }
                if let problem = credentialsProblem() { return .text(503, "not ready: \(problem)\n") }
                return .text(200, "ready\n")
            default:
                return .text(404, "not found; try /metrics, /healthz or /readyz\n")
            }
        }
    }

    /// How long a scrape or probe waits for the database: a database out of
    /// reach (its pool reconnecting) gives an answer that says so, within a
    /// prober's usual timeout, instead of no answer.
    static let readLimit: Duration = .seconds(3)

    /// NIO's bind errors name the syscall; a person needs the reason.
    static func describe(_ error: Error) -> String {
        let text = "\(error)"
        if text.contains("errno: 98") || text.contains("Address already in use") { return "the port is already in use" }
        if text.contains("errno: 13") || text.contains("Permission denied") { return "permission denied (ports below 1024 need privileges)" }
        if text.contains("errno: 99") || text.contains("Cannot assign requested address") { return "no such local address" }
        return text
    }

    func run() async throws {
        try? await gracefulShutdown()
        await server.shutdown()
    }
}
