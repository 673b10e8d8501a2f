import OutboxCore
import Prometheus
import Synchronization

/// Per-meter gauges, read from the outbox at each scrape, so an alert can
/// name the meter that is stuck and leave a paused one out. Meters are the
/// outbox's own (a handful per app), so the label stays bounded; a meter
/// that is gone from the outbox is unregistered.
final class MeterGauges: Sendable {
    private struct Series {
        let undelivered: Gauge
        let dead: Gauge
        let oldestAge: Gauge
        let paused: Gauge
        let lastSuccess: Gauge

        func unregister(from registry: PrometheusCollectorRegistry) {
            for gauge in [undelivered, dead, oldestAge, paused, lastSuccess] { registry.unregisterGauge(gauge) }
        }
    }

    static let names = [
        "outbox_meter_undelivered_events", "outbox_meter_dead_events", "outbox_meter_oldest_pending_age_seconds",
        "outbox_meter_paused", "outbox_meter_last_success_timestamp_seconds",
    ]

    private let registry: PrometheusCollectorRegistry
    private let series = Mutex<[String: Series]>([:])

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func update(_ status: OutboxStatus) {
        series.withLock { series in
            for (meter, gone) in series where status.meters[meter] == nil {
                gone.unregister(from: registry)
                series[meter] = nil
            }
            for (meter, state) in status.meters {
                let gauges = series[meter] ?? makeSeries(meter)
                series[meter] = gauges
                gauges.undelivered.set(Double(state.counts.undelivered))
                gauges.dead.set(Double(state.counts.dead))
                gauges.oldestAge.set(state.oldestPendingAgeSeconds ?? 0)
                gauges.paused.set(Double(state.pause == nil ? 0 : 1))
                gauges.lastSuccess.set(state.lastSuccessAt.map { Double($0) / 1000 } ?? 0)
            }
        }
    }

    private func makeSeries(_ meter: String) -> Series {
        let labels = [("meter", meter)]
        return Series(
            undelivered: registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    metricName: Self.names[0], unitName: "", helpText: "Events of the meter not yet delivered (pending, in flight or failed)"), labels: labels),
            dead: registry.makeGauge(
                descriptor: MetricNameDescriptor(metricName: Self.names[1], unitName: "", helpText: "Dead letters of the meter"), labels: labels),
            oldestAge: registry.makeGauge(
                descriptor: MetricNameDescriptor(metricName: Self.names[2], unitName: "", helpText: "Age of the meter's oldest event not yet delivered"),
                labels: labels),
            paused: registry.makeGauge(
                descriptor: MetricNameDescriptor(metricName: Self.names[3], unitName: "", helpText: "1 while an operator has paused the meter"), labels: labels),
            lastSuccess: registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    metricName: Self.names[4], unitName: "", helpText: "When Zuora last accepted a batch of the meter (unix seconds; 0: never)"), labels: labels
            ))
    }
}
