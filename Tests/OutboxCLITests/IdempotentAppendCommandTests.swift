import Foundation
import Testing

/// `outbox append` is idempotent by id: a producer that runs its job twice
/// (or retries a timed-out append) appends each event once.
@Suite(.serialized) struct IdempotentAppendCommandTests {
    /// 1,000 events, each with its own `EventId`.
    static let file =
        (0..<1000).map { index in
            #"{"EventId":"order-\#(index)","CustomerId":"C-\#(index)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
        }.joined(separator: "\n") + "\n"

    static func appendTwiceAndDrain(db: String) throws {
        let arguments = ["append", "--meter", "m", "--db", db, "--event-id-field", "EventId", "--json"]
        let first = try CLI.run(arguments, stdin: Self.file)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(CLI.json(first.stdout)?["appended"] as? Int == 1000 && CLI.json(first.stdout)?["duplicates"] as? Int == 0)
        // The producer's retry: the same file again, through a pipe.
        let retry = try CLI.run(arguments, stdin: Self.file)
        #expect(retry.status == 0, "\(retry.stderr)")
        let report = try #require(CLI.json(retry.stdout))
        #expect(report["appended"] as? Int == 0 && report["duplicates"] as? Int == 1000 && report["meter"] as? String == "m", "\(report)")
        // A file that repeats an id inside itself, and adds one new event.
        let mixed = try CLI.run(
            ["append", "--meter", "m", "--db", db, "--event-id-field", "EventId"],
            stdin: Self.file.split(separator: "\n").prefix(2).joined(separator: "\n") + "\n"
                + #"{"EventId":"new-1","CustomerId":"N","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"# + "\n"
                + #"{"EventId":"new-1","CustomerId":"N","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":2}"# + "\n")
        #expect(mixed.status == 0 && mixed.stderr.contains("appended 1 event") && mixed.stderr.contains("3 duplicates"), "\(mixed.stderr)")
        let mock = try MockProcess()
        defer { mock.stop() }
        let drained = try CLI.run(["drain", "--once", "--json", "--db", db, "--log-level", "error"], environment: mock.environment)
        #expect(CLI.json(drained.stdout)?["sent"] as? Int == 1001, "\(drained.stdout)")
        #expect(try mock.statistics()["acceptedEvents"] as? Int == 1001 && mock.statistics()["duplicateEvents"] as? Int == 0)
        #expect(try CLI.run(["verify", "--db", db]).status == 0)
    }

    @Test func appendingOneFileTwiceDeliversEachEventOnce() throws {
        try withTemporaryDirectory { dir in try Self.appendTwiceAndDrain(db: dir + "/o.sqlite") }
    }

    @Test func appendingOneFileTwiceDeliversEachEventOnceOnPostgres() throws {
        try PostgresCommandTests.withDatabase { db in try Self.appendTwiceAndDrain(db: db) }
    }
}
