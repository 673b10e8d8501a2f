import Foundation
import Testing

/// All SQL takes its values through bound parameters. In the SQLite layer a
/// string literal that holds SQL may interpolate only these fixed,
/// code-defined fragments; any other interpolation (a value) fails this test.
/// In the PostgreSQL store, postgres-nio turns every interpolation in a
/// query into a bound parameter, so there the rule is that raw SQL
/// (`unsafeSQL:`) is used for the embedded migrations only.
struct SQLParameterTests {
    static let allowedInterpolations: Set<String> = [
        "Outbox.deadLetterColumns", "Outbox.derivedState", "columns", "held",  // a column list constant
        "migrationsTable",  // a table name constant
        "Outbox.deadLetterSelection",  // a condition constant, its values bound by `Outbox.bind(_:to:)`
        "configuration.durability == .full ? \"FULL\" : \"NORMAL\"",  // an enum mapped to a keyword
        "RetryRowState.afterReleaseSQL", "RetryRowState.claimedFromOnClaimSQL",  // built from Swift rules: column names and integer literals
        "Outbox.retentionDeletes", "row.table", "idColumn",  // built from a Swift rule (SentRetention): table and column names
    ]
    static let sqlKeywords = try! NSRegularExpression(pattern: #"\b(SELECT|INSERT|UPDATE|DELETE|PRAGMA|CREATE|VACUUM|WHERE|VALUES)\b"#)
    static let literals = try! NSRegularExpression(pattern: #"\"\"\"[\s\S]*?\"\"\"|\"(?:[^\"\\\n]|\\.)*\""#)
    static let interpolation = try! NSRegularExpression(pattern: #"\\\((.*?)\)(?=[^)]*?(?:\s|"|$|,|;))"#)

    @Test func sqlNeverInterpolatesValues() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(atPath: sources.path)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        #expect(files.count > 20)
        var sqlLiterals = 0
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            if file.hasPrefix("OutboxPostgres/") {
                let raw = text.components(separatedBy: "unsafeSQL:").count - 1
                #expect(raw == 0 || (file.hasSuffix("PostgresOutbox.swift") && raw == 1), "\(file) builds raw SQL")
                continue
            }
            let range = NSRange(text.startIndex..., in: text)
            for literal in Self.literals.matches(in: text, range: range) {
                let body = (text as NSString).substring(with: literal.range)
                let bodyRange = NSRange(body.startIndex..., in: body)
                guard Self.sqlKeywords.firstMatch(in: body, range: bodyRange) != nil,
                    body.contains("FROM") || body.contains("INTO") || body.contains("PRAGMA") || body.contains("SET")
                else { continue }
                sqlLiterals += 1
                for match in Self.interpolation.matches(in: body, range: bodyRange) {
                    let expression = (body as NSString).substring(with: match.range(at: 1))
                    #expect(
                        Self.allowedInterpolations.contains(expression),
                        "\(file): SQL interpolates \\(\(expression)); bind it as a parameter instead")
                }
            }
        }
        #expect(sqlLiterals > 20, "the scan should find the outbox's SQL")
    }
}
