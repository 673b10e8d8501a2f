#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file descriptor in large chunks and hands out complete lines
/// without copying them. A line stays valid until the next call. Memory is
/// bounded by the longest line plus one chunk, whatever the input's size.
final class InputReader {
    private let fd: Int32
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0  // first unconsumed byte
    private var end = 0  // one past the last byte read
    private var reachedEOF = false
    private(set) var bytesConsumed = 0
    private static let chunkSize = 1 << 20

    init(fileDescriptor: Int32) {
        fd = fileDescriptor
        capacity = InputReader.chunkSize * 4
        storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    /// Skips a UTF-8 byte order mark at the very start, if there is one.
    func skipByteOrderMark() throws {
        while end - start < 3 && !reachedEOF { try fill() }
        if end - start >= 3, storage[start] == 0xEF, storage[start + 1] == 0xBB, storage[start + 2] == 0xBF {
            start += 3
            bytesConsumed += 3
        }
    }

    /// The first byte that is not whitespace, without consuming anything.
    func peekFirstNonWhitespace() throws -> UInt8? {
        var offset = start
        while true {
            while offset < end {
                switch storage[offset] {
                case 0x20, 0x09, 0x0A, 0x0D: offset += 1
                default: return storage[offset]
                }
            }
            if reachedEOF { return nil }
            let consumedBefore = start
            try fill()
            offset -= consumedBefore - start  // fill may move bytes to the front
        }
    }

    /// A line of at most `limit` bytes, or how long a longer one was: a
    /// longer line is skipped as it is read, never held whole, so an input
    /// with a 300 MB line costs no more memory than one of 1 MB lines.
    enum BoundedLine {
        case text(UnsafeBufferPointer<UInt8>)
        case tooLong(bytes: Int)
    }

    func nextLine(atMost limit: Int) throws -> BoundedLine? {
        var searchFrom = start
        while true {
            if let newline = memchr(storage + searchFrom, 0x0A, end - searchFrom) {
                let lineEnd = storage.distance(to: newline.assumingMemoryBound(to: UInt8.self))
                if lineEnd - start > limit {
                    let length = lineEnd - start
                    _ = consume(upTo: lineEnd, skipping: 1)
                    return .tooLong(bytes: length)
                }
                return .text(consume(upTo: lineEnd, skipping: 1))
            }
            if reachedEOF {
                if start == end { return nil }
                if end - start > limit {
                    let length = end - start
                    _ = consume(upTo: end, skipping: 0)
                    return .tooLong(bytes: length)
                }
                return .text(consume(upTo: end, skipping: 0))
            }
            if end - start > limit { return .tooLong(bytes: try skipRestOfLine()) }
            let scanned = end - start
            try fill()
            searchFrom = start + scanned
        }
    }

    /// Drops the current line up to and including its line break, reading
    /// as it goes; returns the line's length.
    private func skipRestOfLine() throws -> Int {
        var skipped = 0
        while true {
            if let newline = memchr(storage + start, 0x0A, end - start) {
                let lineEnd = storage.distance(to: newline.assumingMemoryBound(to: UInt8.self))
                skipped += lineEnd - start
                _ = consume(upTo: lineEnd, skipping: 1)
                return skipped
            }
            skipped += end - start
            _ = consume(upTo: end, skipping: 0)
            if reachedEOF { return skipped }
            try fill()
        }
    }

    /// Everything not consumed yet, read to the end. Valid until the next call.
    func readAll() throws -> UnsafeBufferPointer<UInt8> {
        while !reachedEOF { try fill() }
        return consume(upTo: end, skipping: 0)
    }

    private func consume(upTo lineEnd: Int, skipping separator: Int) -> UnsafeBufferPointer<UInt8> {
        var contentEnd = lineEnd
        if separator == 1, contentEnd > start, storage[contentEnd - 1] == 0x0D { contentEnd -= 1 }
        let line = UnsafeBufferPointer(start: storage + start, count: contentEnd - start)
        bytesConsumed += lineEnd + separator - start
        start = lineEnd + separator
        return line
    }

    /// Reads more input, first moving unconsumed bytes to the front and
    /// growing the buffer when a single line fills it.
    private func fill() throws {
        if start > 0 {
            let remaining = end - start
            if remaining > 0 { memmove(storage, storage + start, remaining) }
            start = 0
            end = remaining
        }
        if capacity - end < InputReader.chunkSize {
            let newCapacity = capacity * 2
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            grown.update(from: storage, count: end)
            storage.deallocate()
            storage = grown
            capacity = newCapacity
        }
        while true {
            let count = read(fd, storage + end, capacity - end)
            if count > 0 {
                end += count
                return
            }
            if count == 0 {
                reachedEOF = true
                return
            }
            if errno == EINTR { continue }
            throw OutboxError(.inputUnreadable, "cannot read the input: \(String(cString: strerror(errno)))")
        }
    }
}
