/// One meter's counters and whether it is paused: all that the backlog
/// rules read. Each store reads these (`meterBacklogs`), and the rules below
/// decide, for both stores alike, which meters have work and how many
/// events wait.
package struct MeterBacklog: Sendable, Equatable {
    package let meter: String
    package let counts: StateCounts
    package let paused: Bool

    package init(meter: String, counts: StateCounts, paused: Bool) {
        self.meter = meter
        self.counts = counts
        self.paused = paused
    }

    /// The meters a dispatcher should look at: events not yet delivered
    /// (`StateCounts.undelivered`), and not paused; by name.
    package static func metersWithWork(_ backlogs: [MeterBacklog]) -> [String] {
        backlogs.filter { !$0.paused && $0.counts.undelivered > 0 }.map(\.meter).sorted()
    }

    /// Events not yet delivered, of unpaused meters (`paused: false`), or
    /// of paused ones (`paused: true`).
    package static func undelivered(_ backlogs: [MeterBacklog], paused: Bool) -> Int {
        backlogs.filter { $0.paused == paused }.reduce(0) { $0 + $1.counts.undelivered }
    }
}
