import Foundation
import NIOSSL
import OutboxCore
import PostgresNIO

/// Where a PostgreSQL outbox lives: `postgres://user[:password]@host:port/database`.
/// A password may ride in the URL, as with the usual `DATABASE_URL`; it is
/// never shown (`description` leaves it out). Where a URL would be seen
/// (a command line, in `ps`), keep the password apart: `OUTBOX_DB_PASSWORD`,
/// `PGPASSWORD`, or the file named by `OUTBOX_DB_PASSWORD_FILE`.
package struct PostgresLocation: Sendable, Equatable {
    package let host: String
    package let port: Int
    package let username: String
    package let database: String
    /// From `?sslmode=`: `disable`, `prefer` (TLS when the server offers
    /// it, verified), `require` and `verify-full` (TLS, the certificate's
    /// chain and host name verified: stricter than libpq's `require`), or
    /// `verify-ca` (the chain only). Loopback hosts default to `disable`,
    /// others to `require`.
    package let tls: String
    /// From `?sslrootcert=`: a PEM file of the CAs to trust (a private CA,
    /// such as RDS's bundle) instead of the system's.
    package let rootCertificates: String?
    /// The URL's own password, if it has one.
    package let password: String?

    /// Whether `text` is a PostgreSQL URL (the scheme in any case).
    package static func isPostgresURL(_ text: String) -> Bool {
        let lowered = text.trimmingCharacters(in: .whitespacesAndNewlines).prefix(14).lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    package static let sslModes = ["disable", "prefer", "require", "verify-ca", "verify-full"]

    package init(url text: String) throws {
        guard let components = URLComponents(string: text.trimmingCharacters(in: .whitespacesAndNewlines)), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql", let host = components.host, !host.isEmpty
        else {
            throw OutboxError(
                .invalidConfiguration, "\(PostgresLocation.redacted(text)) is not a PostgreSQL URL",
                hint: "write it like postgres://user@host:5432/database")
        }
        self.password =
            components.password.flatMap { $0.removingPercentEncoding ?? $0 }
            ?? components.queryItems?.first(where: Self.isPasswordItem)?.value.flatMap { $0.isEmpty ? nil : $0 }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user ?? "postgres"
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? self.username : path
        let loopback = LoopbackHost.contains(host)
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value?.lowercased() ?? (loopback ? "disable" : "require")
        guard Self.sslModes.contains(mode) else {
            throw OutboxError(
                .invalidConfiguration, "sslmode must be one of \(Self.sslModes.joined(separator: ", ")) (got \(mode))",
                hint: "verify-full (or require) checks the server's certificate and name; add sslrootcert=/path/ca.pem for a private CA")
        }
        self.tls = mode
        rootCertificates = components.queryItems?.first { $0.name == "sslrootcert" }?.value.flatMap { $0.isEmpty ? nil : $0 }
        if let rootCertificates, !FileManager.default.isReadableFile(atPath: rootCertificates) {
            throw OutboxError(
                .invalidConfiguration, "sslrootcert names \(rootCertificates), which cannot be read",
                hint: "give a readable PEM file of the CA certificates to trust")
        }
    }

    /// The URL as shown in messages: never a password.
    package var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }

    /// `text` with the password of a URL in it replaced: for printing a
    /// setting that may hold one (`config show`).
    package static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            return "the URL (not shown: it cannot be parsed)"
        }
        if components.password != nil { components.percentEncodedPassword = "REDACTED" }
        if let items = components.queryItems, items.contains(where: isPasswordItem) {
            components.queryItems = items.map { isPasswordItem($0) ? URLQueryItem(name: $0.name, value: "REDACTED") : $0 }
        }
        return (components.string ?? "the URL")
            .replacingOccurrences(of: ":REDACTED@", with: ":<redacted>@")
            .replacingOccurrences(of: "=REDACTED", with: "=<redacted>")
    }

    /// Whether `text` carries a password, in its user part or as a
    /// `password=` parameter (libpq takes both).
    package static func holdsPassword(_ text: String) -> Bool {
        guard let components = URLComponents(string: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            return text.contains("@")
        }
        return components.password != nil || (components.queryItems ?? []).contains(where: isPasswordItem)
    }

    private static func isPasswordItem(_ item: URLQueryItem) -> Bool { item.name.lowercased() == "password" }

    /// The password, from the environment or a file; nil when none is set.
    package static func password(environment: [String: String]) throws -> String? {
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

    /// The TLS settings `sslmode` and `sslrootcert` ask for.
    func tlsConfiguration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if tls == "verify-ca" { configuration.certificateVerification = .noHostnameVerification }
        if let rootCertificates { configuration.trustRoots = .file(rootCertificates) }
        return configuration
    }

    /// A single connection's configuration, for the fail-fast check at open.
    func connectionConfiguration(password: String?) throws -> PostgresConnection.Configuration {
        let tlsMode: PostgresConnection.Configuration.TLS =
            switch tls {
            case "disable": .disable
            case "prefer": .prefer(try NIOSSLContext(configuration: tlsConfiguration()))
            default: .require(try NIOSSLContext(configuration: tlsConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tlsMode)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    func clientConfiguration(password: String?) -> PostgresClient.Configuration {
        let tlsMode: PostgresClient.Configuration.TLS =
            switch tls {
            case "disable": .disable
            case "prefer": .prefer(tlsConfiguration())
            default: .require(tlsConfiguration())
            }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tlsMode)
        configuration.options.maximumConnections = 16
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }
}
