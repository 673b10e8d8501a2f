import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and validates an `EventInput` on a thread of its own, handing the
/// valid events over in chunks, so that parsing (a quarter of a bulk
/// append's CPU) runs on one core while SQLite inserts on another.
///
/// ```swift
/// let parsed = ParallelEventInput(input)      // starts parsing
/// defer { parsed.stop() }                     // always: joins the thread
/// while let chunk = try parsed.next() { for each event in chunk: insert }
/// if let error = input.finalError() { roll back }   // safe once next() returned nil
/// ```
///
/// Memory stays bounded: at most `depth` chunks of about `chunkBytes` wait.
package final class ParallelEventInput: @unchecked Sendable {
    /// Valid events, their bytes copied out of the read buffer.
    package struct Chunk {
        var bytes: [UInt8] = []
        /// Where each event lies in `bytes`.
        var events: [(range: Range<Int>, hasEventIdField: Bool)] = []

        /// Calls `body` with each event's bytes (valid only during the call).
        package func forEach(_ body: (UnsafeBufferPointer<UInt8>, _ hasEventIdField: Bool) throws -> Void) rethrows {
            try bytes.withUnsafeBufferPointer { buffer in
                for event in events {
                    try body(UnsafeBufferPointer(rebasing: buffer[event.range]), event.hasEventIdField)
                }
            }
        }
    }

    static let chunkEvents = 2048
    static let chunkBytes = 256 << 10
    static let depth = 4

    private let input: EventInput
    private let progress: (@Sendable (_ bytesRead: Int, _ events: Int) -> Void)?
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var ready: [Chunk] = []
    private var ended = false
    private var failure: Error?
    private var stopping = false
    private var parserRunning = true

    /// Starts parsing `input` at once. `input` belongs to the parsing thread
    /// until `next()` returns nil or throws.
    package init(_ input: EventInput, progress: (@Sendable (_ bytesRead: Int, _ events: Int) -> Void)? = nil) {
        self.input = input
        self.progress = progress
        DispatchQueue(label: "outbox.parse").async { self.parse() }
    }

    /// The next chunk of valid events; nil once the input is read to its end.
    /// Rethrows a read error from the parsing thread.
    package func next() throws -> Chunk? {
        try lock.withLock {
            while ready.isEmpty && !ended && failure == nil { lock.wait() }
            if !ready.isEmpty {
                let chunk = ready.removeFirst()
                lock.broadcast()
                return chunk
            }
            if let failure { throw failure }
            return nil
        }
    }

    /// Stops the parsing thread (if it is still reading) and waits for it,
    /// so the input's file descriptor is no longer used once this returns.
    package func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
            while parserRunning { lock.wait() }
        }
    }

    private func parse() {
        var chunk = Chunk()
        do {
            var more = true
            while more {
                more = try input.read(limit: ParallelEventInput.chunkEvents) { bytes, hasEventIdField in
                    let start = chunk.bytes.count
                    chunk.bytes.append(contentsOf: bytes)
                    chunk.events.append((start..<chunk.bytes.count, hasEventIdField))
                }
                progress?(input.bytesConsumed, input.eventsSeen)
                if chunk.events.count >= ParallelEventInput.chunkEvents || chunk.bytes.count >= ParallelEventInput.chunkBytes || !more {
                    if !chunk.events.isEmpty {
                        guard hand(over: chunk) else { break }
                    }
                    chunk = Chunk()
                    chunk.bytes.reserveCapacity(ParallelEventInput.chunkBytes + 4096)
                    chunk.events.reserveCapacity(ParallelEventInput.chunkEvents)
                }
            }
            finish(nil)
        } catch {
            finish(error)
        }
    }

    /// Queues a chunk, waiting while `depth` are queued; false once stopped.
    private func hand(over chunk: Chunk) -> Bool {
        lock.withLock {
            while ready.count >= ParallelEventInput.depth && !stopping { lock.wait() }
            if stopping { return false }
            ready.append(chunk)
            lock.broadcast()
            return true
        }
    }

    private func finish(_ error: Error?) {
        lock.withLock {
            failure = error
            ended = true
            parserRunning = false
            lock.broadcast()
        }
    }
}
