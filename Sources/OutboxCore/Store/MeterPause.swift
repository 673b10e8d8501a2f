/// A meter an operator paused (`outbox meters pause`): it keeps taking
/// appends, and no dispatcher claims its events until it is resumed. The
/// pause is stored in the database, so every worker sees it.
public struct MeterPause: Sendable, Equatable {
    public var reason: String?
    /// Unix milliseconds.
    public var pausedAt: Int64

    public init(reason: String?, pausedAt: Int64) {
        self.reason = reason
        self.pausedAt = pausedAt
    }
}
