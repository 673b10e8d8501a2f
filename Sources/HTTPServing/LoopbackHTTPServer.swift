import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// What a server lets a client do: a server that faces other users (the
/// metrics endpoint) must not be starved by one of them.
public struct ServerLimits: Sendable {
    /// Largest request body; a larger one is answered 413 and the connection closed.
    public var maxBodyBytes: Int
    /// A connection with no request bytes for this long is closed (nil: never).
    public var idleTimeout: Duration?
    /// Connections open at once; more are closed as they arrive (nil: no cap).
    public var maxConnections: Int?
    /// Methods served; others are answered 405 before any body is read (nil: all).
    public var methods: Set<String>?
    /// One request per connection, answered with `Connection: close`: a
    /// client that pipelines requests and never reads the answers cannot
    /// make answers pile up.
    public var oneRequestPerConnection: Bool
    /// A connection is closed this long after it opened, whatever it is
    /// doing (nil: never): a client that sends a byte now and then cannot
    /// hold a place for ever.
    public var connectionLifetime: Duration?

    public init(
        maxBodyBytes: Int = 64 << 20, idleTimeout: Duration? = nil, maxConnections: Int? = nil, methods: Set<String>? = nil,
        oneRequestPerConnection: Bool = false, connectionLifetime: Duration? = nil
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.methods = methods
        self.oneRequestPerConnection = oneRequestPerConnection
        self.connectionLifetime = connectionLifetime
    }

    /// For an endpoint scraped with GET: a tiny body, 10 s idle, 64
    /// connections, one request each, each closed within 30 s.
    public static let scrapeEndpoint = ServerLimits(
        maxBodyBytes: 1024, idleTimeout: .seconds(10), maxConnections: 64, methods: ["GET"],
        oneRequestPerConnection: true, connectionLifetime: .seconds(30))
}

extension TimeAmount {
    /// `duration` in NIO's terms, saturating (never a trap), at least 1 ms.
    static func saturating(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        let capped = min(max(seconds, 0), 1_000_000_000)
        return .nanoseconds(max(capped * 1_000_000_000 + (capped == seconds ? attoseconds / 1_000_000_000 : 0), 1_000_000))
    }
}

/// A small HTTP/1.1 server on SwiftNIO for the Zuora mock and the metrics
/// endpoint. Each request is handed to an async handler; keep-alive is
/// honoured. It binds to loopback by default.
public final class LoopbackHTTPServer: Sendable {
    public typealias Handler = @Sendable (ServerRequest) async -> ServerReply

    private let channel: any Channel
    /// The port it listens on (the one the OS chose when started on port 0).
    public let port: Int
    public let host: String

    private init(channel: any Channel, host: String, port: Int) {
        self.channel = channel
        self.host = host
        self.port = port
    }

    /// Starts listening, within `limits`.
    public static func start(host: String = "127.0.0.1", port: Int = 0, limits: ServerLimits = ServerLimits(), handler: @escaping Handler) async throws
        -> LoopbackHTTPServer
    {
        let open = ConnectionCount()
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                if let most = limits.maxConnections, !open.enter(most) {
                    return channel.close()
                }
                if limits.maxConnections != nil {
                    channel.closeFuture.whenComplete { _ in open.leave() }
                }
                return channel.eventLoop.makeCompletedFuture {
                    if let idle = limits.idleTimeout {
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .saturating(idle)))
                        try channel.pipeline.syncOperations.addHandler(CloseWhenIdle())
                    }
                    if let lifetime = limits.connectionLifetime {
                        let closing = channel.eventLoop.scheduleTask(in: .saturating(lifetime)) { channel.close(promise: nil) }
                        channel.closeFuture.whenComplete { _ in closing.cancel() }
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(handler: handler, limits: limits))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        let boundPort = channel.localAddress?.port ?? port
        return LoopbackHTTPServer(channel: channel, host: host, port: boundPort)
    }

    public var baseURL: String { "http://\(host):\(port)" }

    public func shutdown() async {
        try? await channel.close()
    }
}

/// Collects one request, runs the handler, writes the reply.
private final class RequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let handler: LoopbackHTTPServer.Handler
    private let limits: ServerLimits
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    /// A reply was sent before the request's end (413, 405): the rest of the
    /// request is ignored while the connection closes.
    private var refused = false

    init(handler: @escaping LoopbackHTTPServer.Handler, limits: ServerLimits) {
        self.handler = handler
        self.limits = limits
    }

    private func refuse(_ status: Int, _ text: String, version: HTTPVersion, context: ChannelHandlerContext) {
        refused = true
        head = nil
        body.clear()
        write(.response(status: status, headers: [], body: Array(text.utf8)), keepAlive: false, version: version, context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if let methods = limits.methods, !methods.contains(head.method.rawValue) {
                refuse(405, "method not allowed\n", version: head.version, context: context)
                return
            }
            if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > limits.maxBodyBytes {
                refuse(413, "request body too large\n", version: head.version, context: context)
                return
            }
            self.head = head
            body.clear()
        case .body(var chunk):
            guard let head else { return }
            if body.readableBytes + chunk.readableBytes > limits.maxBodyBytes {
                refuse(413, "request body too large\n", version: head.version, context: context)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            self.head = nil
            let keepAlive = head.isKeepAlive && !limits.oneRequestPerConnection
            // Nothing more is read from a connection that gets one answer.
            if limits.oneRequestPerConnection { refused = true }
            let parts = head.uri.split(separator: "?", maxSplits: 1)
            let request = ServerRequest(
                method: head.method.rawValue,
                path: parts.first.map(String.init) ?? "/",
                query: parts.count > 1 ? String(parts[1]) : nil,
                headers: head.headers.map { ($0.name, $0.value) },
                body: Array(body.readableBytesView))
            let handler = self.handler
            let eventLoop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
            let version = head.version
            Task {
                let reply = await handler(request)
                eventLoop.execute {
                    let (server, context) = bound.value
                    server.write(reply, keepAlive: keepAlive, version: version, context: context)
                }
            }
        }
    }

    private func write(_ reply: ServerReply, keepAlive: Bool, version: HTTPVersion, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        switch reply {
        case .dropConnection:
            context.close(promise: nil)
        case .response(let status, let headers, let bytes):
            var head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status))
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            head.headers.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
            head.headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if !bytes.isEmpty {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
            }
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let channel = context.channel
                done.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Closes a connection once its read side has been idle too long.
private final class CloseWhenIdle: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// Open connections, against `ServerLimits.maxConnections`.
private final class ConnectionCount: Sendable {
    private let count = Mutex(0)

    /// Takes a place, or false when all `most` are taken.
    func enter(_ most: Int) -> Bool {
        count.withLock { count in
            guard count < most else { return false }
            count += 1
            return true
        }
    }

    func leave() { count.withLock { $0 -= 1 } }
}
