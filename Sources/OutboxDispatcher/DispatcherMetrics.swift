import Metrics

/// The dispatcher's metrics, through swift-metrics: whatever backend the app
/// (or the CLI, with Prometheus) bootstrapped, or nothing. Labels are bounded:
/// a status class, never a meter, an event or a track id.
struct DispatcherMetrics: Sendable {
    let sent = Counter(label: "outbox_events_sent_total")
    let dead = Counter(label: "outbox_events_dead_total")
    let failed = Counter(label: "outbox_events_failed_total")
    let rateLimitWaits = Counter(label: "outbox_rate_limit_waits_total")
    let requestDuration = Metrics.Timer(label: "outbox_request_duration_seconds")
    let batchSize = Recorder(label: "outbox_batch_size_events", aggregate: true)
    private let requests: [String: Counter] = Dictionary(
        uniqueKeysWithValues: ["2xx", "3xx", "4xx", "5xx", "error"].map {
            ($0, Counter(label: "outbox_requests_total", dimensions: [("status_class", $0)]))
        })

    func recordRequest(status: Int?, events: Int, duration: Duration) {
        let statusClass = status.map { "\(min(max($0 / 100, 2), 5))xx" } ?? "error"
        requests[statusClass]?.increment()
        requestDuration.recordNanoseconds(duration.milliseconds * 1_000_000)
        batchSize.record(events)
    }
}
