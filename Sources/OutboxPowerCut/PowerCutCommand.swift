import ArgumentParser
import Foundation
import OutboxCore
import UsageOutbox

/// `outbox-power-cut`, behind `scripts/power-cut-test`: records each
/// scenario through the recording VFS, then rebuilds the files at random
/// cuts and checks each (`CutCheck`). The last line is
/// `power-cut-test: N cuts, A acknowledged, L lost, D damaged`; the exit
/// code is 0 only when L and D are 0.
@main
struct PowerCutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox-power-cut",
        abstract: "Cut the power at random points of recorded outbox work and check what survives.",
        discussion: """
            A = appended events acknowledged before their cut, summed over the cuts; L = those
            missing after it; D = cuts after which the database failed a check (integrity, verify,
            an append half there, events out of order, a drain that resends settled events or
            leaves owed ones behind).
            """)

    @Option(help: "Cuts in all, spread over the scenarios.")
    var cuts = 1000

    @Option(help: "The outbox's durability while recorded: full (the default) or normal.")
    var durability: String = "full"

    @Option(
        help:
            "The random seed of the cuts (printed). The recorded work itself varies with timing, so a seed repeats the choice of cuts, not always the same operations."
    )
    var seed: UInt64?

    @Option(help: "The repository root (for the migration scenario's fixture).")
    var repository: String = FileManager.default.currentDirectoryPath

    @Option(help: "Where to keep the files of a failing cut.")
    var keepFailures: String?

    @Option(help: "Switch a known, fixed defect back on, to show a check finds it: reuse-ids-after-retention.")
    var inject: [String] = []

    @Option(help: "Only this scenario (repeatable): \(Scenario.allCases.map(\.rawValue).joined(separator: ", ")).")
    var scenario: [String] = []

    func run() async throws {
        guard let durability = OutboxConfiguration.Durability(rawValue: durability) else {
            throw ValidationError("--durability must be full or normal")
        }
        let chosen =
            try scenario.isEmpty
            ? Scenario.allCases
            : scenario.map { name in
                guard let scenario = Scenario(rawValue: name) else { throw ValidationError("no scenario \(name)") }
                return scenario
            }
        let defects = try Set(
            inject.map { name in
                guard name == "reuse-ids-after-retention" else { throw ValidationError("no injectable defect \(name)") }
                return InjectedDefect.reuseIDsAfterRetention
            })
        guard cuts >= chosen.count else { throw ValidationError("--cuts must be at least \(chosen.count), one per scenario") }
        let seed = seed ?? UInt64.random(in: 1...UInt64.max / 2)
        print("power-cut-test: seed \(seed), durability \(durability.rawValue), \(cuts) cuts over \(chosen.count) scenarios")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("power-cut-\(getpid())")
        defer { try? FileManager.default.removeItem(at: work) }
        var total = PowerCutTally()
        for (number, scenario) in chosen.enumerated() {
            let share = cuts / chosen.count + (number < cuts % chosen.count ? 1 : 0)
            let tally = try await PowerCutRun(
                scenario: scenario, durability: durability, seed: seed &+ UInt64(number), cuts: share,
                work: work.appendingPathComponent(scenario.rawValue).path, repository: URL(fileURLWithPath: repository),
                keepFailures: keepFailures, injectedDefects: defects
            ).run()
            print("  \(scenario.rawValue): \(tally.line)")
            total += tally
        }
        print("power-cut-test: \(total.line)")
        if total.lost > 0 || total.damaged > 0 { throw ExitCode(1) }
    }
}
