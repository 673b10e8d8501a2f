import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import Synchronization

/// Hands out bearer tokens. With OAuth it caches one token and refreshes it
/// shortly before it expires; however many requests need a token at once,
/// only one refresh is in flight, and the others wait for it.
actor TokenProvider {
    struct Token: Sendable, Equatable {
        let value: Secret
        /// When to stop using it (already shortened by the refresh margin).
        let refreshAt: ContinuousClock.Instant?
    }

    private let credentials: ZuoraCredentials
    private let tokenURL: String
    /// `Zuora-Track-Id` of token requests (what Zuora support asks for).
    private let trackID: String
    /// The token request's whole deadline (`RequestDeadline`): a token
    /// answer that trickles fails here, and the next caller tries again.
    private let timeout: Duration
    private let logger: Logger
    private var current: Token?
    private var refreshing: Task<Token, Error>?
    private let refreshes = Atomic<Int>(0)
    private let latest = Mutex<TokenStanding>(.untried)

    /// Tokens fetched so far.
    nonisolated var refreshCount: Int { refreshes.load(ordering: .relaxed) }

    /// The latest word on the credentials (`/readyz`).
    nonisolated var standing: TokenStanding { latest.withLock { $0 } }

    /// Zuora's answer to a usage request is a word on its token too: a 2xx
    /// took it (a fixed token refused once is good again), a 401 refused it
    /// (a fresh token that Zuora still refuses leaves the drain not ready).
    /// Other answers say nothing about the token.
    nonisolated func usageAnswered(status: Int) {
        switch status {
        case 200..<300: latest.withLock { $0 = .good }
        case 401: latest.withLock { $0 = .refused("Zuora answered HTTP 401 to the usage request's token") }
        default: break
        }
    }

    /// One provider lives as long as its dispatcher, so a token outlives the
    /// HTTP client of one run; each call passes the client to fetch with.
    init(credentials: ZuoraCredentials, endpoint: ZuoraEndpoint, timeout: Duration, trackIDPrefix: String = "outbox", logger: Logger) {
        self.credentials = credentials
        self.tokenURL = endpoint.base + "/oauth/token"
        self.trackID = TrackID.sanitize(trackIDPrefix + "-token")
        self.timeout = min(max(timeout, .zero), DispatcherConfiguration.maximumRequestTimeout)
        self.logger = logger
        if case .bearer(let token) = credentials {
            current = Token(value: token, refreshAt: nil)
            // Zuora judges a fixed token only when a request carries it.
            latest.withLock { $0 = .good }
        }
    }

    /// A token to use now.
    func token(client: HTTPClient) async throws -> Token {
        if let current, current.refreshAt.map({ ContinuousClock.now < $0 }) ?? true {
            return current
        }
        return try await refresh(client: client)
    }

    /// Zuora answered 401 with `token`: drop it (unless a newer one already
    /// replaced it) and fetch another.
    func tokenRejected(_ token: Token, client: HTTPClient) async throws -> Token {
        guard case .oauth = credentials else {
            let message = "Zuora rejected the fixed bearer token (HTTP 401)"
            latest.withLock { $0 = .refused(message) }
            throw TokenError.rejected(message, hint: "set a valid ZUORA_BEARER_TOKEN, or use ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET")
        }
        if current == token { current = nil }
        return try await self.token(client: client)
    }

    private func refresh(client: HTTPClient) async throws -> Token {
        if let refreshing { return try await refreshing.value }
        guard case .oauth(let clientID, let clientSecret) = credentials else {
            throw TokenError.rejected("no bearer token", hint: nil)
        }
        let task = Task { [tokenURL, timeout, trackID, logger] in
            try await TokenProvider.fetch(
                clientID: clientID, clientSecret: clientSecret, url: tokenURL, trackID: trackID, client: client, timeout: timeout, logger: logger)
        }
        refreshing = task
        defer { refreshing = nil }
        let token: Token
        do {
            token = try await task.value
        } catch {
            latest.withLock { latest in
                switch error {
                case TokenError.rejected(let message, _): latest = .refused(message)
                case TokenError.unavailable(let message, _): latest = .unavailable(message)
                default: latest = .unavailable("\(error)")
                }
            }
            throw error
        }
        latest.withLock { $0 = .good }
        current = token
        refreshes.add(1, ordering: .relaxed)
        Counter(label: "outbox_token_refreshes_total").increment()
        return token
    }

    /// `POST {base}/oauth/token` with the client credentials as a form,
    /// within one deadline for the whole answer.
    static func fetch(
        clientID: String, clientSecret: Secret, url: String, trackID: String, client: HTTPClient, timeout: Duration, logger: Logger
    ) async throws -> Token {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Zuora-Track-Id", value: trackID)
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        let form = "client_id=\(FormEncoding.encode(clientID))&client_secret=\(FormEncoding.encode(clientSecret.reveal()))&grant_type=client_credentials"
        request.body = .bytes(ByteBuffer(string: form))
        let started = ContinuousClock.now
        let (status, headers, body): (Int, HTTPHeaders, [UInt8])
        let prepared = request
        do {
            (status, headers, body) = try await RequestDeadline.run(within: timeout) {
                let response = try await client.execute(prepared, timeout: .nanoseconds(timeout.nanoseconds))
                return (
                    Int(response.status.code), response.headers,
                    Array(try await response.body.collect(upTo: TokenAnswer.maxBodyBytes).readableBytesView)
                )
            }
        } catch {
            throw TokenError.unavailable("cannot get an answer from \(url): \(TransportFailure.describe(error))")
        }
        logger.debug(
            "token request", metadata: ["status": .stringConvertible(status), "duration_ms": .stringConvertible(started.duration(to: .now).milliseconds)])
        switch status {
        case 200..<300:
            break
        case 400, 401, 403:
            throw TokenError.rejected(
                "Zuora refused the OAuth client credentials (HTTP \(status)) for client id \(clientID)",
                hint: "check ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET, and that the OAuth client exists in this tenant")
        case 429, 503:
            let wait = RetryAfter.seconds(
                retryAfter: headers.first(name: "Retry-After"), rateLimitReset: headers.first(name: "ratelimit-reset"),
                nowUnixSeconds: Date().timeIntervalSince1970)
            throw TokenError.unavailable("the token endpoint answered HTTP \(status) (rate limited)", retryAfterSeconds: wait)
        default:
            throw TokenError.unavailable("the token endpoint answered HTTP \(status)")
        }
        guard let answer = TokenAnswer.parse(body) else {
            throw TokenError.unavailable("the token endpoint's answer holds no access_token")
        }
        return Token(value: Secret(answer.accessToken), refreshAt: started.advanced(by: answer.useFor))
    }
}

enum TokenError: Error, CustomStringConvertible {
    /// The credentials were refused: a configuration problem.
    case rejected(String, hint: String?)
    /// The token endpoint could not be used just now: transient, waited out
    /// host-wide (its `Retry-After` when it gave one), never the events' fault.
    case unavailable(String, retryAfterSeconds: Double? = nil)

    var description: String {
        switch self {
        case .rejected(let message, _): message
        case .unavailable(let message, _): message
        }
    }
}

enum FormEncoding {
    static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
