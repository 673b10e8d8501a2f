import Foundation
import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// The parsing thread behind bulk appends: order, all or nothing across many
/// chunks, errors carried over, and a stop that joins a blocked parser.
struct ParallelEventInputTests {
    /// NDJSON of `count` sample events, one customer id per line number.
    func ndjson(_ count: Int) -> String {
        var text = ""
        text.reserveCapacity(count * 100)
        for line in 1...count { text += sampleJSON("C-\(line)") + "\n" }
        return text
    }

    @Test func handsOverEveryEventInOrderInBoundedChunks() async throws {
        let count = ParallelEventInput.chunkEvents * (ParallelEventInput.depth + 3) + 17
        let customers: [String] = try await withInputFile(Array(ndjson(count).utf8)) { fd in
            let input = EventInput(fileDescriptor: fd, eventIdField: nil)
            let parsed = ParallelEventInput(input)
            defer { parsed.stop() }
            var seen: [String] = []
            while let chunk = try parsed.next() {
                #expect(chunk.events.count <= ParallelEventInput.chunkEvents)
                chunk.forEach { bytes, _ in
                    let text = String(decoding: bytes, as: UTF8.self)
                    seen.append(String(text.split(separator: "\"")[3]))
                }
            }
            #expect(input.finalError() == nil)
            return seen
        }
        #expect(customers.count == count)
        #expect(customers == (1...count).map { "C-\($0)" })
    }

    @Test func anInvalidEventAfterManyChunksAppendsNothing() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            let outbox = try Outbox(path: path)
            let good = ParallelEventInput.chunkEvents * (ParallelEventInput.depth + 4)
            let input = ndjson(good) + sampleJSON(quantity: "\"1\"") + "\n" + sampleJSON("last") + "\n"
            let error = await #expect(throws: OutboxError.self) { try await appendStream(outbox, Array(input.utf8)) }
            #expect(error?.code == .invalidInput)
            #expect(error?.problems.map(\.position) == [.line(good + 1)])
            #expect(try rowCount(path) == 0)
            #expect(try await outbox.status().totals.appended == 0)
        }
    }

    @Test func aReadErrorOnTheParsingThreadReachesTheAppender() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let outbox = try Outbox(path: dir + "/o.sqlite")
            // read(2) on a directory fails with EISDIR, on the parsing thread.
            let fd = open(dir, O_RDONLY | O_DIRECTORY)
            #expect(fd >= 0)
            defer { close(fd) }
            let error = await #expect(throws: OutboxError.self) { try await outbox.appendStream(fileDescriptor: fd, meter: "m") }
            #expect(error?.code == .inputUnreadable)
            #expect(try rowCount(dir + "/o.sqlite") == 0)
        }
    }

    @Test func stopJoinsAParserBlockedOnAFullQueue() async throws {
        let count = ParallelEventInput.chunkEvents * (ParallelEventInput.depth + 8)
        try await withInputFile(Array(ndjson(count).utf8)) { fd in
            let input = EventInput(fileDescriptor: fd, eventIdField: nil)
            let parsed = ParallelEventInput(input)
            let first = try parsed.next()
            #expect(first?.events.count == ParallelEventInput.chunkEvents)
            // The parser fills the queue and waits; stop must wake and join it.
            parsed.stop()
            #expect(input.eventsDelivered < count)
        }
    }
}
