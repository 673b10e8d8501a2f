import Foundation
import NIOSSL
import OutboxCore
import PostgresNIO

/// Where a PostgreSQL outbox lives: `postgres://user[:password]@host:port/database`.
/// A password may ride in the URL, as with the usual `DATABASE_URL`; it is
/// never shown (`description` leaves it out). Where a URL would be seen
/// (a command line, in `ps`), keep the password apart: `OUTBOX_DB_PASSWORD`,
/// `PGPASSWORD`, or the file named by `OUTBOX_DB_PASSWORD_FILE`.
public struct PostgresLocation: Sendable, Equatable {
    public let host: String
    public let port: Int
    public let username: String
    public let database: String
    /// `require` (TLS), `prefer`, or `disable`; from `?sslmode=`. Loopback
    /// hosts default to `disable`, others to `require`.
    public let tls: String
    /// The URL's own password, if it has one.
    public let password: String?

    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(url text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql", let host = components.host, !host.isEmpty
        else {
            throw OutboxError(
                .invalidConfiguration, "\(PostgresLocation.redacted(text)) is not a PostgreSQL URL",
                hint: "write it like postgres://user@host:5432/database")
        }
        self.password = components.password.flatMap { $0.removingPercentEncoding ?? $0 }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user ?? "postgres"
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? self.username : path
        let loopback = LoopbackHost.contains(host)
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? (loopback ? "disable" : "require")
        guard ["disable", "prefer", "require"].contains(mode) else {
            throw OutboxError(.invalidConfiguration, "sslmode must be disable, prefer or require (got \(mode))")
        }
        self.tls = mode
    }

    /// The URL as shown in messages: never a password.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }

    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text) else { return "the URL" }
        if components.password != nil { components.password = "****" }
        return components.string ?? "the URL"
    }

    /// The password, from the environment or a file; nil when none is set.
    public static func password(environment: [String: String]) throws -> String? {
        if let value = environment["OUTBOX_DB_PASSWORD"], !value.isEmpty { return value }
        if let value = environment["PGPASSWORD"], !value.isEmpty { return value }
        if let path = environment["OUTBOX_DB_PASSWORD_FILE"], !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw OutboxError(
                    .invalidConfiguration, "cannot read the password file \(path)", hint: "check OUTBOX_DB_PASSWORD_FILE and the file's permissions")
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return nil
    }

    /// A single connection's configuration, for the fail-fast check at open.
    func connectionConfiguration(password: String?) throws -> PostgresConnection.Configuration {
        let tlsMode: PostgresConnection.Configuration.TLS =
            switch tls {
            case "disable": .disable
            case "prefer": .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            default: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tlsMode)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    func clientConfiguration(password: String?) -> PostgresClient.Configuration {
        let tlsMode: PostgresClient.Configuration.TLS =
            switch tls {
            case "disable": .disable
            case "prefer": .prefer(.makeClientConfiguration())
            default: .require(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tlsMode)
        configuration.options.maximumConnections = 16
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }
}
