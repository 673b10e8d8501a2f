/// Dead letters counted by cause, for `dead-letters list --group-by
/// reason`: a cause is Zuora's status with the reason's first line, cut to
/// `reasonCharacters` (what tells one rejection from another; the rest is
/// often the event's own values). Pure: the stores count, this merges.
package enum DeadLetterCauses {
    /// Characters (Unicode scalars, as both stores count them) of a
    /// reason's first line that make its cause.
    package static let reasonCharacters = 80

    /// One cause: how many dead letters, in which meters, since when.
    package struct Cause: Sendable, Equatable {
        package let status: Int?
        package let reason: String
        package let count: Int
        /// Sorted.
        package let meters: [String]
        package let oldestDeadAt: Int64

        package init(status: Int?, reason: String, count: Int, meters: [String], oldestDeadAt: Int64) {
            self.status = status
            self.reason = reason
            self.count = count
            self.meters = meters
            self.oldestDeadAt = oldestDeadAt
        }
    }

    /// The cause part of a reason: its first line, without surrounding
    /// blanks, cut to `reasonCharacters`. (Cutting first and taking the
    /// first line after gives the same, which lets a store cut in SQL.)
    package static func cause(of reason: String) -> String {
        let firstLine = reason.unicodeScalars.prefix { $0 != "\n" && $0 != "\r" }
        var scalars = String.UnicodeScalarView(firstLine.prefix(reasonCharacters))
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        let trimmed = scalars.drop { $0.properties.isWhitespace }
        return String(String.UnicodeScalarView(trimmed))
    }

    /// The tallies merged by cause, largest first (then by status and
    /// reason, so the order is stable).
    package static func merge(_ tallies: [DeadLetterTally]) -> [Cause] {
        struct Key: Hashable {
            let status: Int?
            let reason: String
        }
        var merged: [Key: (count: Int, meters: Set<String>, oldest: Int64)] = [:]
        for tally in tallies {
            let key = Key(status: tally.status, reason: cause(of: tally.reason))
            var entry = merged[key] ?? (0, [], tally.oldestDeadAt)
            entry.count += tally.count
            entry.meters.insert(tally.meter)
            entry.oldest = min(entry.oldest, tally.oldestDeadAt)
            merged[key] = entry
        }
        return merged.map { key, entry in
            Cause(status: key.status, reason: key.reason, count: entry.count, meters: entry.meters.sorted(), oldestDeadAt: entry.oldest)
        }.sorted { a, b in
            if a.count != b.count { return a.count > b.count }
            if a.status != b.status { return (a.status ?? Int.max) < (b.status ?? Int.max) }
            return a.reason < b.reason
        }
    }
}
