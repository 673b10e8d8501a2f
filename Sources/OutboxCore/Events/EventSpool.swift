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
        try flush()
        var block = [UInt8](repeating: 0, count: EventSpool.readBlock)
        var filled = 0
        var position: off_t = 0
        var atEnd = false
        while true {
            // Top the block up after what is left of the last one.
            while !atEnd && filled < block.count {
                let room = block.count - filled
                let read = block.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, room, position) }
                if read < 0 {
                    if errno == EINTR { continue }
                    throw OutboxError(.storage, "cannot read the spool file back: \(String(cString: strerror(errno)))")
                }
                if read == 0 { atEnd = true }
                filled += read
                position += off_t(read)
            }
            var offset = 0
            try block.withUnsafeBufferPointer { bytes in
                while filled - offset >= 5 {
                    let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
                    guard filled - offset >= 5 + length else { break }
                    try body(UnsafeBufferPointer(rebasing: bytes[(offset + 5)..<(offset + 5 + length)]), bytes[offset + 4] == 1)
                    offset += 5 + length
                }
            }
            if atEnd && offset == filled { return }
            // Keep the partial record; grow the block for a record larger than it.
            let leftover = filled - offset
            if offset > 0 {
                block.withUnsafeMutableBufferPointer { bytes in
                    _ = memmove(bytes.baseAddress!, bytes.baseAddress! + offset, leftover)
                }
            } else if leftover == block.count {
                block += [UInt8](repeating: 0, count: block.count)
            } else if atEnd {
                throw OutboxError(.storage, "the spool file ends inside a record")
            }
            filled = leftover
        }
    }
}
