/// A range of a meter's events held by a claim, on PostgreSQL.
struct PostgresRange: Sendable {
    let meter: String
    let first: PostgresLogKey
    let last: PostgresLogKey
    let events: Int
    let token: String?
    let leaseUntil: Int64?
}
