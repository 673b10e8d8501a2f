import NIOCore
import NIOHTTP1
import NIOPosix

/// A request as the handler sees it: the body read whole.
public struct ServerRequest: Sendable {
    public let method: String
    /// The path, without the query string.
    public let path: String
    public let query: String?
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}
