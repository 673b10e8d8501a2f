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
}
