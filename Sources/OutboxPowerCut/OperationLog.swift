import Foundation

/// What the recording VFS (`PowerCutVFS`) saw, in order: each file
/// operation with its bytes, and the workload's markers between them.
struct OperationLog {
    enum Operation {
        case open(file: Int, name: String)
        case write(file: Int, offset: Int, bytes: Data)
        case truncate(file: Int, size: Int)
        case sync(file: Int)
        /// `durable`: SQLite synced the directory after the unlink.
        case delete(name: String, durable: Bool)
        case mark(String)
    }

    var operations: [Operation] = []

    enum Failure: Error, CustomStringConvertible {
        case truncated(at: Int)
        case unknownKind(UInt8, at: Int)

        var description: String {
            switch self {
            case .truncated(let offset): "the operation log ends inside a record at byte \(offset)"
            case .unknownKind(let kind, let offset): "unknown record kind \(kind) at byte \(offset) of the operation log"
            }
        }
    }

    /// Reads the log format of `PowerCutVFS.c`: kind (1 byte), file number
    /// (4), offset or size (8), length (4), then the bytes; little-endian.
    init(contentsOf url: URL) throws {
        let data = try Data(contentsOf: url)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var at = 0
            func integer(_ width: Int) -> UInt64 {
                var value: UInt64 = 0
                for index in 0..<width { value |= UInt64(raw[at + index]) << (8 * UInt64(index)) }
                at += width
                return value
            }
            while at < raw.count {
                let start = at
                guard at + 17 <= raw.count else { throw Failure.truncated(at: start) }
                let kind = raw[at]
                at += 1
                let file = Int(Int32(bitPattern: UInt32(integer(4))))
                let offset = Int(Int64(bitPattern: integer(8)))
                let length = Int(integer(4))
                guard at + length <= raw.count else { throw Failure.truncated(at: start) }
                let bytes = Data(raw[at..<(at + length)])
                at += length
                let text = String(decoding: bytes, as: UTF8.self)
                switch kind {
                case 1: operations.append(.open(file: file, name: text))
                case 2: operations.append(.write(file: file, offset: offset, bytes: bytes))
                case 3: operations.append(.truncate(file: file, size: offset))
                case 4: operations.append(.sync(file: file))
                case 5: operations.append(.delete(name: text, durable: false))
                case 7: operations.append(.delete(name: text, durable: true))
                case 6: operations.append(.mark(text))
                default: throw Failure.unknownKind(kind, at: start)
                }
            }
        }
    }

    init(operations: [Operation]) {
        self.operations = operations
    }

    /// Indices where a cut can fall: before a write (which it may tear), a
    /// truncate, a sync or a delete. Markers and opens are not cut points.
    var cutPoints: [Int] {
        operations.indices.filter { index in
            switch operations[index] {
            case .write, .truncate, .sync, .delete: true
            case .open, .mark: false
            }
        }
    }
}
