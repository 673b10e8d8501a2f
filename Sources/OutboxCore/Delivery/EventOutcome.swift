/// What becomes of one claimed event.
package enum EventOutcome: Sendable, Equatable {
    case sent
    /// Due again `afterMilliseconds` from when the store applies it (measured
    /// with the store's clock), having spent `attempts` attempts in all.
    case retry(afterMilliseconds: Int64, attempts: Int)
    /// A dead letter, with the reason an operator reads, having spent
    /// `attempts` retry attempts (the dead letter shows the requests that
    /// carried it instead: `Settlement.Row.tries`).
    case dead(reason: String, attempts: Int)

    /// The state the event moves to.
    package var state: EventState {
        switch self {
        case .sent: .sent
        case .retry: .failed
        case .dead: .dead
        }
    }
}
