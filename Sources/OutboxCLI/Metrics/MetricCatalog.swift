/// Every metric the dispatcher reports through swift-metrics, with its help
/// text and the label sets it can take. The CLI registers them all when
/// metrics are served, so each series is scraped from the start (at zero)
/// and an alert on one that has not happened yet still has data.
/// `MetricsScrapeTests` fails when a scraped metric has no help text.
enum MetricCatalog {
    enum Kind: Equatable {
        case counter
        case durationHistogram
        case valueHistogram
    }

    struct Entry {
        let name: String
        let kind: Kind
        let help: String
        /// Each label set the metric is reported with; `[[]]` when unlabeled.
        let labelSets: [[(String, String)]]
    }

    static let entries: [Entry] = [
        Entry(name: "outbox_events_sent_total", kind: .counter, help: "Events Zuora accepted (a 2xx), sent by this process", labelSets: [[]]),
        Entry(name: "outbox_events_dead_total", kind: .counter, help: "Events dead-lettered by this process (rejected, or out of attempts)", labelSets: [[]]),
        Entry(name: "outbox_events_failed_total", kind: .counter, help: "Events whose attempt failed and will be retried", labelSets: [[]]),
        Entry(name: "outbox_rate_limit_waits_total", kind: .counter, help: "Waits after Zuora answered 429", labelSets: [[]]),
        Entry(
            name: "outbox_requests_total", kind: .counter, help: "Usage requests by the class of Zuora's answer (error: none came)",
            labelSets: ["2xx", "3xx", "4xx", "5xx", "error"].map { [("status_class", $0)] }),
        Entry(name: "outbox_request_duration_seconds", kind: .durationHistogram, help: "Time from sending a usage request to its answer", labelSets: [[]]),
        Entry(name: "outbox_batch_size_events", kind: .valueHistogram, help: "Events per usage request", labelSets: [[]]),
        Entry(
            name: "outbox_budget_waits_total", kind: .counter, help: "Waits for a shared request budget (per minute, hour, day, or concurrency)",
            labelSets: ["per-minute", "per-hour", "per-day", "concurrency"].map { [("budget", $0)] }),
        Entry(name: "outbox_token_refreshes_total", kind: .counter, help: "OAuth tokens fetched from Zuora", labelSets: [[]]),
        Entry(name: "outbox_late_rejections_total", kind: .counter, help: "Events reconcile found Zuora rejected after its 200", labelSets: [[]]),
        Entry(
            name: "outbox_reconcile_runs_total", kind: .counter, help: "Reconcile runs by result (none without --reconcile-every)",
            labelSets: ["ok", "failed"].map { [("result", $0)] }),
    ]

    static func entry(named name: String) -> Entry? {
        entries.first { $0.name == name }
    }
}
