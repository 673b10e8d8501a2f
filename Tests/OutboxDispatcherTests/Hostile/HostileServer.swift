import CompressNIO
import Foundation
import NIOCore
import Synchronization

/// A server on 127.0.0.1 that answers the way a broken proxy, a
/// misconfigured gateway or a hostile host might: bodies that trickle or
/// never end, gzip bombs, absurd headers and token lifetimes, audit pages
/// that never end. Plain sockets and a thread per connection: nothing in it
/// may be as careful as the client under test.
final class HostileServer: Sendable {
    enum Misbehaviour: Sendable {
        /// 200 with a Content-Length it never fills: one byte per `interval`.
        case trickleBody(interval: Duration)
        /// 200, chunked, and chunks for ever.
        case endlessBody
        /// 200, gzip, inflating to `inflatedBytes` of zeros.
        case gzipBomb(inflatedBytes: Int)
        /// 200 with a body of `bytes` spaces and `{"success":true}`.
        case hugeBody(bytes: Int)
        /// 429 with this `Retry-After`.
        case retryAfter(String)
        /// A token endpoint that says `expires_in` is this; usage accepted.
        case tokenExpiresIn(String)
        /// A token endpoint that trickles its answer; usage accepted.
        case trickleToken
        /// An audit trail whose `nextPage` is always the same cursor.
        case repeatingCursor
    }

    let misbehaviour: Misbehaviour
    /// The gzip bomb's bytes, made before the server starts (so that what
    /// making it costs is not counted against the client).
    private let bomb: [UInt8]
    let port: Int
    private let listener: Int32
    private let state = Mutex(State())

    private struct State {
        var stopped = false
        var requests: [String] = []
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }
    /// Request lines seen ("POST /usage/bulk/m"), in order.
    var requests: [String] { state.withLock { $0.requests } }
    private var stopped: Bool { state.withLock { $0.stopped } }

    init(_ misbehaviour: Misbehaviour) throws {
        self.misbehaviour = misbehaviour
        if case .gzipBomb(let inflated) = misbehaviour {
            var zeros = ByteBuffer(repeating: UInt8(ascii: " "), count: inflated)
            bomb = Array(((try? zeros.compress(with: .gzip())) ?? ByteBuffer()).readableBytesView)
        } else {
            bomb = []
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    func stop() {
        state.withLock { $0.stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while !stopped {
            let connection = accept(listener, nil, nil)
            if connection < 0 { return }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var noSignal: Int32 = 1
            setsockopt(connection, SOL_SOCKET, SO_KEEPALIVE, &noSignal, socklen_t(MemoryLayout<Int32>.size))
            Thread { [self] in serve(connection) }.start()
        }
    }

    /// One request per connection (answers say `Connection: close`).
    private func serve(_ connection: Int32) {
        defer { close(connection) }
        guard let (line, _) = readRequest(connection) else { return }
        state.withLock { $0.requests.append(line) }
        let isToken = line.contains("/oauth/token")
        switch misbehaviour {
        case .tokenExpiresIn(let value):
            if isToken {
                reply(connection, 200, #"{"access_token":"hostile","token_type":"bearer","expires_in":\#(value)}"#)
            } else {
                reply(connection, 200, #"{"success":true}"#)
            }
        case .trickleToken:
            if isToken { trickle(connection, interval: .milliseconds(500)) } else { reply(connection, 200, #"{"success":true}"#) }
        case _ where isToken:
            reply(connection, 200, #"{"access_token":"hostile","token_type":"bearer","expires_in":3600}"#)
        case .trickleBody(let interval):
            trickle(connection, interval: interval)
        case .endlessBody:
            send(connection, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            let chunk = "4000\r\n" + String(repeating: " ", count: 0x4000) + "\r\n"
            var sent = 0
            // Bounded: 1 GiB, or until the client hangs up.
            while !stopped, sent < 1 << 30, send(connection, chunk) { sent += chunk.utf8.count }
        case .gzipBomb:
            send(
                connection,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: \(bomb.count)\r\nConnection: close\r\n\r\n"
            )
            _ = send(connection, bomb)
        case .hugeBody(let bytes):
            send(connection, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(bytes + 16)\r\nConnection: close\r\n\r\n")
            let block = String(repeating: " ", count: 1 << 16)
            var sent = 0
            while sent < bytes, send(connection, String(block.prefix(min(block.count, bytes - sent)))) { sent += min(block.count, bytes - sent) }
            send(connection, #"{"success":true}"#)
        case .retryAfter(let value):
            send(connection, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: \(value)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        case .repeatingCursor:
            reply(connection, 200, #"{"success":true,"data":[],"previousPage":null,"nextPage":"c2FtZQ=="}"#)
        }
    }

    private func trickle(_ connection: Int32, interval: Duration) {
        send(connection, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n")
        var sent = 0
        // Bounded: at most 100,000 bytes, or until the client hangs up.
        while !stopped, sent < 100_000, send(connection, " ") {
            sent += 1
            // The misbehaviour itself (a body paced slower than any deadline),
            // not a test waiting for something: the drain must cut it.
            Thread.sleep(forTimeInterval: interval.seconds)
        }
    }

    private func reply(_ connection: Int32, _ status: Int, _ body: String) {
        send(connection, "HTTP/1.1 \(status) OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
    }

    @discardableResult
    private func send(_ connection: Int32, _ text: String) -> Bool { send(connection, Array(text.utf8)) }

    private func send(_ connection: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(connection, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// The request line and the whole request (headers and a Content-Length body).
    private func readRequest(_ connection: Int32) -> (String, [UInt8])? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while data.count < 8 << 20 {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress!, $0.count, 0) }
            if count <= 0 { return nil }
            data += buffer[0..<count]
            let text = String(decoding: data, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { continue }
            let head = text[..<end.lowerBound]
            let length =
                head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            if data.count >= text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound) + length {
                return (String(head.split(separator: "\r\n").first ?? ""), data)
            }
        }
        return nil
    }
}

extension Duration {
    fileprivate var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
