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
final class MetricsService: Service, Sendable {
    private let server: LoopbackHTTPServer

    private init(server: LoopbackHTTPServer) {
        self.server = server
    }

    static func start(port: Int, host: String = "127.0.0.1", outbox: any OutboxStore, dispatcher: Dispatcher, logger: Logger) async throws -> MetricsService {
        let registry = PrometheusMetricsBootstrap.registry()
        let gauges = QueueGauges(registry: registry)
        let server: LoopbackHTTPServer
        do {
            server = try await startServer(host: host, port: port, registry: registry, gauges: gauges, outbox: outbox)
        } catch {
            throw CommandFailure(
                "cannot serve metrics on \(host):\(port) (--metrics-port \(port)): \(MetricsService.describe(error))",
                hint: "pick a free port with --metrics-port (or OUTBOX_METRICS_PORT), or 0 to let the system choose one",
                exitCode: Exit.usage)
        }
        // The bound URL, at notice level: with --metrics-port 0 this is how
        // a supervisor (or a test) learns the port.
        logger.notice("serving Prometheus metrics", metadata: ["url": "http://\(host):\(server.port)/metrics"])
        return MetricsService(server: server)
    }

    private static func startServer(
        host: String, port: Int, registry: PrometheusCollectorRegistry, gauges: QueueGauges,
        outbox: any OutboxStore
    ) async throws -> LoopbackHTTPServer {
        try await LoopbackHTTPServer.start(host: host, port: port, limits: .scrapeEndpoint) { request in
            guard request.method == "GET", request.path == "/metrics" else {
                return .text(404, "not found; metrics are at /metrics\n")
            }
            if let status = try? await outbox.status() { gauges.update(status) }
            return .response(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: registry.emitToBuffer())
        }
    }

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

/// Installs the Prometheus backend for swift-metrics, once per process.
enum PrometheusMetricsBootstrap {
    private static let shared = Mutex<PrometheusCollectorRegistry?>(nil)

    static func registry() -> PrometheusCollectorRegistry {
        shared.withLock { existing in
            if let existing { return existing }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = [
                .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
            ]
            factory.defaultValueHistogramBuckets = [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000]
            MetricsSystem.bootstrap(factory)
            existing = registry
            return registry
        }
    }
}

/// Gauges read from the outbox's counters at scrape time.
struct QueueGauges: Sendable {
    let depth: [EventState: Prometheus.Gauge]
    let oldestAge: Prometheus.Gauge
    let appended: Prometheus.Gauge
    let pausedMeters: Prometheus.Gauge
    let lateRejected: Prometheus.Gauge

    init(registry: PrometheusCollectorRegistry) {
        depth = Dictionary(
            uniqueKeysWithValues: EventState.allCases.map { state in
                (
                    state,
                    registry.makeGauge(
                        descriptor: MetricNameDescriptor(namespace: "outbox", metricName: "queue_depth", unitName: "events", helpText: "Events in each state"),
                        labels: [("state", state.description)])
                )
            })
        oldestAge = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "outbox", metricName: "oldest_pending_age", unitName: "seconds",
                helpText: "Age of the oldest event not yet delivered"))
        appended = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "outbox", metricName: "appended", unitName: "events",
                helpText: "Events appended to this outbox by all processes"))
        pausedMeters = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "outbox", metricName: "meters_paused",
                helpText: "Meters an operator paused (outbox meters pause)"))
        lateRejected = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "outbox", metricName: "late_rejected", unitName: "events",
                helpText: "Events Zuora rejected after its 200, found by reconcile, by all processes"))
    }

    func update(_ status: OutboxStatus) {
        for state in EventState.allCases { depth[state]?.set(Double(status.totals[state])) }
        oldestAge.set(status.oldestPendingAgeSeconds ?? 0)
        appended.set(Double(status.totals.appended))
        pausedMeters.set(Double(status.meters.values.count { $0.pause != nil }))
        lateRejected.set(Double(status.meters.values.reduce(0) { $0 + $1.lateRejected }))
    }
}
