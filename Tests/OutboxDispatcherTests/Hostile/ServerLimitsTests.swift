import Foundation
import HTTPServing
import Testing

/// The metrics endpoint cannot be starved: GET only, a tiny body, idle
/// connections closed, and a cap on connections.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ServerLimitsTests {
    static func startServer(_ limits: ServerLimits) async throws -> LoopbackHTTPServer {
        try await LoopbackHTTPServer.start(limits: limits) { _ in .response(status: 200, headers: [], body: Array("ok\n".utf8)) }
    }

    /// A connected socket to the server.
    static func connect(_ port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress!, $0.count - 1, Int32(MSG_NOSIGNAL)) }
    }

    /// Blocking socket reads run on a thread of their own: on the
    /// cooperative pool (two threads on two cores) they would starve the
    /// server's handler and every other test in the process.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }

    /// What the server sends until it closes (or 10 s pass).
    static func readAll(_ fd: Int32) async -> String { await offPool { readAllBlocking(fd) } }

    static func readAllBlocking(_ fd: Int32) -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count <= 0 { break }
            data += buffer[0..<count]
        }
        return String(decoding: data, as: UTF8.self)
    }

    @Test func aPostOrALargeBodyIsRefusedBeforeItIsRead() async throws {
        let server = try await Self.startServer(.scrapeEndpoint)
        defer { Task { await server.shutdown() } }
        let post = Self.connect(server.port)
        defer { close(post) }
        Self.send(post, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n")
        #expect(await Self.readAll(post).hasPrefix("HTTP/1.1 405"))
        let large = Self.connect(server.port)
        defer { close(large) }
        Self.send(large, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n")
        #expect(await Self.readAll(large).hasPrefix("HTTP/1.1 413"))
        let fine = Self.connect(server.port)
        defer { close(fine) }
        Self.send(fine, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(await Self.readAll(fine).hasPrefix("HTTP/1.1 200"))
    }

    /// One answer read on a kept-alive connection: the server has taken it in.
    static func exchange(_ fd: Int32) async -> String {
        send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        return await offPool { firstAnswerBlocking(fd) }
    }

    static func firstAnswerBlocking(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
    }

    @Test func connectionsPastTheCapAreClosedAtOnce() async throws {
        // A long idle timeout: only the cap can close the fifth quickly.
        let server = try await Self.startServer(ServerLimits(maxBodyBytes: 1024, idleTimeout: .seconds(60), maxConnections: 4, methods: ["GET"]))
        defer { Task { await server.shutdown() } }
        let held = (0..<4).map { _ in Self.connect(server.port) }
        defer { held.forEach { close($0) } }
        // Each has been answered, so each holds its place before the fifth comes.
        for fd in held { #expect(await Self.exchange(fd).hasPrefix("HTTP/1.1 200")) }
        let fifth = Self.connect(server.port)
        defer { close(fifth) }
        let started = ContinuousClock.now
        Self.send(fifth, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await Self.readAll(fifth).isEmpty, "the fifth connection was served")
        #expect(started.duration(to: .now) < .seconds(8))
    }

    @Test func idleConnectionsAreClosed() async throws {
        let server = try await Self.startServer(ServerLimits(maxBodyBytes: 1024, idleTimeout: .milliseconds(500), methods: ["GET"]))
        defer { Task { await server.shutdown() } }
        let idle = Self.connect(server.port)
        defer { close(idle) }
        let started = ContinuousClock.now
        #expect(await Self.readAll(idle).isEmpty)
        #expect(started.duration(to: .now) < .seconds(8), "a sub-second idle timeout still closes (it once truncated to none)")
    }

    @Test func pipelinedRequestsGetOneAnswerAndTheConnectionCloses() async throws {
        let server = try await Self.startServer(.scrapeEndpoint)
        defer { Task { await server.shutdown() } }
        let fd = Self.connect(server.port)
        defer { close(fd) }
        Self.send(fd, String(repeating: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", count: 1000))
        let answers = await Self.readAll(fd)
        #expect(answers.components(separatedBy: "HTTP/1.1 200").count - 1 == 1, "answers piled up for a client that pipelines")
        #expect(answers.contains("Connection: close"))
    }

    /// A request head that never ends: with a 60 s idle timeout, only the
    /// 1 s lifetime can close the connection within the check's bound.
    @Test func aConnectionIsClosedAtTheEndOfItsLifetimeWhateverItSends() async throws {
        let server = try await Self.startServer(
            ServerLimits(maxBodyBytes: 1024, idleTimeout: .seconds(60), methods: ["GET"], connectionLifetime: .seconds(1)))
        defer { Task { await server.shutdown() } }
        let fd = Self.connect(server.port)
        defer { close(fd) }
        let started = ContinuousClock.now
        Self.send(fd, "GET /metrics HTTP/1.1\r\nHost: x")
        #expect(await Self.readAll(fd).isEmpty)
        #expect(started.duration(to: .now) < .seconds(8), "closed by the idle timeout or never, not by the lifetime")
    }
}
