import OutboxCore

/// A range of a meter's events held by a claim, on PostgreSQL: positions
/// are (appending transaction, id) keys.
typealias PostgresRange = ClaimedRange<PostgresLogKey>
