/// What a retry row that a claim gives back unsent becomes, for both
/// stores: the state it was claimed from when that was `failed` (its tries
/// stand, and its due time), else `pending`. A claim remembers that state in
/// the row's `claimed_from` (a lapsed claim taken over keeps the first one).
package enum RetryRowRelease {
    package static func state(claimedFrom: EventState?) -> EventState {
        claimedFrom == .failed ? .failed : .pending
    }

    /// `state(claimedFrom:)` as an SQL expression over the `claimed_from`
    /// column, the same in SQLite and PostgreSQL, built from the rule above
    /// (a case per state), so the two can never disagree.
    package static let sqlExpression: String = {
        let cases = EventState.allCases.map { "WHEN \($0.rawValue) THEN \(state(claimedFrom: $0).rawValue)" }
        return "CASE claimed_from \(cases.joined(separator: " ")) ELSE \(state(claimedFrom: nil).rawValue) END"
    }()
}
