/// How the dispatcher authenticates to Zuora.
public enum ZuoraCredentials: Sendable, Equatable, CustomStringConvertible {
    /// OAuth 2.0 client credentials against `{base}/oauth/token`; the token
    /// is cached and refreshed before it expires.
    case oauth(clientID: String, clientSecret: Secret)
    /// A fixed bearer token (`ZUORA_BEARER_TOKEN`).
    case bearer(Secret)

    public var description: String {
        switch self {
        case .oauth(let clientID, _): "OAuth client credentials (client id \(clientID), secret <redacted>)"
        case .bearer: "fixed bearer token <redacted>"
        }
    }

    /// Reads credentials from the environment: `ZUORA_CLIENT_ID` with
    /// `ZUORA_CLIENT_SECRET` (or `ZUORA_CLIENT_SECRET_FILE`), else
    /// `ZUORA_BEARER_TOKEN` (or `ZUORA_BEARER_TOKEN_FILE`). Never from
    /// arguments, where `ps` would show them.
    public static func fromEnvironment(_ environment: [String: String], readFile: (String) throws -> String) throws -> ZuoraCredentials? {
        func secret(_ name: String) throws -> Secret? {
            if let value = environment[name], !value.isEmpty { return Secret(value) }
            if let path = environment[name + "_FILE"], !path.isEmpty {
                let contents = try readFile(path).trimmingCharacters(in: ["\n", "\r", " "])
                return contents.isEmpty ? nil : Secret(contents)
            }
            return nil
        }
        if let clientID = environment["ZUORA_CLIENT_ID"], !clientID.isEmpty {
            guard let clientSecret = try secret("ZUORA_CLIENT_SECRET") else {
                throw DispatcherConfigurationError(
                    .credentials, "ZUORA_CLIENT_ID is set but ZUORA_CLIENT_SECRET (or ZUORA_CLIENT_SECRET_FILE) is missing",
                    hint: "export ZUORA_CLIENT_SECRET, or use ZUORA_BEARER_TOKEN for a fixed token")
            }
            return .oauth(clientID: clientID, clientSecret: clientSecret)
        }
        if let token = try secret("ZUORA_BEARER_TOKEN") { return .bearer(token) }
        return nil
    }
}
