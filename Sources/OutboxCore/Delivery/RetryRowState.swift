/// The state a retry row takes when a claim takes it and when a claim gives
/// it back unsent, for both stores. Each store runs the SQL built here from
/// these rules (a case per state), so the two can never disagree.
package enum RetryRowState {
    /// What a claim does with the row's `claimed_from`.
    package enum OnClaim: Sendable, Equatable {
        /// The row is inflight already (a lapsed claim taken over): the
        /// state the first claim took it from stands.
        case keepRemembered
        /// Remember the state the row is claimed from.
        case remember(EventState)
    }

    package static func onClaim(current: EventState) -> OnClaim {
        current == .inflight ? .keepRemembered : .remember(current)
    }

    /// Given back unsent: failed stays failed (its tries and due time
    /// stand), anything else is pending again.
    package static func afterRelease(claimedFrom: EventState?) -> EventState {
        claimedFrom == .failed ? .failed : .pending
    }

    /// `onClaim` as the new value of `claimed_from`, over the `state` column.
    package static let claimedFromOnClaimSQL: String = {
        let cases = EventState.allCases.map { state in
            switch onClaim(current: state) {
            case .keepRemembered: "WHEN \(state.rawValue) THEN claimed_from"
            case .remember(let remembered): "WHEN \(state.rawValue) THEN \(remembered.rawValue)"
            }
        }
        return "CASE state \(cases.joined(separator: " ")) ELSE state END"
    }()

    /// `afterRelease` as the new value of `state`, over `claimed_from`.
    package static let afterReleaseSQL: String = {
        let cases = EventState.allCases.map { "WHEN \($0.rawValue) THEN \(afterRelease(claimedFrom: $0).rawValue)" }
        return "CASE claimed_from \(cases.joined(separator: " ")) ELSE \(afterRelease(claimedFrom: nil).rawValue) END"
    }()
}
