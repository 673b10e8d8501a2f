/// Known defects that a test may switch back on, one store or fence at a
/// time, to prove that the model test (`StoreModelTests`) finds each of
/// them. Nothing outside the package can set one, and a production
/// configuration never holds any.
package enum InjectedDefect: Int, CaseIterable, Sendable, Hashable {
    /// Retention forgets the log's high-water mark: SQLite hands out the
    /// purged ids again (issue 17, defect 1).
    case reuseIDsAfterRetention
    /// A dead-letter purge forgets it likewise (defect 2).
    case reuseIDsAfterDeadLetterPurge
    /// A renewal that held fewer rows than it asked for still counts as
    /// proof for the next request (defect 3).
    case partialRenewalCountsAsProof
}
