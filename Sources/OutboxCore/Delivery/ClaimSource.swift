/// Where a claim's events came from. A claim of one meter looks in this
/// order (`order`: both stores walk it), and the first place that has
/// events gives the claim:
///
/// 1. A lapsed range: a claim whose dispatcher was killed or stalled. Its
///    events may have been sent, so they go again first, soon, under the
///    key the lost request used.
/// 2. Due retry rows, one group (`RetryGroup`): events that were tried.
/// 3. The next range of the log past the meter's position: new events.
///
/// Exceptions come before new events, so that a backlog of new events never
/// starves a retry or a takeover.
package enum ClaimSource: Sendable, Equatable {
    case lapsedRange
    case dueRetries(RetryGroup)
    case nextRange

    /// A place a claim looks in.
    package enum Place: Sendable, Equatable, CaseIterable {
        case lapsedRange, dueRetries, nextRange
    }

    /// The order a claim looks in; each store carries out one step per place.
    package static let order: [Place] = [.lapsedRange, .dueRetries, .nextRange]

    /// Whether the events may have gone to Zuora before without an answer
    /// recorded: a claim that gives them back unsent then keeps them
    /// together (`Claim.mayHaveBeenSent`), so that their re-send derives the
    /// lost request's idempotency key.
    package var mayHaveBeenSent: Bool {
        switch self {
        case .lapsedRange: true
        case .dueRetries(let group): group != .free
        case .nextRange: false
        }
    }
}
