/// How a settlement or a release takes its part out of a claim's open
/// range, and what a released part becomes: the range rules, once, for both
/// stores. Each store finds the positions and counts the events; these
/// decide.
package enum RangeCarving {
    /// A part of a claim must be contiguous in the meter's log: the events
    /// between its first and last are exactly the ones it names. Anything
    /// else is a dispatcher's bug, refused before anything changes.
    package static func checkContiguous(named: Int, between: Int) throws(OutboxError) {
        guard between == named else {
            throw OutboxError(
                .storage, "\(named) events of a claim cover \(between) events of its range",
                hint: "a dispatcher settled or released a part of a claim that is not contiguous")
        }
    }

    /// The events of the range left before and after its part; each side
    /// that has any stays open under the claim's token and lease.
    package static func remainders(rangeEvents: Int, before: Int, part: Int) -> (before: Int, after: Int) {
        (before, rangeEvents - before - part)
    }

    /// What a released part becomes.
    package enum Release: Sendable, Equatable {
        /// It ends at the meter's position (it is the newest claimed): the
        /// position moves back before it, and its events are pending again,
        /// in the log's order, for the next claim of new events.
        case positionMovesBack
        /// Anywhere else: its events become retry rows due at once, and the
        /// part a settled range (the position cannot move back past the
        /// newer claims after it).
        case retryRowsDueNow
    }

    package static func release<Position: Comparable>(partEndingAt last: Position, position: Position) -> Release {
        last == position ? .positionMovesBack : .retryRowsDueNow
    }

    /// The order a release goes through a claim's ranges: newest first, so
    /// that each may hand the position back in turn.
    package static func releaseOrder<Position>(_ ranges: [ClaimedRange<Position>]) -> [ClaimedRange<Position>] {
        ranges.sorted { $0.first > $1.first }
    }
}
