/// Event counts by state, for one meter or for all. Also used for the
/// changes one write makes to the per-meter counters.
public struct StateCounts: Sendable, Equatable {
    public var appended = 0
    public var pending = 0
    public var inflight = 0
    public var failed = 0
    public var sent = 0
    public var dead = 0
    /// Sent or dead events deleted by a purge.
    public var purged = 0
    /// Of `purged`, the dead letters (never billed), counted since schema
    /// 8; the rest were sent (see `VerifyReport.MeterCheck`).
    public var purgedDead = 0

    public init(
        appended: Int = 0, pending: Int = 0, inflight: Int = 0, failed: Int = 0, sent: Int = 0, dead: Int = 0, purged: Int = 0, purgedDead: Int = 0
    ) {
        self.appended = appended
        self.pending = pending
        self.inflight = inflight
        self.failed = failed
        self.sent = sent
        self.dead = dead
        self.purged = purged
        self.purgedDead = purgedDead
    }

    public subscript(state: EventState) -> Int {
        get {
            switch state {
            case .pending: pending
            case .inflight: inflight
            case .failed: failed
            case .sent: sent
            case .dead: dead
            }
        }
        set {
            switch state {
            case .pending: pending = newValue
            case .inflight: inflight = newValue
            case .failed: failed = newValue
            case .sent: sent = newValue
            case .dead: dead = newValue
            }
        }
    }

    /// Events still to deliver: pending, inflight or failed.
    public var undelivered: Int { pending + inflight + failed }

    /// Whether `appended = pending + inflight + failed + sent + dead + purged`.
    public var isConserved: Bool { appended == pending + inflight + failed + sent + dead + purged }

    public var isZero: Bool { self == StateCounts() }

    public static func + (lhs: StateCounts, rhs: StateCounts) -> StateCounts {
        StateCounts(
            appended: lhs.appended + rhs.appended, pending: lhs.pending + rhs.pending,
            inflight: lhs.inflight + rhs.inflight, failed: lhs.failed + rhs.failed,
            sent: lhs.sent + rhs.sent, dead: lhs.dead + rhs.dead, purged: lhs.purged + rhs.purged, purgedDead: lhs.purgedDead + rhs.purgedDead)
    }

    public static func += (lhs: inout StateCounts, rhs: StateCounts) { lhs = lhs + rhs }

    /// Adds `count` rows found in the state stored as `rawState`; a state
    /// the outbox does not know marks the counts (`appended = -1`) for
    /// `verify` to report.
    public mutating func count(_ count: Int, rawState: Int64) {
        guard let state = EventState(rawValue: rawState) else {
            appended = -1
            return
        }
        self[state] += count
    }

    /// Moves `count` events from one state to another.
    public mutating func move(_ count: Int, from: EventState, to: EventState) {
        self[from] -= count
        self[to] += count
    }
}
