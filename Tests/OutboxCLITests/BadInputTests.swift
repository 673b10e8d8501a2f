import Foundation
import Testing

/// Every corpus case through the binary: invalid input exits 65 with a clear
/// reason and writes nothing; valid input reaches the mock byte for byte.
@Suite(.serialized) struct BadInputTests {
    @Test func theCorpusHoldsFiftyCasesOrMore() {
        #expect(BadInputCorpus.cases.count >= 50)
        #expect(Set(BadInputCorpus.cases.map(\.name)).count == BadInputCorpus.cases.count, "case names must be unique")
    }

    @Test func invalidInputsExit65AndChangeNothing() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            #expect(try CLI.run(["append", "--meter", "m", "--db", db], stdin: ndjson(3)).status == 0)
            for testCase in BadInputCorpus.cases {
                guard case .invalid(let reason) = testCase.expectation else { continue }
                let result = try CLI.run(["append", "--meter", "m", "--db", db], stdinData: testCase.input)
                #expect(result.status == 65, "\(testCase.name): exit \(result.status)\n\(result.stderr)")
                #expect(result.stderr.contains(reason), "\(testCase.name): expected \"\(reason)\" in:\n\(result.stderr.prefix(500))")
                #expect(result.stderr.contains("outbox: error:"), "\(testCase.name)")
                #expect(result.stderr.split(separator: "\n").count <= 12, "\(testCase.name): a short message, not a dump")
            }
            // Nothing was written by any of them.
            let status = try #require(CLI.json(try CLI.run(["status", "--json", "--db", db]).stdout))
            #expect(status["pending"] as? Int == 3)
            #expect(try CLI.run(["verify", "--db", db]).status == 0)
        }
    }

    @Test func validInputsAreForwardedExactlyAsGiven() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/o.sqlite"
            var expected: [String: [String]] = [:]
            for (index, testCase) in BadInputCorpus.cases.enumerated() {
                guard case .valid(let events) = testCase.expectation else { continue }
                let meter = "case-\(index)"
                let result = try CLI.run(["append", "--meter", meter, "--db", db, "--json"], stdinData: testCase.input)
                #expect(result.status == 0, "\(testCase.name): \(result.stderr)")
                let appendedCount = CLI.json(result.stdout)?["appended"] as? Int ?? -1
                #expect(appendedCount == events.count, "\(testCase.name)")
                expected[meter] = events
            }
            let mock = try MockProcess()
            defer { mock.stop() }
            let drained = try CLI.run(["drain", "--once", "--db", db, "--log-level", "error"], environment: mock.environment)
            #expect(drained.status == 0, "\(drained.stderr)")
            let recorded = try mock.recorded()
            // Every valid event fits a request: none is dead-lettered.
            let letters = CLI.jsonArray(try CLI.run(["dead-letters", "list", "--json", "--db", db]).stdout)
            #expect(letters.isEmpty)
            for (index, testCase) in BadInputCorpus.cases.enumerated() {
                let meter = "case-\(index)"
                guard let events = expected[meter] else { continue }
                #expect(recorded[meter]?.sorted() == events.sorted(), "\(testCase.name): forwarded text differs from the input")
            }
        }
    }
}
