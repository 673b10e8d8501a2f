import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Validated events set aside in a temporary file, so that an input read
/// from a pipe (`slow-producer | outbox append`) is read and validated to its
/// end before the database's write lock is taken: a slow producer then
/// never holds up the other writers. The file is unlinked as soon as it is
/// created, so it disappears with the process whatever happens.
///
/// Each record is the event's length (4 bytes, little-endian), a flag byte
/// (whether it already holds the event id field), then the event's bytes.
package final class EventSpool {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private static let flushAt = 1 << 20
    private static let readBlock = 4 << 20
    package private(set) var count = 0

    /// Creates the spool in `directory` (the system's temporary directory by default).
    package init(directory: String = EventSpool.temporaryDirectory()) throws {
        var template = Array((directory + "/outbox-spool-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw OutboxError(
                .spoolUnavailable, "cannot create a spool file in \(directory): \(String(cString: strerror(errno)))",
                hint: "set TMPDIR to a writable directory with room for the input")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.fd = fd
        buffer.reserveCapacity(EventSpool.flushAt + 64 << 10)
    }

    deinit { close(fd) }

    package static func temporaryDirectory() -> String {
        if let value = getenv("TMPDIR").map({ String(cString: $0) }), !value.isEmpty { return value }
        return "/tmp"
    }

    package func append(_ event: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool) throws {
        let length = UInt32(event.count)
        buffer.append(UInt8(truncatingIfNeeded: length))
        buffer.append(UInt8(truncatingIfNeeded: length >> 8))
        buffer.append(UInt8(truncatingIfNeeded: length >> 16))
        buffer.append(UInt8(truncatingIfNeeded: length >> 24))
        buffer.append(hasEventIdField ? 1 : 0)
        buffer.append(contentsOf: event)
        count += 1
        if buffer.count >= EventSpool.flushAt { try flush() }
    }

    package func flush() throws {
        try buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw OutboxError(
                        .spoolUnavailable, "cannot write the spool file: \(String(cString: strerror(errno)))",
                        hint: "free space in the temporary directory (TMPDIR), or append from a regular file, which needs no spool")
                }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Calls `body` with every spooled event, in order (the bytes are valid
    /// only during the call). Reads the file from its start, in large blocks.
    package func forEach(_ body: (UnsafeBufferPointer<UInt8>, _ hasEventIdField: Bool) throws -> Void) throws {
        var reader = try self.reader()
        while try reader.next(limit: Int.max, body) {}
    }

    /// A reader from the spool's start, for callers that stop between
    /// chunks (to insert them asynchronously).
    package func reader() throws -> Reader {
        try flush()
        return Reader(fd: fd)
    }

    /// Reads the spool's records in order, a chunk at a time.
    package struct Reader {
        let fd: Int32
        private var block = [UInt8](repeating: 0, count: EventSpool.readBlock)
        private var filled = 0
        private var offset = 0
        private var position: off_t = 0
        private var atEnd = false

        init(fd: Int32) { self.fd = fd }

        /// Calls `body` with up to `limit` more records; returns whether any
        /// record remains after them.
        package mutating func next(limit: Int, _ body: (UnsafeBufferPointer<UInt8>, _ hasEventIdField: Bool) throws -> Void) throws -> Bool {
            var delivered = 0
            while true {
                // Records whole in the block, up to the limit.
                let (count, newOffset) = try block.withUnsafeBufferPointer { bytes -> (Int, Int) in
                    var offset = self.offset
                    var count = 0
                    while delivered + count < limit, filled - offset >= 5 {
                        let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
                        guard filled - offset >= 5 + length else { break }
                        try body(UnsafeBufferPointer(rebasing: bytes[(offset + 5)..<(offset + 5 + length)]), bytes[offset + 4] == 1)
                        offset += 5 + length
                        count += 1
                    }
                    return (count, offset)
                }
                delivered += count
                offset = newOffset
                if atEnd && offset == filled { return false }
                if delivered >= limit { return true }
                try refill()
            }
        }

        /// Keeps the partial record at the block's start and tops it up from
        /// the file (growing the block for a record larger than it).
        private mutating func refill() throws {
            let leftover = filled - offset
            if offset > 0 {
                let start = offset
                block.withUnsafeMutableBufferPointer { bytes in
                    _ = memmove(bytes.baseAddress!, bytes.baseAddress! + start, leftover)
                }
            } else if leftover == block.count {
                block += [UInt8](repeating: 0, count: block.count)
            } else if atEnd {
                throw OutboxError(.storage, "the spool file ends inside a record")
            }
            filled = leftover
            offset = 0
            while !atEnd && filled < block.count {
                let room = block.count - filled
                let start = filled
                let read = block.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + start, room, position) }
                if read < 0 {
                    if errno == EINTR { continue }
                    throw OutboxError(.storage, "cannot read the spool file back: \(String(cString: strerror(errno)))")
                }
                if read == 0 { atEnd = true }
                filled += read
                position += off_t(read)
            }
        }
    }
}

extension EventSpool {
    /// Reads and validates a whole input into a spool, off the database
    /// and off Swift's cooperative pool (the reads block): an input that is
    /// not a regular file (a pipe) is read to its end before any store takes
    /// a lock or opens a transaction.
    package static func collect(
        fileDescriptor: Int32, eventIdField: String?, maxEventBytes: Int, progress: (@Sendable (Int, Int) -> Void)?
    ) async throws -> EventSpool {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<SendableSpool, Error>) in
            DispatchQueue(label: "outbox.spool").async {
                do {
                    let spool = try EventSpool()
                    let input = EventInput(fileDescriptor: fileDescriptor, eventIdField: eventIdField, maxEventBytes: maxEventBytes)
                    let parsed = ParallelEventInput(input, progress: progress)
                    defer { parsed.stop() }
                    while let chunk = try parsed.next() {
                        try chunk.forEach { bytes, hasEventIdField in try spool.append(bytes, hasEventIdField: hasEventIdField) }
                    }
                    if let error = input.finalError() { throw error }
                    try spool.flush()
                    continuation.resume(returning: SendableSpool(spool: spool))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }.spool
    }

    /// Whether `fd` is a regular file (all there already: no spool needed).
    package static func isRegularFile(_ fd: Int32) -> Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }
}
