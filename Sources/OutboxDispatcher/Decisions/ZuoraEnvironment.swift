/// Zuora's environments and their per-call limits for usage ingestion
/// (Mediation's streaming source; MB read as MiB), and how to tell the
/// environment from a base URL's host.
public enum ZuoraEnvironment: String, Sendable, CaseIterable, CustomStringConvertible {
    case apiSandbox = "api-sandbox"
    case developerSandbox = "developer-sandbox"
    case centralSandbox = "central-sandbox"
    case production

    /// Largest request body (JSON, before compression).
    public var maxBatchBytes: Int {
        switch self {
        case .apiSandbox: 1 << 20
        case .developerSandbox: 2 << 20
        case .centralSandbox, .production: 4 << 20
        }
    }

    /// Most events in one request.
    public var maxBatchSize: Int {
        switch self {
        case .apiSandbox: 1000
        case .developerSandbox: 5000
        case .centralSandbox, .production: 10_000
        }
    }

    /// Most usage requests in a minute.
    public var maxRequestsPerMinute: Int {
        switch self {
        case .apiSandbox: 600
        case .developerSandbox: 5000
        case .centralSandbox, .production: 50_000
        }
    }

    /// Most API calls in 24 hours, where Zuora caps them (the sandboxes).
    public var maxRequestsPerDay: Int? {
        switch self {
        case .apiSandbox: 10_000
        case .developerSandbox: 50_000
        case .centralSandbox, .production: nil
        }
    }

    /// Every REST host Zuora lists (US Cloud 1 and 2, EU, APAC; production
    /// and sandboxes), with its environment.
    public static let knownHosts: [(host: String, environment: ZuoraEnvironment)] = [
        "rest.zuora.com", "rest.na.zuora.com", "rest.eu.zuora.com", "rest.ap.zuora.com",
        "rest.apisandbox.zuora.com", "rest.sandbox.na.zuora.com", "rest.sandbox.eu.zuora.com",
        "rest.test.zuora.com", "rest.test.eu.zuora.com", "rest.test.ap.zuora.com",
    ].map { ($0, inferred(fromHost: $0)!) }

    public var description: String {
        switch self {
        case .apiSandbox: "API Sandbox"
        case .developerSandbox: "Developer Sandbox"
        case .centralSandbox: "Central Sandbox"
        case .production: "Production"
        }
    }

    /// The environment a known Zuora host belongs to, or nil for any other
    /// host. The test hosts serve both Developer and Central Sandboxes: the
    /// stricter (Developer) is assumed.
    public static func inferred(fromHost host: String) -> ZuoraEnvironment? {
        switch host.lowercased() {
        case "rest.apisandbox.zuora.com", "rest.sandbox.na.zuora.com", "rest.sandbox.eu.zuora.com": .apiSandbox
        case "rest.test.zuora.com", "rest.test.eu.zuora.com", "rest.test.ap.zuora.com": .developerSandbox
        case "rest.zuora.com", "rest.na.zuora.com", "rest.eu.zuora.com", "rest.ap.zuora.com": .production
        default: nil
        }
    }
}
