import Synchronization

/// Known defects that a test may switch back on, to prove that the model
/// test (`StoreModelTests`) finds each of them. Off unless a test sets them;
/// nothing outside the package can reach it, and nothing in it costs more
/// than one atomic load on paths that are not hot (retention, dead-letter
/// purges, a renewal before a request).
package enum InjectedDefect: Int, CaseIterable, Sendable {
    /// Retention forgets the log's high-water mark: SQLite hands out the
    /// purged ids again (issue 17, defect 1).
    case reuseIDsAfterRetention
    /// A dead-letter purge forgets it likewise (defect 2).
    case reuseIDsAfterDeadLetterPurge
    /// A renewal that held fewer rows than it asked for still counts as
    /// proof for the next request (defect 3).
    case partialRenewalCountsAsProof
}

package enum InjectedDefects {
    private static let switchedOn = Atomic<Int>(0)

    package static func isOn(_ defect: InjectedDefect) -> Bool {
        switchedOn.load(ordering: .relaxed) & (1 << defect.rawValue) != 0
    }

    /// Runs `body` with `defect` switched on (process-wide: tests that use
    /// it are serialized).
    package static func with<T>(_ defect: InjectedDefect, _ body: () async throws -> T) async rethrows -> T {
        switchedOn.bitwiseOr(1 << defect.rawValue, ordering: .relaxed)
        defer { switchedOn.bitwiseAnd(~(1 << defect.rawValue), ordering: .relaxed) }
        return try await body()
    }
}
