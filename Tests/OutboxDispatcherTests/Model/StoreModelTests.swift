import Foundation
import Testing

@testable import OutboxCore

/// Model-based testing of both stores: random runs of operations from a
/// seed, each step checked against `StoreModel` (see `ModelRun`). A failure
/// prints its seed and a shrunk run.
///
/// The budget comes from the environment (`scripts/model-test` sets it):
/// operations per store (default 1,500, a quick check in every test run; see
/// `budget`), `OUTBOX_MODEL_SEED` the first seed, and
/// `OUTBOX_MODEL_SECONDS` a time limit that, when set, keeps drawing new
/// seeds until it runs out (the long form).
struct StoreModelTests {
    static let operationsPerRun = 300
    static let environment = ProcessInfo.processInfo.environment

    /// Operations per store: `OUTBOX_MODEL_OPERATIONS_SQLITE` or `_POSTGRES`,
    /// else `OUTBOX_MODEL_OPERATIONS`, else a quick 1,500.
    static func budget(_ kind: StoreKind) -> Int {
        let specific = environment["OUTBOX_MODEL_OPERATIONS_\(kind.rawValue.uppercased())"].flatMap(Int.init)
        return specific ?? environment["OUTBOX_MODEL_OPERATIONS"].flatMap(Int.init) ?? 1_500
    }
    static var firstSeed: UInt64 { environment["OUTBOX_MODEL_SEED"].flatMap(UInt64.init) ?? 1 }
    static var seconds: Double? { environment["OUTBOX_MODEL_SECONDS"].flatMap(Double.init) }

    @Test(arguments: StoreKind.available)
    func theStoreBehavesLikeItsModel(kind: StoreKind) async throws {
        let started = ContinuousClock.now
        let deadline = Self.seconds.map { started + .seconds($0) }
        var seed = Self.firstSeed
        var operations = 0
        var runs = 0
        while deadline.map({ ContinuousClock.now < $0 }) ?? (operations < Self.budget(kind)) {
            let run = ModelOperation.generate(seed: seed, count: Self.operationsPerRun)
            if let failure = await ModelTesting.check(kind, run, defects: []) {
                let (shrunk, last) = await ModelTesting.shrink(kind, run, failure: failure, defects: [])
                Issue.record(Comment(rawValue: ModelTesting.report(kind: kind, seed: seed, failure: failure, shrunk: shrunk, shrunkFailure: last)))
                return
            }
            operations += run.count
            runs += 1
            seed += 1
            if deadline != nil && runs % 100 == 0 {
                print("model test (\(kind)): \(runs) runs, \(operations) operations so far, next seed \(seed)")
            }
        }
        print(
            "model test (\(kind)): \(runs) runs, \(operations) operations, seeds \(Self.firstSeed)..<\(seed), every step as the model says, in \(started.duration(to: .now))"
        )
    }

    /// The model test must be able to fail: with a known defect switched
    /// back on, it finds it within the CI budget (SQLite, where all three
    /// live: two in the store, one in the dispatcher's fence).
    @Test(arguments: InjectedDefect.allCases)
    func theModelTestFindsAReintroducedDefect(defect: InjectedDefect) async throws {
        let budget = 30_000
        var seed = Self.firstSeed
        var operations = 0
        while operations < budget {
            let run = ModelOperation.generate(seed: seed, count: Self.operationsPerRun)
            if let failure = await ModelTesting.check(.sqlite, run, defects: [defect]) {
                let (shrunk, last) = await ModelTesting.shrink(.sqlite, run, failure: failure, defects: [defect], attempts: 60)
                print(
                    "model test found \(defect) at seed \(seed) after \(operations + failure.step) operations; shrunk to \(shrunk.count): \(last.message)\n"
                        + shrunk.enumerated().map { "  \($0.offset): \($0.element)" }.joined(separator: "\n"))
                let withoutDefect = await ModelTesting.check(.sqlite, shrunk, defects: [])
                #expect(withoutDefect == nil, "the shrunk run fails without the defect too: \(withoutDefect?.description ?? "")")
                return
            }
            operations += run.count
            seed += 1
        }
        Issue.record("the model test did not find \(defect) in \(budget) operations")
    }
}

/// Running, shrinking and reporting model runs.
enum ModelTesting {
    /// Runs `operations` on a fresh store; the failure, or nil.
    static func check(_ kind: StoreKind, _ operations: [ModelOperation], defects: Set<InjectedDefect>) async -> ModelFailure? {
        let subject: ModelSubject
        do {
            subject = try await ModelSubject.make(kind, defects: defects)
        } catch {
            return ModelFailure(step: 0, message: "cannot make a store: \(error)")
        }
        do {
            try await ModelRun(subject: subject).run(operations)
            await subject.close()
            return nil
        } catch let failure as ModelFailure {
            await subject.close()
            return failure
        } catch {
            await subject.close()
            return ModelFailure(step: 0, message: "\(error)")
        }
    }

    /// A shorter run that still fails: drops the steps after the failure,
    /// then chunks of the rest, as long as the run still fails (any way).
    static func shrink(
        _ kind: StoreKind, _ operations: [ModelOperation], failure: ModelFailure, defects: Set<InjectedDefect>, attempts: Int = 150
    ) async -> ([ModelOperation], ModelFailure) {
        var current = Array(operations.prefix(failure.step + 1))
        var last = failure
        var tries = 0
        var chunk = max(1, current.count / 2)
        while tries < attempts {
            var start = 0
            var removed = false
            while start < current.count, tries < attempts {
                var candidate = current
                candidate.removeSubrange(start..<min(current.count, start + chunk))
                tries += 1
                if let failure = await check(kind, candidate, defects: defects) {
                    current = Array(candidate.prefix(failure.step + 1))
                    last = failure
                    removed = true
                } else {
                    start += chunk
                }
            }
            if !removed {
                if chunk == 1 { break }
                chunk = max(1, chunk / 2)
            }
        }
        return (current, last)
    }

    static func report(kind: StoreKind, seed: UInt64, failure: ModelFailure, shrunk: [ModelOperation], shrunkFailure: ModelFailure) -> String {
        var lines = [
            "model test failed on \(kind), seed \(seed) (OUTBOX_MODEL_SEED=\(seed) scripts/model-test reproduces it): \(failure)",
            "shrunk to \(shrunk.count) operations, failing at \(shrunkFailure):",
        ]
        lines += shrunk.enumerated().map { "  \($0.offset): \($0.element)" }
        return lines.joined(separator: "\n")
    }
}
