import Foundation

/// Files and processes the benchmarks use.
enum Workload {
    /// NDJSON of `count` typical events (~110 bytes each), written once.
    /// With `ownIDs`, each carries an `EventId` of its own, in no order (as
    /// a producer's UUIDs are): the idempotent append's worst case.
    static func ndjson(count: Int, path: String, ownIDs: Bool = false) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var chunk = ""
        chunk.reserveCapacity(1 << 20)
        for index in 0..<count {
            if ownIDs { chunk += #"{"EventId":"evt-\#(String(scrambled(index), radix: 16))","# }
            chunk += ownIDs ? "" : "{"
            chunk +=
                #""CustomerId":"C-\#(index % 5000)","UsageIdentifier":"api-calls","UsageDate":"2026-11-29T10:00:00Z","Quantity":\#(index % 97),"seq":\#(index)}"#
            chunk += "\n"
            if chunk.utf8.count > 1 << 20 {
                handle.write(Data(chunk.utf8))
                chunk.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(chunk.utf8))
    }

    /// A bijection of 0..<2^32 that looks random (distinct ids, no order).
    static func scrambled(_ index: Int) -> UInt32 {
        var x = UInt32(truncatingIfNeeded: index)
        x = (x ^ (x >> 16)) &* 0x45d9_f3b
        x = (x ^ (x >> 16)) &* 0x45d9_f3b
        return x ^ (x >> 16)
    }

    /// The `outbox` binary built beside this one.
    static let outboxBinary: String = {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("outbox").path
    }()

    struct Run {
        let status: Int32
        let seconds: Double
        let stdout: String
        let stderr: String
        /// Peak resident set of the process, in bytes (VmHWM).
        let peakRSS: Int
    }

    /// Runs `outbox` with `arguments`, timing it and sampling its peak RSS.
    /// With `pipingFile`, that file is fed to its stdin through a pipe, as
    /// `producer | outbox append` would.
    static func outbox(_ arguments: [String], environment: [String: String] = [:], pipingFile: String? = nil) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: outboxBinary)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        if pipingFile != nil { process.standardInput = input }
        let clock = Stopwatch()
        try process.run()
        if let pipingFile {
            let writer = input.fileHandleForWriting
            Thread.detachNewThread {
                if let source = FileHandle(forReadingAtPath: pipingFile) {
                    while case let chunk = source.readData(ofLength: 1 << 20), !chunk.isEmpty { writer.write(chunk) }
                    try? source.close()
                }
                try? writer.close()
            }
        }
        let pid = process.processIdentifier
        let peak = PeakRSS(pid: pid)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let seconds = clock.seconds
        return Run(
            status: process.terminationStatus, seconds: seconds, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self), peakRSS: peak.stop())
    }
}

/// Samples /proc/PID/status every 50 ms; VmHWM is the kernel's own
/// high-water mark, so the last reading before exit is the peak.
final class PeakRSS: @unchecked Sendable {
    private let pid: Int32
    private let lock = NSLock()
    private var peak = 0
    private var running = true
    init(pid: Int32) {
        self.pid = pid
        Thread.detachNewThread { [self] in self.loop() }
    }

    private func loop() {
        while lock.withLock({ running }) {
            if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
            {
                lock.withLock { peak = max(peak, kb * 1024) }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    func stop() -> Int {
        lock.withLock {
            running = false
            return peak
        }
    }
}
