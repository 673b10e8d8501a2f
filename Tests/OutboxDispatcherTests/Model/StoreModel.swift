@testable import OutboxCore

/// The reference the store is checked against: every event the outbox
/// acknowledged, and what it is now. Small enough to be obviously right: no
/// ranges, no positions, no exception rows, only each event's state and, while
/// it is claimed, which claim holds it.
struct StoreModel {
    enum State: Equatable, CustomStringConvertible {
        /// `purged`: a sent event retention deleted; `purgedDead`: a dead
        /// letter an operator purged (never billed).
        case pending, held, failed, sent, dead, purged, purgedDead

        var description: String {
            switch self {
            case .pending: "pending"
            case .held: "in flight"
            case .failed: "failed"
            case .sent: "sent"
            case .dead: "dead"
            case .purged: "purged"
            case .purgedDead: "purged dead letter"
            }
        }
    }

    /// Whether a held event's lease has lapsed. A renewal of some of a
    /// claim's events may extend the others' too (a store renews a claim's
    /// whole range): those become `unknown`, claimable or not.
    enum Lease: Equatable { case live, lapsed, unknown }

    struct Event {
        let eventID: String
        let meter: String
        /// The store's row id and public id, learned from the first claim of
        /// the event.
        var rowID: Int64?
        var publicID: String?
        var state: State = .pending
        /// The claim holding it, while `held`.
        var holder: Int?
        var lease: Lease = .live
        /// What a claim took it from (pending or failed): a release gives it back.
        var claimedFrom: State = .pending
        /// A failed event's retry is due (time moved past it).
        var due = true
        /// Times Zuora accepted it (a late rejection starts again).
        var accepted = 0
    }

    private(set) var events: [String: Event] = [:]
    /// Event ids in append order.
    private(set) var order: [String] = []
    var paused: Set<String> = []
    /// Meters that ever had an append (pausing any other is an error).
    private(set) var knownMeters: Set<String> = []

    mutating func appended(_ ids: [String], meter: String) {
        knownMeters.insert(meter)
        for id in ids {
            events[id] = Event(eventID: id, meter: meter)
            order.append(id)
        }
    }

    subscript(id: String) -> Event? {
        get { events[id] }
        set { events[id] = newValue }
    }

    func ids(in meter: String, where predicate: (Event) -> Bool) -> [String] {
        order.filter { id in
            guard let event = events[id] else { return false }
            return event.meter == meter && predicate(event)
        }
    }

    /// Whether a claim may take the event now. `certain`: only what a claim
    /// must find (an unknown lease may or may not have lapsed).
    static func isClaimable(_ event: Event, certain: Bool) -> Bool {
        switch event.state {
        case .pending: true
        case .failed: event.due
        case .held: event.lease == .lapsed || (!certain && event.lease == .unknown)
        case .sent, .dead, .purged, .purgedDead: false
        }
    }

    func isHeld(_ id: String, by claim: Int) -> Bool {
        events[id].map { $0.state == .held && $0.holder == claim } ?? false
    }

    /// The counters the store must show for `meter`.
    func counts(_ meter: String) -> StateCounts {
        var counts = StateCounts()
        for event in events.values where event.meter == meter {
            counts.appended += 1
            switch event.state {
            case .pending: counts.pending += 1
            case .held: counts.inflight += 1
            case .failed: counts.failed += 1
            case .sent: counts.sent += 1
            case .dead: counts.dead += 1
            case .purged: counts.purged += 1
            case .purgedDead:
                counts.purged += 1
                counts.purgedDead += 1
            }
        }
        return counts
    }

    /// Events still owed to Zuora (pending, in flight or failed).
    func owed(_ meter: String? = nil) -> Set<String> {
        Set(events.values.filter { ($0.meter == meter || meter == nil) && [.pending, .held, .failed].contains($0.state) }.map(\.eventID))
    }

    // MARK: What each store operation does to the events

    mutating func claimed(_ id: String, rowID: Int64, publicID: String, by claim: Int) {
        guard var event = events[id] else { return }
        event.publicID = publicID
        if event.state != .held { event.claimedFrom = event.state }
        event.state = .held
        event.holder = claim
        event.lease = .live
        event.rowID = rowID
        events[id] = event
    }

    mutating func settled(_ id: String, as state: State) {
        guard var event = events[id] else { return }
        event.state = state
        event.holder = nil
        if state == .failed { event.due = false }
        if state == .sent { event.accepted += 1 }
        events[id] = event
    }

    mutating func released(_ id: String) {
        guard var event = events[id] else { return }
        event.state = event.claimedFrom
        event.holder = nil
        event.due = true
        events[id] = event
    }

    /// A renewal by `claim` that held `held`: those leases are live again,
    /// and the claim's other events' leases may be.
    mutating func renewed(_ held: Set<String>, by claim: Int) {
        for (id, event) in events where event.state == .held && event.holder == claim {
            if held.contains(id) {
                events[id]?.lease = .live
            } else if event.lease == .lapsed {
                events[id]?.lease = .unknown
            }
        }
    }

    /// Time moves past every lease and every retry's due time.
    mutating func timePassed() {
        for (id, event) in events {
            if event.state == .held { events[id]?.lease = .lapsed }
            if event.state == .failed { events[id]?.due = true }
        }
    }

    mutating func revived(_ id: String) {
        events[id]?.state = .pending
        events[id]?.claimedFrom = .pending
        events[id]?.due = true
    }

    mutating func lateRejected(_ id: String) {
        events[id]?.state = .dead
        events[id]?.accepted = 0
    }

    mutating func set(_ id: String, _ state: State) {
        events[id]?.state = state
    }
}
