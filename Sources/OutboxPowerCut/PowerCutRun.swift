import Foundation
import OutboxCore
import UsageOutbox

/// One scenario: record it, then check `cuts` random cuts of it.
struct PowerCutRun {
    let scenario: Scenario
    let durability: OutboxConfiguration.Durability
    let seed: UInt64
    let cuts: Int
    let work: String
    let repository: URL
    let keepFailures: String?
    var injectedDefects: Set<InjectedDefect> = []

    func run() async throws -> PowerCutTally {
        let recorded = work + "/recorded"
        try FileManager.default.createDirectory(atPath: recorded, withIntermediateDirectories: true)
        // As SQLite names the files: symbolic links resolved.
        let resolvedRecorded = URL(fileURLWithPath: recorded).resolvingSymlinksInPath().path
        let logPath = work + "/operations.log"
        let workload = Workload(directory: recorded, durability: durability, repository: repository, seed: seed)
        let recording = try await workload.record(scenario, logPath: logPath, injectedDefects: injectedDefects)
        var operations: [OperationLog.Operation] = []
        // The files as they were before the recorder started, as if synced.
        for (number, (name, bytes)) in recording.initial.sorted(by: { $0.key < $1.key }).enumerated() {
            let file = -100 - number
            operations += [.open(file: file, name: name), .write(file: file, offset: 0, bytes: bytes), .sync(file: file)]
        }
        let log = OperationLog(operations: operations + (try OperationLog(contentsOf: URL(fileURLWithPath: logPath))).operations)
        var batchSizes: [String: Int] = [:]
        for case .mark(let text) in log.operations {
            if let (batch, count) = Self.acknowledgement(text) { batchSizes[batch] = count }
        }

        var random = SplitMix64(seed: seed)
        // The files' state before the run is a given, not a cut point.
        let points = log.cutPoints.filter { $0 >= operations.count }
        // Distinct points, and the end of the run.
        var chosen = Set(points.shuffled(using: &random).prefix(cuts))
        chosen.insert(log.operations.count)  // after the last operation: still unsynced pages may be lost
        var tally = PowerCutTally()
        var model = DiskModel()
        var expectations = CutCheck.Expectations(
            batchSizes: batchSizes, fixtureEvents: recording.fixtureEvents, settled: recording.fixtureSettled)
        for index in 0...log.operations.count {
            if chosen.contains(index) {
                var cutRandom = SplitMix64(seed: seed ^ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
                let keep = [0, 0.25, 0.5, 0.75, 1].randomElement(using: &cutRandom)!
                let inFlight = index < log.operations.count ? log.operations[index] : nil
                let image = model.image(inFlight: inFlight, keepProbability: keep, random: &cutRandom)
                let directory = work + "/cut"
                try? FileManager.default.removeItem(atPath: directory)
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                for (name, bytes) in image where name.hasPrefix(resolvedRecorded + "/") {
                    let target = directory + name.dropFirst(resolvedRecorded.count)
                    // The -shm file is memory: it does not survive a power cut.
                    if target.hasSuffix("-shm") { continue }
                    guard FileManager.default.createFile(atPath: target, contents: bytes) else {
                        throw HarnessFailure("cannot write the rebuilt file \(target)")
                    }
                }
                // The files as the cut left them, before the check opens them.
                let pristine = work + "/cut-as-left"
                if keepFailures != nil {
                    try? FileManager.default.removeItem(atPath: pristine)
                    try FileManager.default.copyItem(atPath: directory, toPath: pristine)
                }
                let outcome = await CutCheck.check(directory: directory, expectations: expectations)
                tally.cuts += 1
                tally.acknowledged += outcome.acknowledged
                tally.lost += outcome.lost
                if !outcome.damage.isEmpty || outcome.lost > 0 {
                    if !outcome.damage.isEmpty { tally.damaged += 1 }
                    report(index: index, keep: keep, outcome: outcome, directory: directory)
                }
            }
            guard index < log.operations.count else { break }
            let operation = log.operations[index]
            model.apply(operation)
            if case .mark(let text) = operation {
                if let (batch, count) = Self.acknowledgement(text) { expectations.acknowledged[batch] = count }
                if text.hasPrefix("settled ") { expectations.settled.formUnion(text.split(separator: " ").dropFirst().map(String.init)) }
                if text == "purge" {
                    var purgeable: [String: Int] = [:]
                    for case let place? in expectations.settled.map(CustomerID.place) { purgeable["\(place.producer).\(place.sequence)", default: 0] += 1 }
                    expectations.purgeable = purgeable
                }
            }
        }
        return tally
    }

    private func report(index: Int, keep: Double, outcome: CutCheck.Outcome, directory: String) {
        var line = "    \(scenario.rawValue) cut at operation \(index) (keeping \(Int(keep * 100))% of unsynced pages, seed \(seed)):"
        if outcome.lost > 0 { line += " \(outcome.lost) acknowledged events lost;" }
        line += " " + outcome.damage.prefix(3).joined(separator: "; ")
        print(line)
        if let keepFailures {
            let target = keepFailures + "/\(scenario.rawValue)-\(index)"
            try? FileManager.default.createDirectory(atPath: keepFailures, withIntermediateDirectories: true)
            try? FileManager.default.copyItem(atPath: work + "/cut-as-left", toPath: target)
        }
    }

    static func acknowledgement(_ text: String) -> (String, Int)? {
        let parts = text.split(separator: " ")
        guard parts.count == 3, parts[0] == "ack", let count = Int(parts[2]) else { return nil }
        return (String(parts[1]), count)
    }
}
