/// Where an event is on its way to Zuora. The raw values are what a retry
/// row's `state` column holds (pending, inflight or failed) and what the
/// stores' derived state of a log event reads (every state).
public enum EventState: Int64, Sendable, CaseIterable, CustomStringConvertible {
    /// Appended, waiting for its first attempt.
    case pending = 0
    /// Claimed by a dispatcher, under a lease.
    case inflight = 1
    /// Waiting for a retry after a transient failure.
    case failed = 2
    /// Accepted by Zuora.
    case sent = 3
    /// Rejected by Zuora and set aside for an operator.
    case dead = 4

    public var description: String {
        switch self {
        case .pending: "pending"
        case .inflight: "inflight"
        case .failed: "failed"
        case .sent: "sent"
        case .dead: "dead"
        }
    }
}
