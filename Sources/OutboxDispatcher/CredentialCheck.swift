/// What a check of Zuora's credentials found (`Dispatcher.checkCredentials()`),
/// before any event is sent.
package enum CredentialCheck: Sendable, Equatable {
    /// Zuora's token endpoint gave a token for the client id and secret.
    case tokenObtained(milliseconds: Int64)
    /// A fixed bearer token: Zuora says whether it is good only when the
    /// first request carries it.
    case fixedBearerToken
    /// Zuora refused the credentials: a configuration problem that waiting
    /// cannot fix.
    case refused(message: String, hint: String?)
    /// The token endpoint could not be used just now (a connection error, a
    /// 5xx, a rate limit): waiting may help.
    case unavailable(message: String)
}

extension Dispatcher {
    /// Fetches a token, as the first request would, so that a wrong secret
    /// or base URL shows before the first event instead of after it. The
    /// token is kept for the requests that follow.
    package func checkCredentials() async -> CredentialCheck {
        await Self.check(tokens: tokens, configuration: configuration)
    }

    /// The latest word on the credentials: the last token request's
    /// outcome (`/readyz` follows it).
    package var tokenStanding: TokenStanding { tokens.standing }

    /// The same check without a dispatcher (nor a database).
    package static func checkCredentials(configuration: DispatcherConfiguration) async throws -> CredentialCheck {
        try configuration.validate()
        let endpoint = try ZuoraEndpoint(baseURL: configuration.baseURL, allowInsecureHTTP: configuration.allowInsecureHTTP)
        let tokens = TokenProvider(
            credentials: configuration.credentials, endpoint: endpoint, timeout: configuration.requestTimeout,
            trackIDPrefix: configuration.trackIDPrefix, logger: configuration.logger)
        return await check(tokens: tokens, configuration: configuration)
    }

    private static func check(tokens: TokenProvider, configuration: DispatcherConfiguration) async -> CredentialCheck {
        if case .bearer = configuration.credentials { return .fixedBearerToken }
        let http = ZuoraClient.makeHTTPClient(configuration: configuration)
        let started = ContinuousClock.now
        let outcome: CredentialCheck
        do {
            _ = try await tokens.token(client: http)
            outcome = .tokenObtained(milliseconds: started.duration(to: .now).milliseconds)
        } catch let error as TokenError {
            switch error {
            case .rejected(let message, let hint): outcome = .refused(message: message, hint: hint)
            case .unavailable(let message, _): outcome = .unavailable(message: message)
            }
        } catch {
            outcome = .unavailable(message: "\(error)")
        }
        try? await http.shutdown()
        return outcome
    }
}
