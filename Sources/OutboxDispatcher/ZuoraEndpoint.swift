import Foundation
import Logging

/// A validated Zuora base URL.
public struct ZuoraEndpoint: Sendable, Equatable {
    public let scheme: String
    public let host: String
    /// `scheme://host[:port][/path]` without a trailing slash.
    public let base: String

    public init(baseURL: String, allowInsecureHTTP: Bool) throws {
        var text = baseURL.trimmingCharacters(in: [" "])
        while text.hasSuffix("/") { text.removeLast() }
        // Messages show the URL with any user:password@ cut out: it must
        // never reach a log or a terminal.
        let shown = ZuoraEndpoint.withoutUserInfo(text)
        guard let schemeEnd = text.range(of: "://") else {
            throw DispatcherConfigurationError(.baseURL, "the Zuora base URL \"\(shown)\" has no scheme", hint: "write it like https://rest.zuora.com")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "https" || scheme == "http" else {
            throw DispatcherConfigurationError(.baseURL, "the Zuora base URL must use https:// (got \(scheme)://)")
        }
        let authority = text[schemeEnd.upperBound...].split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        guard !authority.contains("@") else {
            throw DispatcherConfigurationError(
                .baseURL, "the Zuora base URL holds credentials (user:password@), which are refused and not shown",
                hint: "remove them from the URL; credentials come from ZUORA_CLIENT_ID/ZUORA_CLIENT_SECRET or ZUORA_BEARER_TOKEN")
        }
        guard !authority.isEmpty else {
            throw DispatcherConfigurationError(.baseURL, "the Zuora base URL \"\(shown)\" has no host", hint: "write it like https://rest.zuora.com")
        }
        let host: String
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
        } else {
            host = String(authority.split(separator: ":").first ?? "")
        }
        if scheme == "http" && !allowInsecureHTTP && !ZuoraEndpoint.isLoopback(host) {
            throw DispatcherConfigurationError(
                .baseURL, "refusing to send a bearer token over plain http:// to \(host)",
                hint: "use https://, or allow insecure HTTP if this host is on a trusted network")
        }
        self.scheme = scheme
        self.host = host
        self.base = text
    }

    /// Loopback means an IP literal in 127.0.0.0/8, `::1`, or the name
    /// `localhost`, and nothing else: `127.example.net` is a remote name.
    static func isLoopback(_ host: String) -> Bool {
        LoopbackHost.contains(host)
    }

    /// `text` with anything between `://` and an `@` in the authority removed.
    static func withoutUserInfo(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else {
            return text.contains("@") ? "<a URL holding credentials>" : text
        }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return text }
        return text[..<schemeEnd.upperBound] + "***@" + rest[rest.index(after: at)...]
    }
}
