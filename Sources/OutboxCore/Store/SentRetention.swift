/// Which delivered events retention deletes, for both stores. A range
/// settled before the cutoff is due (an unsettled one is still being
/// delivered); its events go, except those with a row of their own: an
/// event that was not sent with its range has a retry row, and one Zuora
/// rejected has a dead letter. Both stores run the own-row SQL built here;
/// the due-range condition is `settled_at < cutoff` in each (a NULL never
/// compares), and `SentRetentionTests` shows both rules on both stores.
package enum SentRetention {
    /// A row of its own that keeps an event of a due range.
    package enum OwnRow: CaseIterable, Sendable {
        case retry, deadLetter

        /// The table that holds such rows, keyed by the event's row id.
        package var table: String {
            switch self {
            case .retry: "outbox_retries"
            case .deadLetter: "outbox_dead"
            }
        }
    }

    /// Whether the range's events are due: settled, and before the cutoff.
    package static func rangeIsDue(settledAt: Int64?, cutoff: Int64) -> Bool {
        guard let settledAt else { return false }
        return settledAt < cutoff
    }

    /// Whether an event of a due range goes, given its rows of its own.
    package static func deletes(eventWith ownRows: Set<OwnRow>) -> Bool {
        ownRows.isEmpty
    }

    /// The SQL forms of a membership test each engine runs fastest.
    package enum Dialect: Sendable {
        /// `NOT IN` probes the rowid b-tree directly (a correlated
        /// `NOT EXISTS` is about 40% slower there).
        case sqlite
        /// `NOT EXISTS` plans as an anti-join.
        case postgres
    }

    /// `deletes` over the log's row id column `idColumn`: true for an event
    /// with no row of its own.
    package static func eventIsDeletedSQL(idColumn: String, _ dialect: Dialect) -> String {
        OwnRow.allCases.map { row in
            switch dialect {
            case .sqlite: "\(idColumn) NOT IN (SELECT own.id FROM \(row.table) own)"
            case .postgres: "NOT EXISTS (SELECT 1 FROM \(row.table) own WHERE \(idColumn) = own.id)"
            }
        }.joined(separator: " AND ")
    }
}
