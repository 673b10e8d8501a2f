import Foundation
import Testing

/// What a central Prometheus scrapes from a real drain: every metric from
/// the start with its help text, per-meter gauges, and nothing the shipped
/// alert rules or dashboard name that the drain does not serve.
@Suite(.serialized) struct MetricsScrapeTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/deploy")

    /// The series names of a scrape (`name` of each `name{labels} value` line).
    static func seriesNames(_ scrape: String) -> Set<String> {
        Set(
            scrape.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
                line.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map(String.init)
            })
    }

    /// The value of one series line, e.g. `outbox_meter_paused{meter="b"}`.
    static func value(of series: String, in scrape: String) -> Double? {
        scrape.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// Every `outbox_…` metric name a file mentions.
    static func metricNames(inFile name: String) throws -> Set<String> {
        let text = try String(contentsOf: deploy.appendingPathComponent(name), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: "outbox_[a-z_]+")
        return Set(
            pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
                Range(match.range, in: text).map { String(text[$0]) }
            })
    }

    @Test func everyMetricIsScrapedFromTheStartWithItsHelp() throws {
        try withTemporaryDirectory { dir in
            let mock = try MockProcess()
            defer { mock.stop() }
            let (drain, base) = try MetricsEndpointTests.startDrain(db: dir + "/o.sqlite", environment: mock.environment)
            defer {
                drain.terminate()
                drain.waitUntilExit()
            }
            // Nothing appended, nothing sent: the counters are there at zero,
            // so `increase(...) > 0` and `rate(...) == 0` have data to judge.
            let scrape = try LoopbackGET.fetch(base + "/metrics")
            for series in [
                "outbox_events_sent_total", "outbox_events_dead_total", "outbox_events_failed_total", "outbox_rate_limit_waits_total",
                "outbox_requests_total{status_class=\"5xx\"}", "outbox_requests_total{status_class=\"error\"}",
                "outbox_token_refreshes_total", "outbox_late_rejections_total", "outbox_reconcile_runs_total{result=\"failed\"}",
                "outbox_reconcile_runs_total{result=\"ok\"}", "outbox_budget_waits_total{budget=\"per-minute\"}",
                "outbox_request_duration_seconds_count", "outbox_batch_size_events_count",
            ] {
                #expect(Self.value(of: series, in: scrape) != nil, "\(series) is missing from the first scrape:\n\(scrape.prefix(3000))")
            }
            let families = scrape.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) }
            #expect(families.count > 15)
            for family in families {
                #expect(scrape.contains("# HELP \(family) "), "\(family) has no help text")
            }
        }
    }

    @Test func perMeterGaugesNameTheMeterAndLeaveAPausedOneApart() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "running", "--db", db], stdin: ndjson(5)).status == 0)
            #expect(try CLI.run(["append", "--meter", "held", "--db", db], stdin: ndjson(3, prefix: "H")).status == 0)
            #expect(try CLI.run(["meters", "pause", "held", "--reason", "test", "--db", db]).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            let (drain, base) = try MetricsEndpointTests.startDrain(db: db, environment: mock.environment)
            defer {
                drain.terminate()
                drain.waitUntilExit()
            }
            var scrape = ""
            let delivered = try waitFor {
                scrape = try LoopbackGET.fetch(base + "/metrics")
                return Self.value(of: #"outbox_meter_undelivered_events{meter="running"}"#, in: scrape) == 0
            }
            #expect(delivered, "the running meter's events were not delivered:\n\(scrape.prefix(3000))")
            #expect(Self.value(of: #"outbox_meter_undelivered_events{meter="held"}"#, in: scrape) == 3)
            #expect(Self.value(of: #"outbox_meter_paused{meter="held"}"#, in: scrape) == 1)
            #expect(Self.value(of: #"outbox_meter_paused{meter="running"}"#, in: scrape) == 0)
            #expect((Self.value(of: #"outbox_meter_last_success_timestamp_seconds{meter="running"}"#, in: scrape) ?? 0) > 1_700_000_000)
            #expect(Self.value(of: #"outbox_meter_last_success_timestamp_seconds{meter="held"}"#, in: scrape) == 0)
            #expect(Self.value(of: #"outbox_meter_oldest_pending_age_seconds{meter="running"}"#, in: scrape) == 0)
            #expect(Self.value(of: #"outbox_meter_oldest_pending_age_seconds{meter="held"}"#, in: scrape) != nil)
            #expect(Self.value(of: #"outbox_meter_dead_events{meter="running"}"#, in: scrape) == 0)

            // The shipped rules and dashboard: a renamed or dropped metric
            // leaves an alert with no data, silently. Every name they use
            // must be a series this scrape has.
            let served = Self.seriesNames(scrape)
            for file in ["prometheus-rules.yml", "grafana-dashboard.json"] {
                let used = try Self.metricNames(inFile: file)
                #expect(!used.isEmpty)
                #expect(used.subtracting(served).isEmpty, "\(file) uses metrics the drain does not serve: \(used.subtracting(served).sorted())")
            }
        }
    }
}
