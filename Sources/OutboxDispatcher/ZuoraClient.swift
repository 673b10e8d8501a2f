import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Zuora's answer to one usage request.
struct ZuoraAnswer: Sendable {
    let status: Int
    /// The body, decompressed, cut at `ZuoraClient.maxKeptBodyBytes`.
    let body: [UInt8]
    let requestID: String?
    let retryAfterSeconds: Double?

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

enum SendOutcome: Sendable {
    /// Zuora answered (any status).
    case answered(ZuoraAnswer)
    /// No answer: timeout, reset, refused connection.
    case transportFailed(String)
    /// No usable token: the credentials were refused (a configuration
    /// problem) or the token endpoint was unavailable (transient).
    case tokenFailed(TokenError)
}

/// Sends usage requests to `POST {base}/usage/bulk/{meter}` over a pooled
/// AsyncHTTPClient. Handles the token, including the contract's "on a 401,
/// fetch a new token and resend once".
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
    /// timeouts, bounded response decompression, no redirects (a redirect
    /// would carry the bearer token somewhere we did not choose).
    static func makeHTTPClient(configuration: DispatcherConfiguration) -> HTTPClient {
        var settings = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(Int64(configuration.connectTimeoutSeconds * 1000)),
                           read: .milliseconds(Int64(configuration.requestTimeoutSeconds * 1000))),
            decompression: .enabled(limit: .size(16 << 20)))
        settings.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(configuration.concurrency, 1)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: settings)
    }

    /// Sends one batch. `requests` counts the usage requests it took (2 when
    /// a 401 was answered by fetching a new token and resending).
    func send(meter: String, body: RequestBody, trackID: String, logger: Logger) async -> (outcome: SendOutcome, requests: Int) {
        var token: TokenProvider.Token
        do {
            token = try await tokens.token(client: http)
        } catch let error as TokenError {
            return (.tokenFailed(error), 0)
        } catch {
            return (.tokenFailed(.unavailable("\(error)")), 0)
        }
        let first = await post(meter: meter, body: body, trackID: trackID, token: token)
        guard case .answered(let answer) = first, answer.status == 401 else { return (first, 1) }
        logger.warning("Zuora answered 401; fetching a new token and resending once", metadata: ["meter": "\(meter)", "track_id": "\(trackID)"])
        do {
            token = try await tokens.tokenRejected(token, client: http)
        } catch let error as TokenError {
            return (.tokenFailed(error), 1)
        } catch {
            return (.tokenFailed(.unavailable("\(error)")), 1)
        }
        return (await post(meter: meter, body: body, trackID: trackID, token: token), 2)
    }

    private func post(meter: String, body: RequestBody, trackID: String, token: TokenProvider.Token) async -> SendOutcome {
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
        do {
            let response = try await http.execute(request, timeout: timeout)
            var kept: [UInt8] = []
            for try await chunk in response.body where kept.count < ZuoraClient.maxKeptBodyBytes {
                kept += chunk.readableBytesView.prefix(ZuoraClient.maxKeptBodyBytes - kept.count)
            }
            let headers = response.headers
            let wait = RetryAfter.seconds(retryAfter: headers.first(name: "Retry-After"),
                                          rateLimitReset: headers.first(name: "ratelimit-reset"),
                                          nowUnixSeconds: Date().timeIntervalSince1970)
            return .answered(ZuoraAnswer(status: Int(response.status.code), body: kept,
                                         requestID: headers.first(name: "Zuora-Request-Id"), retryAfterSeconds: wait))
        } catch {
            return .transportFailed(TransportFailure.describe(error))
        }
    }
}
