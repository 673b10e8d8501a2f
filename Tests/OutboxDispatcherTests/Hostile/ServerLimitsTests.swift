import Foundation
import HTTPServing
import Testing

/// The metrics endpoint cannot be starved: GET only, a tiny body, idle
/// connections closed, and a cap on connections.
@Suite(.timeLimit(.minutes(1)))
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

    /// What the server sends until it closes (or 10 s pass).
    static func readAll(_ fd: Int32) -> String {
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
        #expect(Self.readAll(post).hasPrefix("HTTP/1.1 405"))
        let large = Self.connect(server.port)
        defer { close(large) }
        Self.send(large, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n")
        #expect(Self.readAll(large).hasPrefix("HTTP/1.1 413"))
        let fine = Self.connect(server.port)
        defer { close(fine) }
        Self.send(fine, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(Self.readAll(fine).hasPrefix("HTTP/1.1 200"))
    }

    @Test func idleConnectionsAreClosedAndTheirNumberIsCapped() async throws {
        let server = try await Self.startServer(ServerLimits(maxBodyBytes: 1024, idleTimeout: .seconds(1), maxConnections: 4, methods: ["GET"]))
        defer { Task { await server.shutdown() } }
        let idle = (0..<4).map { _ in Self.connect(server.port) }
        defer { idle.forEach { close($0) } }
        // A fifth is closed at once: nothing comes back, the read ends.
        let fifth = Self.connect(server.port)
        defer { close(fifth) }
        let started = ContinuousClock.now
        #expect(Self.readAll(fifth).isEmpty)
        #expect(started.duration(to: .now) < .seconds(5))
        // The idle ones are closed by the server after a second.
        #expect(Self.readAll(idle[0]).isEmpty)
        #expect(started.duration(to: .now) < .seconds(8))
    }
}
