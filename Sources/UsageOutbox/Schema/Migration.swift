/// One schema change, numbered. `migrations/NNNN_name.sql` is the single
/// source of truth; `scripts/embed-migrations` copies them into
/// `Migration+Embedded.swift`, and a test fails when the two differ.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The newest schema version this binary knows.
    public static var latestVersion: Int { embedded.last?.version ?? 0 }
}
