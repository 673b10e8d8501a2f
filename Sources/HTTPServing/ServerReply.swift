import NIOCore
import NIOHTTP1
import NIOPosix

/// What the handler answers.
public enum ServerReply: Sendable {
    case response(status: Int, headers: [(String, String)], body: [UInt8])
    /// Close the connection without answering (a fault to inject).
    case dropConnection

    public static func json(_ status: Int, _ text: String, headers: [(String, String)] = []) -> ServerReply {
        .response(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
    }

    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> ServerReply {
        .response(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
    }
}
