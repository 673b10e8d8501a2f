import OutboxCore

/// A settlement's rows as columns, one set per outcome, for the statements
/// that `unnest` them.
struct PostgresSettlementColumns {
    var sentIDs: [Int64] = []
    var retryIDs: [Int64] = []
    var retryAttempts: [Int32] = []
    var retryDelays: [Int64] = []
    var retryTries: [Int32] = []
    var deadIDs: [Int64] = []
    /// What each dead letter shows as its attempts: the requests that carried it.
    var deadTries: [Int32] = []
    var deadReasons: [String] = []

    init(_ settlement: Settlement) {
        for row in settlement.rows {
            switch row.outcome {
            case .sent:
                sentIDs.append(row.rowID)
            case .retry(let delay, let attempts):
                retryIDs.append(row.rowID)
                retryAttempts.append(Int32(clamping: attempts))
                retryDelays.append(delay)
                retryTries.append(Int32(clamping: row.tries))
            case .dead(let reason, _):
                deadIDs.append(row.rowID)
                deadTries.append(Int32(clamping: row.tries))
                deadReasons.append(reason)
            }
        }
    }
}
