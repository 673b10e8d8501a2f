/// One schema change, numbered. `migrations/NNNN_name.sql` (SQLite) and
/// `migrations/postgres/NNNN_name.sql` are the single source of truth;
/// `scripts/embed-migrations` copies them into Swift, and tests fail when
/// the copies differ.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The file's statements, one by one, for drivers that run one statement
    /// per query (PostgreSQL's extended protocol). A statement ends with `;`
    /// at the end of a line; comment lines are dropped.
    public var statements: [String] {
        var statements: [String] = []
        var current = ""
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.hasPrefix("--") || trimmed.isEmpty { continue }
            current += line + "\n"
            if trimmed.hasSuffix(";") {
                statements.append(current)
                current = ""
            }
        }
        return statements
    }
}
