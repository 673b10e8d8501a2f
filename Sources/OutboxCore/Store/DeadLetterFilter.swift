/// Which dead letters a listing or an export reads: every condition given
/// must hold, and each store applies them in its query.
public struct DeadLetterFilter: Sendable, Equatable {
    public var meter: String?
    /// Only those dead before this time (unix ms).
    public var deadBefore: Int64?

    public init(meter: String? = nil, deadBefore: Int64? = nil) {
        self.meter = meter
        self.deadBefore = deadBefore
    }

    public static let all = DeadLetterFilter()
}
