/// One ERROR entry of a meter's audit trail, as the mock serves it.
struct MockAuditEntry: Sendable {
    let json: String
    /// Unix seconds.
    let ingestedAt: Double
}
