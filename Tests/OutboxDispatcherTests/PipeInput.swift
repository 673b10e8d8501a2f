#if canImport(Glibc)
import Glibc
#endif

/// A producer on the other end of a pipe, for appends that read from one.
enum PipeInput {
    /// A new pipe: (read end, write end).
    static func make() -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        precondition(pipe(&ends) == 0, "no pipe")
        return (ends[0], ends[1])
    }

    /// Writes `bytes` into `fd` on a thread of its own (a pipe holds only
    /// 64 KiB, so the reader must run meanwhile); closes `fd` after when asked.
    static func write(_ bytes: [UInt8], to fd: Int32, thenClose: Bool) -> Task<Void, Never> {
        Task.detached {
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
            if thenClose { close(fd) }
        }
    }
}
