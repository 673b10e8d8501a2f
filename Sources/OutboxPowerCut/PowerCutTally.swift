/// Cuts, acknowledged events, lost events and damaged cuts.
struct PowerCutTally {
    var cuts = 0
    var acknowledged = 0
    var lost = 0
    var damaged = 0

    var line: String { "\(cuts) cuts, \(acknowledged) acknowledged, \(lost) lost, \(damaged) damaged" }

    static func += (left: inout PowerCutTally, right: PowerCutTally) {
        left.cuts += right.cuts
        left.acknowledged += right.acknowledged
        left.lost += right.lost
        left.damaged += right.damaged
    }
}
