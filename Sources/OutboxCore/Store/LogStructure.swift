/// What `verify` finds wrong in the shape of a meter's log, beyond the
/// counters: events that no claim will ever hand out again, and exception
/// rows whose event is gone. Each is a delivery lost or a record broken,
/// whatever the counters say.
public struct LogStructure: Sendable, Equatable {
    /// Per meter: events at or below the meter's position that belong to
    /// no range and have no retry or dead row (never to be delivered).
    public var unreachable: [String: Int] = [:]
    /// Per meter: dead letters whose event is no longer in the log.
    public var deadWithoutEvent: [String: Int] = [:]
    /// Per meter: retry rows whose event is no longer in the log.
    public var retriesWithoutEvent: [String: Int] = [:]
    /// Per meter: open ranges whose event count differs from the log's.
    public var miscountedRanges: [String: Int] = [:]
    /// Per meter: events with neither a retry nor a dead row (sent) that
    /// still have a history of answers, which goes when an event is sent.
    public var sentWithHistory: [String: Int] = [:]

    public init() {}

    var meters: Set<String> {
        Set(unreachable.keys).union(deadWithoutEvent.keys).union(retriesWithoutEvent.keys).union(miscountedRanges.keys).union(sentWithHistory.keys)
    }

    func problems(of meter: String) -> [String] {
        var problems: [String] = []
        if let count = unreachable[meter], count > 0 {
            problems.append("\(count) events behind the meter's position belong to no claim and no retry or dead row: they would never be sent")
        }
        if let count = deadWithoutEvent[meter], count > 0 { problems.append("\(count) dead letters have lost their event") }
        if let count = retriesWithoutEvent[meter], count > 0 { problems.append("\(count) retry rows have lost their event") }
        if let count = miscountedRanges[meter], count > 0 { problems.append("\(count) open claims count a different number of events than the log holds") }
        if let count = sentWithHistory[meter], count > 0 { problems.append("\(count) sent events still have a history of answers") }
        return problems
    }
}
