import Foundation

/// Files the CLI writes that hold events (which name customers): created
/// 0600 from the first byte, and never through a symbolic link.
enum PrivateFile {
    /// Writes `data` to `path`, creating it 0600 or truncating what is there.
    static func write(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno))
            throw CommandFailure("cannot write \(path): \(reason)", hint: "give a path to a regular file in a writable directory")
        }
        defer { close(fd) }
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw CommandFailure("cannot write \(path): \(String(cString: strerror(errno)))", hint: "check the disk") }
                offset += written
            }
        }
    }
}
