import Metrics
import Prometheus
import Synchronization

/// Installs the Prometheus backend for swift-metrics, once per process, and
/// registers every catalogued metric at zero. It must run before the
/// dispatcher is made: swift-metrics binds a metric to the backend of the
/// moment it is created.
enum PrometheusMetricsBootstrap {
    private static let shared = Mutex<PrometheusCollectorRegistry?>(nil)

    static func registry() -> PrometheusCollectorRegistry {
        shared.withLock { existing in
            if let existing { return existing }
            let registry = PrometheusCollectorRegistry()
            let factory = CatalogMetricsFactory(
                registry: registry,
                durationBuckets: [
                    .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                    .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
                ],
                valueBuckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000])
            factory.registerCatalog()
            MetricsSystem.bootstrap(factory)
            existing = registry
            return registry
        }
    }
}
