import OutboxCore
import Prometheus
import UsageOutbox

/// Gauges read from the outbox's counters at scrape time.
struct QueueGauges: Sendable {
    let depth: [EventState: Prometheus.Gauge]
    let oldestAge: Prometheus.Gauge
    let oldestPausedAge: Prometheus.Gauge
    let appended: Prometheus.Gauge
    let pausedMeters: Prometheus.Gauge
    let lateRejected: Prometheus.Gauge
    let buildInfo: Prometheus.Gauge
    /// 1 when the last scrape read the outbox, 0 when it could not (the
    /// other gauges then keep older values).
    let storeUp: Prometheus.Gauge

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
                helpText: "Age of the oldest event not yet delivered, paused meters left out"))
        oldestPausedAge = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "outbox", metricName: "paused_oldest_pending_age", unitName: "seconds",
                helpText: "Age of the oldest event waiting in a paused meter"))
        appended = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "outbox", metricName: "appended", unitName: "events",
                helpText: "Events appended to this outbox by all processes"))
        pausedMeters = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "outbox", metricName: "meters_paused", unitName: "",
                helpText: "Meters an operator paused (outbox meters pause)"))
        lateRejected = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "outbox", metricName: "late_rejected", unitName: "events",
                helpText: "Events Zuora rejected after its 200, found by reconcile, by all processes"))
        buildInfo = registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "outbox", metricName: "build_info", unitName: "", helpText: "The running outbox's version (always 1)"),
            labels: [("version", OutboxVersion.current)])
        buildInfo.set(Double(1))
        storeUp = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "outbox", metricName: "store_up", unitName: "",
                helpText: "Whether the last scrape read the outbox (1) or not (0: the queue gauges hold older values)"))
    }

    func update(_ status: OutboxStatus) {
        for state in EventState.allCases { depth[state]?.set(Double(status.totals[state])) }
        oldestAge.set(status.oldestUnpausedAgeSeconds ?? 0)
        oldestPausedAge.set(status.oldestPausedAgeSeconds ?? 0)
        appended.set(Double(status.totals.appended))
        pausedMeters.set(Double(status.meters.values.count { $0.pause != nil }))
        lateRejected.set(Double(status.meters.values.reduce(0) { $0 + $1.lateRejected }))
        storeUp.set(Double(1))
    }

    /// The outbox did not answer this scrape.
    func markUnreadable() {
        storeUp.set(Double(0))
    }
}
