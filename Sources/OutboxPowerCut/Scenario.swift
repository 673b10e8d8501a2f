/// The work recorded for the cuts (`Workload`): each scenario exercises a part of the
/// outbox's writes (appends of each kind, claims, settlements, takeovers,
/// retention, migration) against the recording VFS, and marks in the log
/// each append that returned. The events' customer ids say which append
/// they came from: `<batch>-<index>`, batch `<producer>.<sequence>`.
enum Scenario: String, CaseIterable {
    case appends, delivery, takeover, retention, migration
}
