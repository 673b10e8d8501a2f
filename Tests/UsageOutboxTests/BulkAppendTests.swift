import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// The streaming path behind `outbox append`: object, array and NDJSON.
struct BulkAppendTests {
    func withOutbox(maxEventBytes: Int = EventSizeLimit.default, _ body: (Outbox, String) async throws -> Void) async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            var configuration = OutboxConfiguration(path: path)
            configuration.maxEventBytes = maxEventBytes
            try await body(try Outbox(configuration), path)
        }
    }

    @Test func appendsNDJSONWithBlankLinesAndCRLF() async throws {
        try await withOutbox { (outbox, path) async throws in
            let input = "\(sampleJSON("a"))\r\n\n   \n\(sampleJSON("b"))\n\(sampleJSON("c"))"
            #expect(try await appendStream(outbox, Array(input.utf8)) == 3)
            #expect(try storedBodies(path) == [sampleJSON("a"), sampleJSON("b"), sampleJSON("c")])
        }
    }

    @Test func appendsAnArrayAndAPrettyPrintedObject() async throws {
        try await withOutbox { (outbox, path) async throws in
            #expect(try await appendStream(outbox, Array("[\(sampleJSON("a")),\n \(sampleJSON("b"))]".utf8)) == 2)
            let pretty = "{\n  \"CustomerId\": \"p\",\n  \"UsageIdentifier\": \"u\",\n  \"UsageDate\": \"2026-11-29T10:00:00Z\",\n  \"Quantity\": 3\n}\n"
            #expect(try await appendStream(outbox, Array(pretty.utf8)) == 1)
            #expect(try storedBodies(path).last == pretty.trimmingCharacters(in: .newlines))
        }
    }

    @Test func ignoresAByteOrderMark() async throws {
        try await withOutbox { (outbox, _) async throws in
            #expect(try await appendStream(outbox, [0xEF, 0xBB, 0xBF] + Array(sampleJSON().utf8)) == 1)
        }
    }

    @Test(arguments: ["", "\n\n  \n", "[]", " [ ] "])
    func rejectsInputWithoutEvents(_ input: String) async throws {
        try await withOutbox { (outbox, path) async throws in
            let error = await #expect(throws: OutboxError.self) { try await appendStream(outbox, Array(input.utf8)) }
            #expect(error?.code == .invalidInput)
            #expect(try rowCount(path) == 0)
        }
    }

    @Test func reportsEveryBadLineAndAppendsNothing() async throws {
        try await withOutbox { (outbox, path) async throws in
            let lines = [sampleJSON("a"), sampleJSON(quantity: "\"7\""), sampleJSON("c"), "{\"CustomerId\":", "[1]", sampleJSON("f")]
            let error = await #expect(throws: OutboxError.self) { try await appendStream(outbox, Array(lines.joined(separator: "\n").utf8)) }
            #expect(error?.code == .invalidInput)
            #expect(error?.problems.map(\.position) == [.line(2), .line(4), .line(5)])
            #expect(error?.problems.first?.description.hasPrefix("line 2: Quantity must be a number") == true)
            #expect(try rowCount(path) == 0)
            #expect(try await outbox.status().totals.appended == 0)
        }
    }

    @Test func reportsBadArrayElementsByIndex() async throws {
        try await withOutbox { (outbox, path) async throws in
            let input = "[\(sampleJSON()), {\"CustomerId\":\"x\"}, \(sampleJSON()), [1]]"
            let error = await #expect(throws: OutboxError.self) { try await appendStream(outbox, Array(input.utf8)) }
            #expect(error?.problems.map(\.position) == [.element(2), .element(4)])
            #expect(try rowCount(path) == 0)
        }
    }

    @Test func rejectsTrailingGarbageAfterAnArray() async throws {
        try await withOutbox { (outbox, path) async throws in
            await #expect(throws: OutboxError.self) { try await appendStream(outbox, Array("[\(sampleJSON())] x".utf8)) }
            #expect(try rowCount(path) == 0)
        }
    }

    @Test func handlesAThreeMegabyteLine() async throws {
        try await withOutbox(maxEventBytes: EventSizeLimit.ceiling) { (outbox, path) async throws in
            let big = String(repeating: "x", count: 3 << 20)
            let event = #"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"blob":"\#(big)"}"#
            #expect(try await appendStream(outbox, Array((sampleJSON() + "\n" + event + "\n" + sampleJSON()).utf8)) == 3)
            #expect(try storedBodies(path)[1].utf8.count == event.utf8.count)
        }
    }

    @Test func streamsManyEventsAcrossReadChunks() async throws {
        try await withOutbox { (outbox, path) async throws in
            let count = 50_000
            var input = ""
            input.reserveCapacity(count * 100)
            for index in 0..<count { input += sampleJSON("C-\(index)") + "\n" }
            #expect(try await appendStream(outbox, Array(input.utf8)) == count)
            let bodies = try storedBodies(path)
            #expect(bodies.count == count)
            #expect(bodies[count - 1] == sampleJSON("C-\(count - 1)"))
            #expect(try await outbox.status().meters["m"]?.counts.pending == count)
        }
    }
}
