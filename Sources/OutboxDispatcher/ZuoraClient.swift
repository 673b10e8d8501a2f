import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Zuora's answer to one usage request.
struct ZuoraAnswer: Sendable {
    let status: Int
    /// The start of the body, decompressed, cut at `ZuoraClient.maxKeptBodyBytes`
    /// (kept for dead letters and logs).
    let body: [UInt8]
    /// What the whole body said about `success`, however long it was.
    let success: SuccessFinding
    let requestID: String?
    let retryAfterSeconds: Double?
    /// `RateLimit-Remaining: 0` with `RateLimit-Reset`: the tenant's quota is
    /// spent for this many seconds.
    var quotaExhaustedForSeconds: Double? = nil

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

enum SendOutcome: Sendable {
    /// Zuora answered (any status).
    case answered(ZuoraAnswer)
    /// No answer: timeout, reset, refused connection.
    case transportFailed(String)
}

/// Sends usage requests to `POST {base}/usage/bulk/{meter}` over a pooled
/// AsyncHTTPClient. The token, the gate and the claim's fence are the
/// caller's (`DeliveryMachine`, run by `BatchDelivery`): this only sends one
/// request and reads the answer to its end.
final class ZuoraClient: Sendable {
    static let maxKeptBodyBytes = 64 * 1024
    /// Most of an answer's body read at all: Zuora's answers are small, and
    /// a larger one (a broken proxy, a hostile host) is not read further.
    static let maxBodyBytes = 1 << 20
    /// Most an answer may inflate to: a gzip bomb stops here.
    static let maxDecompressedBytes = 4 << 20

    let http: HTTPClient
    let endpoint: ZuoraEndpoint
    let tokens: TokenProvider
    /// The whole request's deadline, headers and body (`RequestDeadline`).
    private let deadline: Duration
    private let gzip: Bool
    private let entityIDs: String?
    private let orgIDs: String?  // header values: the ids joined by commas

    init(configuration: DispatcherConfiguration, http: HTTPClient, tokens: TokenProvider) throws {
        self.http = http
        self.tokens = tokens
        endpoint = try ZuoraEndpoint(baseURL: configuration.baseURL, allowInsecureHTTP: configuration.allowInsecureHTTP)
        deadline = configuration.requestTimeout
        gzip = configuration.gzip
        entityIDs = HeaderValue.list(configuration.entityIDs)
        orgIDs = HeaderValue.list(configuration.orgIDs)
    }

    /// An HTTP client set up for Zuora: pooled connections, connect and read
    /// timeouts, response decompression, no redirects (a redirect would carry
    /// the bearer token somewhere we did not choose). Answers are streamed,
    /// so the decompression limit only stops a runaway body.
    static func makeHTTPClient(configuration: DispatcherConfiguration, maxDecompressedBytes: Int = maxDecompressedBytes) -> HTTPClient {
        var settings = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: .nanoseconds(configuration.connectTimeout.nanoseconds),
                read: .nanoseconds(configuration.requestTimeout.nanoseconds)),
            decompression: .enabled(limit: .size(maxDecompressedBytes)))
        settings.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(configuration.concurrency, 1)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: settings)
    }

    /// A token to send with, fetched (once for all callers) when needed.
    func token() async throws(TokenError) -> TokenProvider.Token {
        do {
            return try await tokens.token(client: http)
        } catch let error as TokenError {
            throw error
        } catch {
            throw .unavailable("\(error)")
        }
    }

    /// Zuora answered 401 with `token`: a fresh one.
    func tokenRejected(_ token: TokenProvider.Token) async throws(TokenError) -> TokenProvider.Token {
        do {
            return try await tokens.tokenRejected(token, client: http)
        } catch let error as TokenError {
            throw error
        } catch {
            throw .unavailable("\(error)")
        }
    }

    /// One POST. The body of the answer is read to its end: a 2xx counts as
    /// accepted only once the whole body is known not to say `"success": false`.
    func post(meter: String, body: RequestBody, trackID: String, idempotencyKey: String?, token: TokenProvider.Token) async -> SendOutcome {
        var request = HTTPClientRequest(url: endpoint.base + "/usage/bulk/" + meter)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Accept-Encoding", value: "gzip")
        if gzip { request.headers.add(name: "Content-Encoding", value: "gzip") }
        request.headers.add(name: "Authorization", value: "Bearer " + token.value.reveal())
        request.headers.add(name: "Zuora-Track-Id", value: trackID)
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        request.headers.add(name: "User-Agent", value: "outbox/0.1")
        if let entityIDs { request.headers.add(name: "Zuora-Entity-Ids", value: entityIDs) }
        if let orgIDs { request.headers.add(name: "Zuora-Org-Ids", value: orgIDs) }
        request.body = .bytes(body.buffer)
        let (http, limit, prepared) = (self.http, self.deadline, request)
        let read: (status: Int, headers: HTTPHeaders, kept: [UInt8], success: SuccessFinding)
        do {
            read = try await RequestDeadline.run(within: limit) {
                let response = try await http.execute(prepared, timeout: .nanoseconds(limit.nanoseconds))
                let (kept, success) = await ZuoraClient.readBody(response.body)
                return (Int(response.status.code), response.headers, kept, success)
            }
        } catch {
            return .transportFailed(TransportFailure.describe(error))
        }
        let (status, kept, success) = (read.status, read.kept, read.success)
        tokens.usageAnswered(status: status)
        let headers = read.headers
        let wait = RetryAfter.seconds(
            retryAfter: headers.first(name: "Retry-After"),
            rateLimitReset: headers.first(name: "ratelimit-reset"),
            nowUnixSeconds: Date().timeIntervalSince1970)
        var answer = ZuoraAnswer(status: status, body: kept, success: success, requestID: headers.first(name: "Zuora-Request-Id"), retryAfterSeconds: wait)
        if headers.first(name: "RateLimit-Remaining")?.trimmingWhitespace() == "0" {
            answer.quotaExhaustedForSeconds = RetryAfter.seconds(
                retryAfter: nil, rateLimitReset: headers.first(name: "RateLimit-Reset"),
                nowUnixSeconds: 0)
        }
        return .answered(answer)
    }

    /// Reads an answer's body: the first 64 KiB kept, `success` scanned in
    /// all of it, at most `maxBodyBytes` read (beyond that, or cut off, the
    /// body is unreadable: a 2xx is then not a yes).
    static func readBody(_ body: HTTPClientResponse.Body) async -> (kept: [UInt8], success: SuccessFinding) {
        var kept: [UInt8] = []
        var scanner = SuccessScanner()
        var total = 0
        do {
            for try await chunk in body {
                let bytes = chunk.readableBytesView
                total += bytes.count
                if total > maxBodyBytes {
                    return (kept, .unreadable("the answer's body is larger than \(maxBodyBytes) bytes; not read further"))
                }
                if kept.count < maxKeptBodyBytes {
                    kept += bytes.prefix(maxKeptBodyBytes - kept.count)
                }
                scanner.feed(bytes)
            }
            return (kept, scanner.finish())
        } catch {
            // Cut off mid-body: whatever it said, we did not read it all.
            return (kept, .unreadable("the answer's body broke off after \(kept.count)+ bytes: \(TransportFailure.describe(error))"))
        }
    }
}
