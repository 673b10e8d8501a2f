import Foundation
import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// What an operator gets from `outbox dead-letters`: real attempts, the
/// history of each event's answers, ids by prefix, selections and groups.
@Suite(.serialized) struct DeadLetterCommandTests {
    static func event(_ customer: String) -> String {
        #"{"CustomerId":"\#(customer)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
    }

    /// Two "retry later" answers, then the 400: `show` prints three tries
    /// and one history line for each; `--json` has them as `history`;
    /// `export --full` carries the same, while a plain export stays the
    /// events alone (to append again).
    @Test func showAndExportCarryTheHistoryOfAnswers() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: Self.event("INVALID-1")).status == 0)
            let mock = try MockProcess(["--retryable-answer", "1", "--retryable-answer", "2"])
            defer { mock.stop() }
            let drained = try CLI.run(
                ["drain", "--once", "--json", "--db", db, "--log-level", "error", "--backoff-base", "0.01s"], environment: mock.environment)
            #expect(drained.status == 0)
            #expect(CLI.json(drained.stdout)?["dead"] as? Int == 1)
            let id = try #require(CLI.jsonArray(try CLI.run(["dead-letters", "list", "--json", "--db", db]).stdout).first?["id"] as? String)

            let shown = try #require(CLI.json(try CLI.run(["dead-letters", "show", id, "--json", "--db", db]).stdout))
            #expect(shown["attempts"] as? Int == 3)
            let history = try #require(shown["history"] as? [[String: Any]])
            #expect(history.map { $0["status"] as? Int } == [200, 200, 400])
            #expect(history.allSatisfy { ($0["request_id"] as? String)?.isEmpty == false })
            #expect(history.allSatisfy { ($0["at"] as? String)?.wholeMatch(of: /20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/) != nil })
            #expect((history.first?["reason"] as? String)?.contains("58730050") == true)
            #expect((history.last?["reason"] as? String)?.hasPrefix("HTTP 400") == true)

            let text = try CLI.run(["dead-letters", "show", id, "--db", db]).stdout
            #expect(text.contains("attempts:      3"))
            #expect(text.contains("history:       3 answers"))
            let lines = text.split(separator: "\n").filter { $0.hasPrefix("  20") }
            #expect(lines.count == 3 && lines.last?.contains("400") == true)

            let plain = try CLI.run(["dead-letters", "export", "--db", db])
            #expect(plain.stdout == Self.event("INVALID-1") + "\n", "a plain export is the event alone, as appended")
            let full = try CLI.run(["dead-letters", "export", "--full", "--db", db])
            let exported = try #require(CLI.json(full.stdout))
            #expect(exported["id"] as? String == id)
            #expect((exported["history"] as? [[String: Any]])?.count == 3)
            #expect(exported["event"] is [String: Any])
        }
    }

    /// Three dead letters appended together (UUIDv7 ids, alike for their
    /// first dozen characters); drained against the mock.
    static func threeDeadLetters(_ db: String) throws -> [String] {
        let input = ["INVALID-1", "INVALID-2", "INVALID-3"].map(event).joined(separator: "\n")
        #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: input).status == 0)
        let mock = try MockProcess()
        defer { mock.stop() }
        #expect(try CLI.run(["drain", "--once", "--db", db, "--log-level", "error", "--batch-size", "1"], environment: mock.environment).status == 0)
        return CLI.jsonArray(try CLI.run(["dead-letters", "list", "--json", "--db", db]).stdout).compactMap { $0["id"] as? String }.sorted()
    }

    /// The shortest prefix (of at least 6 characters) that only `id` has.
    static func uniquePrefix(_ id: String, among ids: [String]) -> String {
        (6...id.count).lazy.map { String(id.prefix($0)) }.first { prefix in ids.filter { $0.hasPrefix(prefix) }.count == 1 } ?? id
    }

    /// `show`, `retry` and `purge` take a unique prefix of an id; an
    /// ambiguous one is a usage error naming candidates, and changes
    /// nothing; a short or unknown one is unknown (65), as before.
    @Test func idsMayBeShortenedToAUniquePrefix() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let ids = try Self.threeDeadLetters(db)
            try #require(ids.count == 3)
            let shared = String(zip(ids[0], ids[2]).prefix { $0 == $1 }.map(\.0))
            try #require(shared.count >= 6, "ids appended together share their first characters: \(ids)")

            let shown = try CLI.run(["dead-letters", "show", Self.uniquePrefix(ids[1], among: ids), "--json", "--db", db])
            #expect(shown.status == 0)
            #expect(CLI.json(shown.stdout)?["id"] as? String == ids[1])

            let ambiguous = try CLI.run(["dead-letters", "purge", shared, "--db", db])
            #expect(ambiguous.status == 64)
            #expect(ambiguous.stderr.contains(ids[0]) && ambiguous.stderr.contains(ids[2]))
            #expect(ambiguous.stderr.contains("hint: give more characters"))
            #expect(try CLI.run(["dead-letters", "show", shared, "--db", db]).status == 64)
            #expect(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout)?["dead"] as? Int == 3, "nothing purged")

            let short = try CLI.run(["dead-letters", "retry", String(ids[0].prefix(5)), "--db", db])
            #expect(short.status == 65)
            #expect(short.stderr.contains("at least 6 characters"))
            for command in ["show", "retry", "purge"] {
                let unknown = try CLI.run(["dead-letters", command, "ffffffff-0000", "--db", db])
                #expect(unknown.status == 65, "\(command)")
                #expect(unknown.stderr.contains("ffffffff-0000"))
            }
            // A prefix of another meter's dead letters names none.
            #expect(try CLI.run(["dead-letters", "retry", Self.uniquePrefix(ids[0], among: ids), "--meter", "other", "--db", db]).status == 65)

            let prefix = Self.uniquePrefix(ids[0], among: ids)
            let retried = try CLI.run(["dead-letters", "retry", prefix, "--json", "--db", db])
            #expect(CLI.json(retried.stdout)?["retried"] as? Int == 1)
            // Ids appended together may differ only in their last character.
            if prefix != ids[0] {
                #expect(retried.stderr.contains("\(prefix) is \(ids[0])"), "a change says which id a prefix named: \(retried.stderr)")
            }
            let purged = try CLI.run(["dead-letters", "purge", Self.uniquePrefix(ids[2], among: ids), ids[1], "--json", "--db", db])
            #expect(CLI.json(purged.stdout)?["purged"] as? Int == 2)
            #expect(try CLI.run(["verify", "--db", db]).status == 0)
        }
    }

    /// `export` (and `list`) select with --meter, --status,
    /// --reason-contains, --older-than and --newer-than; durations carry a
    /// unit, and a window that holds nothing is a usage error.
    @Test func exportSelects() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let large =
                #"{"CustomerId":"BIG","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"Note":"\#(String(repeating: "x", count: 400))"}"#
            let negative = #"{"CustomerId":"NEG","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":-1}"#
            #expect(
                try CLI.run(["append", "--meter", "m", "--db", db], stdin: [Self.event("INVALID-1"), large, negative].joined(separator: "\n")).status == 0)
            #expect(try CLI.run(["append", "--meter", "n", "--db", db], stdin: Self.event("INVALID-2")).status == 0)
            let mock = try MockProcess(["--max-body-bytes", "300"])
            defer { mock.stop() }
            #expect(try CLI.run(["drain", "--once", "--db", db, "--log-level", "error"], environment: mock.environment).status == 0)
            func exported(_ flags: [String]) throws -> [String] {
                let result = try CLI.run(["dead-letters", "export", "--db", db] + flags)
                #expect(result.status == 0, "\(flags): \(result.stderr)")
                return result.stdout.split(separator: "\n").map { DeadLetterCommandTests.customer(String($0)) }.sorted()
            }
            #expect(try exported([]) == ["BIG", "INVALID-1", "INVALID-2", "NEG"])
            #expect(try exported(["--meter", "n"]) == ["INVALID-2"])
            #expect(try exported(["--status", "413"]) == ["BIG"])
            #expect(try exported(["--status", "400", "--meter", "m"]) == ["INVALID-1", "NEG"])
            #expect(try exported(["--reason-contains", "ACTIVE ACCOUNT"]) == ["INVALID-1", "INVALID-2"])
            #expect(try exported(["--reason-contains", "negative", "--status", "400"]) == ["NEG"])
            #expect(try exported(["--older-than", "1h"]) == [])
            #expect(try exported(["--newer-than", "1h", "--status", "413"]) == ["BIG"])
            #expect(try exported(["--newer-than", "2h", "--older-than", "1h"]) == [])
            let full = try CLI.run(["dead-letters", "export", "--full", "--status", "413", "--db", db])
            #expect(CLI.json(full.stdout)?["status"] as? Int == 413)
            let listed = CLI.jsonArray(try CLI.run(["dead-letters", "list", "--json", "--reason-contains", "negative", "--db", db]).stdout)
            #expect(listed.compactMap { ($0["event"] as? [String: Any])?["CustomerId"] as? String } == ["NEG"])

            for flags in [["--older-than", "7"], ["--newer-than", "1h", "--older-than", "2h"], ["--status", "4000"], ["--reason-contains", ""]] {
                let refused = try CLI.run(["dead-letters", "export", "--db", db] + flags)
                #expect(refused.status == 64, "\(flags)")
                #expect(refused.stdout.isEmpty)
            }
        }
    }

    static func customer(_ line: String) -> String {
        CLI.json(line)?["CustomerId"] as? String ?? "?"
    }

    /// `list --group-by reason`: dead letters counted by cause, largest
    /// first, as a table and as JSON; the selection flags apply.
    @Test func listGroupsByCause() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            let negative = #"{"CustomerId":"NEG","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":-1}"#
            #expect(
                try CLI.run(
                    ["append", "--meter", "m", "--db", db], stdin: [Self.event("INVALID-1"), Self.event("INVALID-2"), negative].joined(separator: "\n")
                ).status == 0)
            #expect(try CLI.run(["append", "--meter", "n", "--db", db], stdin: Self.event("INVALID-3")).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            #expect(try CLI.run(["drain", "--once", "--db", db, "--log-level", "error"], environment: mock.environment).status == 0)

            let grouped = CLI.jsonArray(try CLI.run(["dead-letters", "list", "--group-by", "reason", "--json", "--db", db]).stdout)
            #expect(grouped.map { $0["count"] as? Int } == [3, 1])
            #expect(grouped.map { $0["status"] as? Int } == [400, 400])
            #expect(grouped.first?["meters"] as? [String] == ["m", "n"])
            #expect((grouped.first?["reason"] as? String)?.contains("CustomerId does not match") == true)
            #expect((grouped.first?["reason"] as? String)?.count == 80)
            #expect((grouped.last?["reason"] as? String)?.contains("negative") == true)
            #expect(grouped.allSatisfy { ($0["oldest_dead_at"] as? String)?.hasSuffix("Z") == true })

            let text = try CLI.run(["dead-letters", "list", "--group-by", "reason", "--db", db]).stdout.split(separator: "\n")
            #expect(text.first?.hasPrefix("COUNT  STATUS  REASON") == true)
            #expect(text.count == 3 && text[1].hasPrefix("    3  400") && text[1].contains("m,n") && text[2].hasPrefix("    1  400"))

            let one = CLI.jsonArray(try CLI.run(["dead-letters", "list", "--group-by", "reason", "--meter", "n", "--json", "--db", db]).stdout)
            #expect(one.map { $0["count"] as? Int } == [1] && one.first?["meters"] as? [String] == ["n"])
            #expect(try CLI.run(["dead-letters", "list", "--group-by", "reason", "--status", "413", "--db", db]).stdout == "no dead letters selected\n")
            #expect(try CLI.run(["dead-letters", "list", "--group-by", "meter", "--db", db]).status == 64)
        }
    }

    /// `verify` tells purged dead letters (never billed) from purged sent
    /// events, in text and JSON.
    @Test func verifyTellsPurgedDeadLettersApart() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(2) + Self.event("INVALID-1")).status == 0)
            let mock = try MockProcess()
            defer { mock.stop() }
            #expect(try CLI.run(["drain", "--once", "--db", db, "--log-level", "error"], environment: mock.environment).status == 0)
            #expect(try CLI.run(["purge", "--sent-older-than", "0s", "--db", db]).status == 0)
            #expect(try CLI.run(["dead-letters", "purge", "--all", "--db", db]).status == 0)

            let text = try CLI.run(["verify", "--db", db])
            #expect(text.status == 0)
            #expect(text.stdout.contains("purged 3 (sent 2; dead letters 1, never billed): ok"), "\(text.stdout)")
            let json = try #require(CLI.json(try CLI.run(["verify", "--json", "--db", db]).stdout))
            let meter = try #require((json["meters"] as? [String: Any])?["m"] as? [String: Any])
            #expect(meter["purged"] as? Int == 3 && meter["purged_sent"] as? Int == 2 && meter["purged_dead"] as? Int == 1)
            #expect(meter["purged_before_split"] as? Int == 0)
        }
    }
}
