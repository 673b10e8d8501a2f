/// A place in a meter's log on PostgreSQL: the appending transaction's id,
/// then the row's. Ids are drawn at insert time, not at commit, so only this
/// pair orders the log the way its events became visible (see
/// migrations/postgres/0003_delivery_by_ranges.sql).
struct PostgresLogKey: Comparable, Sendable {
    var xact: Int64
    var id: Int64

    static let start = PostgresLogKey(xact: 0, id: 0)

    static func < (lhs: PostgresLogKey, rhs: PostgresLogKey) -> Bool {
        (lhs.xact, lhs.id) < (rhs.xact, rhs.id)
    }
}

extension PostgresLogKey {
    /// Where some events lie in the log: how many, the first and the last.
    struct Bounds: Sendable {
        let count: Int
        let low: PostgresLogKey
        let high: PostgresLogKey
    }

    /// `[xact, id]` as PostgreSQL's `min(ARRAY[...])` returns it.
    init?(pair: [Int64]?) {
        guard let pair, pair.count == 2 else { return nil }
        self.init(xact: pair[0], id: pair[1])
    }
}
