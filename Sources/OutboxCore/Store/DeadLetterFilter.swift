/// Which dead letters a listing or an export reads: every condition given
/// must hold, and each store applies them in its query.
public struct DeadLetterFilter: Sendable, Equatable {
    public var meter: String?
    /// Only those dead before this time (unix ms).
    public var deadBefore: Int64?
    /// Only those dead at or after this time (unix ms).
    public var deadSince: Int64?
    /// Only those with this HTTP status from Zuora.
    public var status: Int?
    /// Only those whose reason contains this text, ASCII letters matched
    /// in any case.
    public var reasonContains: String?

    public init(meter: String? = nil, deadBefore: Int64? = nil, deadSince: Int64? = nil, status: Int? = nil, reasonContains: String? = nil) {
        self.meter = meter
        self.deadBefore = deadBefore
        self.deadSince = deadSince
        self.status = status
        self.reasonContains = reasonContains
    }

    public static let all = DeadLetterFilter()

    /// `reasonContains` with its ASCII letters in lower case, as the stores
    /// compare it with the reason lowered the same way (both stores fold
    /// ASCII only, whatever their locale).
    public var reasonNeedle: String? {
        reasonContains.map { text in
            String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
        }
    }
}
