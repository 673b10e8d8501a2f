import NIOCore
import NIOHTTP1
import NIOPosix

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

    /// Starts listening. `maxBodyBytes` bounds what a request may send.
    public static func start(host: String = "127.0.0.1", port: Int = 0, maxBodyBytes: Int = 64 << 20, handler: @escaping Handler) async throws
        -> LoopbackHTTPServer
    {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(handler: handler, maxBodyBytes: maxBodyBytes))
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
    private let maxBodyBytes: Int
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false

    init(handler: @escaping LoopbackHTTPServer.Handler, maxBodyBytes: Int) {
        self.handler = handler
        self.maxBodyBytes = maxBodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            tooLarge = false
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes > maxBodyBytes {
                tooLarge = true
            } else {
                body.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let keepAlive = head.isKeepAlive
            if tooLarge {
                write(
                    .response(status: 413, headers: [], body: Array("request body too large".utf8)), keepAlive: false, version: head.version, context: context)
                return
            }
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
