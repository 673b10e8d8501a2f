/// One schema change of the PostgreSQL store. `migrations/postgres/` is the
/// source of truth; `scripts/embed-migrations` copies the files here, and a
/// test fails when they differ.
public struct PostgresMigration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    public static var latestVersion: Int { embedded.last?.version ?? 0 }

    /// The file's statements, one by one (the extended query protocol runs
    /// one statement per query). Statements end with `;` at the end of a line.
    var statements: [String] {
        var statements: [String] = []
        var current = ""
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
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

extension Substring {
    func trimmingCharacters(in set: Set<Character>) -> Substring {
        var text = self
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return text
    }
}

extension Set where Element == Character {
    static let whitespaces: Set<Character> = [" ", "\t", "\r"]
}
