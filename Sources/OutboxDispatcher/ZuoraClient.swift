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
/// caller's (`BatchDelivery`): this only sends one request and reads the
/// answer to its end.
final class ZuoraClient: Sendable {
    static let maxKeptBodyBytes = 64 * 1024

    let http: HTTPClient
    let endpoint: ZuoraEndpoint
    let tokens: TokenProvider
    private let timeout: TimeAmount
    private let gzip: Bool
    private let entityIDs: String?
    private let orgIDs: String?

    init(configuration: DispatcherConfiguration, http: HTTPClient, tokens: TokenProvider) throws {
        self.http = http
        self.tokens = tokens
        endpoint = try ZuoraEndpoint(baseURL: configuration.baseURL, allowInsecureHTTP: configuration.allowInsecureHTTP)
        timeout = .milliseconds(Int64(configuration.requestTimeoutSeconds * 1000))
        gzip = configuration.gzip
        entityIDs = configuration.entityIDs
        orgIDs = configuration.orgIDs
    }

    /// An HTTP client set up for Zuora: pooled connections, connect and read
    /// timeouts, response decompression, no redirects (a redirect would carry
    /// the bearer token somewhere we did not choose). Answers are streamed,
    /// so the decompression limit only stops a runaway body.
    static func makeHTTPClient(configuration: DispatcherConfiguration) -> HTTPClient {
        var settings = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: .milliseconds(Int64(configuration.connectTimeoutSeconds * 1000)),
                read: .milliseconds(Int64(configuration.requestTimeoutSeconds * 1000))),
            decompression: .enabled(limit: .size(256 << 20)))
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
    func post(meter: String, body: RequestBody, trackID: String, token: TokenProvider.Token) async -> SendOutcome {
        var request = HTTPClientRequest(url: endpoint.base + "/usage/bulk/" + meter)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Accept-Encoding", value: "gzip")
        if gzip { request.headers.add(name: "Content-Encoding", value: "gzip") }
        request.headers.add(name: "Authorization", value: "Bearer " + token.value.reveal())
        request.headers.add(name: "Zuora-Track-Id", value: trackID)
        request.headers.add(name: "User-Agent", value: "outbox/0.1")
        if let entityIDs { request.headers.add(name: "Zuora-Entity-Ids", value: entityIDs) }
        if let orgIDs { request.headers.add(name: "Zuora-Org-Ids", value: orgIDs) }
        request.body = .bytes(body.buffer)
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            return .transportFailed(TransportFailure.describe(error))
        }
        let status = Int(response.status.code)
        var kept: [UInt8] = []
        var scanner = SuccessScanner()
        var success: SuccessFinding
        do {
            for try await chunk in response.body {
                let bytes = chunk.readableBytesView
                if kept.count < ZuoraClient.maxKeptBodyBytes {
                    kept += bytes.prefix(ZuoraClient.maxKeptBodyBytes - kept.count)
                }
                scanner.feed(bytes)
            }
            success = scanner.finish()
        } catch {
            // Cut off mid-body: whatever it said, we did not read it all.
            success = .unreadable("the answer's body broke off after \(kept.count)+ bytes: \(TransportFailure.describe(error))")
        }
        let headers = response.headers
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
}
