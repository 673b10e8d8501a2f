/// Which dead letters an operation applies to.
public struct DeadLetterSelection: Sendable {
    /// Explicit ids; every one must name a dead letter.
    public var ids: [String]?
    public var meter: String?
    /// Only those dead before this time (unix ms).
    public var deadBefore: Int64?

    public init(ids: [String]? = nil, meter: String? = nil, deadBefore: Int64? = nil) {
        self.ids = ids
        self.meter = meter
        self.deadBefore = deadBefore
    }

    public static let all = DeadLetterSelection()
}
