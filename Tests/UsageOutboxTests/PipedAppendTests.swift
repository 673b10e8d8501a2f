import Foundation
import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// Appends from a pipe: read and validated to the end, into a spool, before
/// the write lock is taken. Still all or nothing.
struct PipedAppendTests {
    /// Feeds `input` through a pipe from another thread, as a producer would.
    static func appendThroughPipe(_ outbox: Outbox, _ input: [UInt8], meter: String = "m") async throws -> Int {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        let writer = fds[1]
        let feeding = Thread {
            input.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(writer, bytes.baseAddress! + offset, bytes.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
            close(writer)
        }
        feeding.start()
        defer { close(fds[0]) }
        return try await outbox.appendStream(fileDescriptor: fds[0], meter: meter)
    }

    @Test func appendsEveryEventOfAPipeInOrder() async throws {
        try await withTemporaryDirectory { dir in
            let outbox = try Outbox(path: dir + "/o.sqlite")
            let lines = (0..<5000).map { sampleJSON("C-\($0)") }
            let appended = try await Self.appendThroughPipe(outbox, Array(("\u{FEFF}" + lines.joined(separator: "\n") + "\n").utf8))
            #expect(appended == 5000)
            #expect(try storedBodies(dir + "/o.sqlite") == lines)
            outbox.close()
        }
    }

    @Test func anInvalidEventInAPipeAppendsNothing() async throws {
        try await withTemporaryDirectory { dir in
            let outbox = try Outbox(path: dir + "/o.sqlite")
            var lines = (0..<3000).map { sampleJSON("C-\($0)") }
            lines[2999] = sampleJSON("C-bad", quantity: "\"lots\"")
            let error = await #expect(throws: OutboxError.self) {
                try await Self.appendThroughPipe(outbox, Array(lines.joined(separator: "\n").utf8))
            }
            #expect(error?.code == .invalidInput)
            #expect(error?.problems.first?.description.contains("line 3000") == true)
            #expect(try rowCount(dir + "/o.sqlite") == 0)
            outbox.close()
        }
    }

    @Test func aJSONArrayThroughAPipe() async throws {
        try await withTemporaryDirectory { dir in
            let outbox = try Outbox(OutboxConfiguration(path: dir + "/o.sqlite", eventIdField: "EventId"))
            let appended = try await Self.appendThroughPipe(outbox, Array("[\(sampleJSON("A")),\n \(sampleJSON("B"))]".utf8))
            #expect(appended == 2)
            #expect(try storedBodies(dir + "/o.sqlite").allSatisfy { $0.hasPrefix(#"{"EventId":""#) })
            outbox.close()
        }
    }

    /// A producer that stalls mid-input holds up nobody: another connection
    /// writes, well within its busy timeout, while the pipe waits.
    @Test func aStalledProducerDoesNotHoldTheWriteLock() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/o.sqlite"
            let outbox = try Outbox(path: path)
            let other = try Outbox(OutboxConfiguration(path: path, busyTimeout: .milliseconds(100)))
            var fds: [Int32] = [0, 0]
            precondition(pipe(&fds) == 0)
            let first = Array((sampleJSON("slow-1") + "\n").utf8)
            _ = first.withUnsafeBytes { write(fds[1], $0.baseAddress!, $0.count) }
            let reader = fds[0]
            async let appended = outbox.appendStream(fileDescriptor: reader, meter: "m")
            // The first line has been read out of the pipe: an append that
            // took the lock before reading would hold it now.
            func unread() -> Int32 {
                var count: Int32 = 0
                _ = ioctl(reader, UInt(FIONREAD), &count)
                return count
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while unread() > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
            #expect(unread() == 0)
            try await other.append(json: sampleJSON("quick"), meter: "m")
            let second = Array((sampleJSON("slow-2") + "\n").utf8)
            _ = second.withUnsafeBytes { write(fds[1], $0.baseAddress!, $0.count) }
            close(fds[1])
            #expect(try await appended == 2)
            close(reader)
            #expect(try rowCount(path) == 3)
            outbox.close()
            other.close()
        }
    }

    @Test func aSpoolReadsBackRecordsLargerThanItsBlock() throws {
        let spool = try EventSpool()
        let small = Array(sampleJSON("small").utf8)
        let large = Array(#"{"pad":"\#(String(repeating: "x", count: 9 << 20))"}"#.utf8)
        for index in 0..<3000 {
            try small.withUnsafeBufferPointer { try spool.append($0, hasEventIdField: index % 2 == 0) }
        }
        try large.withUnsafeBufferPointer { try spool.append($0, hasEventIdField: true) }
        try small.withUnsafeBufferPointer { try spool.append($0, hasEventIdField: false) }
        var seen: [(Int, Bool)] = []
        try spool.forEach { bytes, flag in seen.append((bytes.count, flag)) }
        #expect(seen.count == 3002)
        #expect(seen[3000] == (large.count, true))
        #expect(seen[3001] == (small.count, false))
        #expect(seen[0..<3000].allSatisfy { $0.0 == small.count })
        #expect(seen[1].1 == false && seen[2].1 == true)
    }

    /// Closing an outbox while a dispatcher's stream of wake-ups is
    /// registered (an app's normal shutdown order) ends the stream.
    @Test func closingEndsRegisteredAppendStreams() async throws {
        try await withTemporaryDirectory { dir in
            let outbox = try Outbox(path: dir + "/o.sqlite")
            let stream = outbox.appendNotifications()
            let other = outbox.appendNotifications()
            outbox.close()
            for await _ in stream {}
            for await _ in other {}
        }
    }
}
