@testable import OutboxCore

/// One step of a model run. Parameters are small numbers resolved when the
/// step runs (a claim "k" is the k-th most recent claim, modulo how many
/// there are), so any subsequence of a run is still a valid run: that is
/// what lets a failure shrink.
enum ModelOperation: Equatable, CustomStringConvertible {
    enum AppendKind: CaseIterable, Equatable {
        case single, batch, transactional, file, pipe, invalid, rolledBack
    }

    /// Which of a claim's events an operation acts on, in claim order.
    enum Part: Equatable, CustomStringConvertible {
        case whole, firstHalf, secondHalf, quarter(Int)

        func pick<T>(_ items: [T]) -> [T] {
            let n = items.count
            switch self {
            case .whole: return items
            case .firstHalf: return Array(items[0..<(n / 2)])
            case .secondHalf: return Array(items[(n / 2)...])
            case .quarter(let q):
                let start = n * (q % 4) / 4
                let end = n * (q % 4 + 1) / 4
                return Array(items[start..<end])
            }
        }

        var description: String {
            switch self {
            case .whole: "whole"
            case .firstHalf: "first half"
            case .secondHalf: "second half"
            case .quarter(let q): "quarter \(q % 4 + 1)"
            }
        }
    }

    enum Outcome: CaseIterable, Equatable { case sent, retry, dead, mixed }

    case append(meter: Int, count: Int, kind: AppendKind)
    case claim(meter: Int, limit: Int, smallBudget: Bool)
    /// Settles a part of a claim as the answer says.
    case settle(claim: Int, part: Part, outcome: Outcome)
    /// Sends a part the way a dispatcher does (through the claim's fence),
    /// then settles what went.
    case send(claim: Int, part: Part, outcome: Outcome)
    case renew(claim: Int, part: Part)
    case release(claim: Int, part: Part)
    /// Every lease lapses and every retry falls due.
    case advanceTime
    /// pick 0: all of the meter's; pick > 0: that many; pick < 0: some and an id that is not a dead letter.
    case retryDeadLetters(meter: Int, pick: Int)
    case purgeDeadLetters(meter: Int, pick: Int)
    case retention
    case reconcile(meter: Int, pick: Int)
    case pause(meter: Int)
    case resume(meter: Int)
    /// Close and open the store again (migrations run on open).
    case reopen

    var description: String {
        switch self {
        case .append(let meter, let count, let kind): "append \(count) to m\(meter) (\(kind))"
        case .claim(let meter, let limit, let small): "claim m\(meter) limit \(limit)\(small ? " small budget" : "")"
        case .settle(let claim, let part, let outcome): "settle claim ~\(claim) \(part) as \(outcome)"
        case .send(let claim, let part, let outcome): "send claim ~\(claim) \(part), answered \(outcome)"
        case .renew(let claim, let part): "renew claim ~\(claim) \(part)"
        case .release(let claim, let part): "release claim ~\(claim) \(part)"
        case .advanceTime: "advance time (leases lapse, retries due)"
        case .retryDeadLetters(let meter, let pick): "retry dead letters of m\(meter) pick \(pick)"
        case .purgeDeadLetters(let meter, let pick): "purge dead letters of m\(meter) pick \(pick)"
        case .retention: "retention (purge every sent event)"
        case .reconcile(let meter, let pick): "reconcile m\(meter) pick \(pick)"
        case .pause(let meter): "pause m\(meter)"
        case .resume(let meter): "resume m\(meter)"
        case .reopen: "reopen"
        }
    }
}

extension ModelOperation {
    static let meters = 3

    /// A run of `count` operations from `seed`, weighted towards what moves
    /// events along (appends, claims, answers), with the rarer operations
    /// (retention, purges, reconcile, reopen) often enough to meet them.
    static func generate(seed: UInt64, count: Int) -> [ModelOperation] {
        var random = SeededRandom(seed: seed)
        // One meter in some runs: then the log's newest events are the
        // meter's own, and what retention or a purge does to them shows.
        let meters = Int.random(in: 1...Self.meters, using: &random)
        func meter() -> Int { Int.random(in: 0..<meters, using: &random) }
        func claim() -> Int { Int.random(in: 0..<6, using: &random) }
        func part() -> Part {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4: .whole
            case 4..<6: .firstHalf
            case 6..<8: .secondHalf
            default: .quarter(Int.random(in: 0..<4, using: &random))
            }
        }
        func outcome() -> Outcome { Outcome.allCases.randomElement(using: &random)! }
        let weighted: [(Int, () -> ModelOperation)] = [
            (
                14,
                { .append(meter: meter(), count: [1, 1, 2, 5, 20].randomElement(using: &random)!, kind: AppendKind.allCases.randomElement(using: &random)!) }
            ),
            (16, { .claim(meter: meter(), limit: [1, 3, 8, 50].randomElement(using: &random)!, smallBudget: Int.random(in: 0..<5, using: &random) == 0) }),
            (12, { .settle(claim: claim(), part: part(), outcome: outcome()) }),
            (12, { .send(claim: claim(), part: part(), outcome: outcome()) }),
            (4, { .renew(claim: claim(), part: part()) }),
            (4, { .release(claim: claim(), part: part()) }),
            (5, { .advanceTime }),
            (3, { .retryDeadLetters(meter: meter(), pick: Int.random(in: -1...3, using: &random)) }),
            (3, { .purgeDeadLetters(meter: meter(), pick: Int.random(in: -1...3, using: &random)) }),
            (3, { .retention }),
            (3, { .reconcile(meter: meter(), pick: Int.random(in: 1...3, using: &random)) }),
            (2, { .pause(meter: meter()) }),
            (3, { .resume(meter: meter()) }),
            (1, { .reopen }),
        ]
        let total = weighted.reduce(0) { $0 + $1.0 }
        return (0..<count).map { _ in
            var roll = Int.random(in: 0..<total, using: &random)
            for (weight, make) in weighted {
                if roll < weight { return make() }
                roll -= weight
            }
            return .advanceTime
        }
    }
}
