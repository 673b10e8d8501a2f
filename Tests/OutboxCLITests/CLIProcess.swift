import Foundation

@testable import OutboxCore
@testable import UsageOutbox

/// Runs the real `outbox` binary as a subprocess, as scripts and operators do.
enum CLI {
    /// The binary next to the test bundle (same build folder), or `$OUTBOX_BINARY`.
    static let binary: String = {
        if let override = ProcessInfo.processInfo.environment["OUTBOX_BINARY"] { return override }
        // The test bundle's own path: the binary is built beside it.
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("outbox").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/outbox").path
    }()

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs to completion. The environment starts empty but for PATH, so a
    /// developer's own ZUORA_* variables never leak into a test.
    @discardableResult
    static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, directory: String? = nil, executable: String? = nil
    ) throws -> Result {
        try run(arguments, environment: environment, stdinData: stdin.map { Data($0.utf8) }, directory: directory, executable: executable)
    }

    @discardableResult
    static func run(
        _ arguments: [String], environment: [String: String] = [:], stdinData: Data?, directory: String? = nil, executable: String? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? binary)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        // Feed stdin from another thread: a large input would otherwise fill
        // the pipe while the child waits on its own full stdout pipe.
        let writer = input.fileHandleForWriting
        let feeding = Thread {
            if let stdinData { writer.write(stdinData) }
            try? writer.close()
        }
        feeding.start()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self), stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// Starts a long-running command; the caller stops it.
    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> (Process, stdout: FileHandle, stderr: FileHandle) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out.fileHandleForReading, err.fileHandleForReading)
    }

    static func jsonArray(_ text: String) -> [[String: Any]] {
        ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]]) ?? []
    }

    static func json(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }
}

/// `outbox mock-zuora` in its own process, on a free port.
final class MockProcess {
    let process: Process
    let baseURL: String

    let recordFile: String

    init(_ extra: [String] = []) throws {
        recordFile = NSTemporaryDirectory() + "outbox-mock-record-" + UUID().uuidString + ".ndjson"
        let (process, stdout, _) = try CLI.start(["mock-zuora", "--port", "0", "--log-level", "error", "--record", recordFile] + extra)
        self.process = process
        // Its first stdout line is the base URL.
        var line = Data()
        while true {
            let byte = stdout.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        baseURL = String(decoding: line, as: UTF8.self)
    }

    var environment: [String: String] {
        ["ZUORA_BASE_URL": baseURL, "ZUORA_CLIENT_ID": "mock-client-id", "ZUORA_CLIENT_SECRET": "mock-client-secret"]
    }

    func statistics() throws -> [String: Any] {
        CLI.json(try LoopbackGET.fetch(baseURL + "/_mock/stats")) ?? [:]
    }

    /// Accepted events per meter, each exactly as the mock received it.
    func recorded() throws -> [String: [String]] {
        let text = (try? String(contentsOfFile: recordFile, encoding: .utf8)) ?? ""
        var byMeter: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            guard let object = CLI.json(String(line)), let meter = object["meter"] as? String, let event = object["event"] as? String else { continue }
            byMeter[meter, default: []].append(event)
        }
        return byMeter
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: recordFile)
    }

    deinit { if process.isRunning { stop() } }
}

func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let path = NSTemporaryDirectory() + "outbox-cli-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

func ndjson(_ count: Int, prefix: String = "C", badAt: Set<Int> = []) -> String {
    (0..<count).map { index in
        badAt.contains(index)
            ? #"{"CustomerId":"\#(prefix)-\#(index)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":"many"}"#
            : #"{"CustomerId":"\#(prefix)-\#(index)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":\#(index % 9)}"#
    }.joined(separator: "\n") + "\n"
}

/// A minimal HTTP/1.1 GET over a loopback socket (Foundation on Linux has no
/// URL loading without libcurl).
enum LoopbackGET {
    static func fetch(_ url: String) throws -> String {
        try fetchResponse(url).body
    }

    /// The status code and the body.
    static func fetchResponse(_ url: String) throws -> (status: Int, body: String) {
        guard let parsed = URLComponents(string: url), let port = parsed.port else { throw CocoaError(.fileReadInvalidFileName) }
        let fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { throw CocoaError(.fileReadUnknown) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw CocoaError(.fileReadNoSuchFile) }
        let request = "GET \(parsed.path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return (0, "") }
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, String(text[split.upperBound...]))
    }
}

/// Waits (polling briefly) until `condition` holds; false when `timeout`
/// passed first. Tests wait for what they need to see, not for a fixed time.
func waitFor(timeout: TimeInterval = 20, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(5_000)
    }
    return try condition()
}

/// Collects what a child process writes to a pipe, on a thread of its own,
/// so a test can look for a line while the child runs (and the child never
/// blocks on a full pipe).
final class PipeCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let thread: Thread

    init(_ handle: FileHandle) {
        let box = Box()
        thread = Thread {
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                box.collector?.append(chunk)
            }
        }
        box.collector = self
        thread.start()
    }

    private final class Box: @unchecked Sendable { weak var collector: PipeCollector? }

    private func append(_ chunk: Data) {
        lock.lock()
        data.append(chunk)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

/// `SOCK_STREAM` as `socket` takes it on this platform.
#if canImport(Glibc)
let streamSocket = Int32(SOCK_STREAM.rawValue)
#else
let streamSocket = SOCK_STREAM
#endif

/// The command line of a running process, as `ps` shows it to anyone.
func commandLine(of pid: Int32) -> String {
    let ps = Process()
    ps.executableURL = URL(fileURLWithPath: "/bin/ps")
    ps.arguments = ["-o", "args=", "-p", "\(pid)"]
    let out = Pipe()
    ps.standardOutput = out
    ps.standardError = FileHandle.nullDevice
    guard (try? ps.run()) != nil else { return "" }
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    ps.waitUntilExit()
    return text
}
