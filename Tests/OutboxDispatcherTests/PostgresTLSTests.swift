import Foundation
import Testing

@testable import OutboxCore
@testable import OutboxPostgres

/// TLS an operator can keep on: libpq's modes, a private CA, and a failed
/// handshake reported as one.
struct PostgresTLSTests {
    @Test func theModesAndAPrivateCAAreUnderstood() throws {
        let ca = NSTemporaryDirectory() + "outbox-ca-" + UUID().uuidString + ".pem"
        _ = FileManager.default.createFile(atPath: ca, contents: Data("-----BEGIN CERTIFICATE-----\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: ca) }
        #expect(try PostgresLocation(url: "postgres://a@db.example/x").tls == "require")
        #expect(try PostgresLocation(url: "postgres://a@db.example/x?sslmode=verify-full").tls == "verify-full")
        let verifyCA = try PostgresLocation(url: "POSTGRES://a@db.example/x?sslmode=verify-ca&sslrootcert=\(ca)")
        #expect(verifyCA.tls == "verify-ca" && verifyCA.rootCertificates == ca)
        #expect(verifyCA.tlsConfiguration().certificateVerification == .noHostnameVerification)
        #expect(try PostgresLocation(url: "postgres://a@db.example/x?sslmode=verify-full").tlsConfiguration().certificateVerification == .fullVerification)
        let missing = #expect(throws: OutboxError.self) { try PostgresLocation(url: "postgres://a@db.example/x?sslrootcert=/no/such/ca.pem") }
        #expect(missing?.message.contains("cannot be read") == true)
        let unknown = #expect(throws: OutboxError.self) { try PostgresLocation(url: "postgres://a@db.example/x?sslmode=allow") }
        #expect(unknown?.message.contains("verify-full") == true)
    }

    /// The test server speaks no TLS: asking for it must say that TLS
    /// failed, not that the host or port is wrong.
    @Test func aServerWithoutTLSIsReportedAsATLSFailure() async throws {
        guard let base = StoreKind.postgresURL else { return }
        let url = base + (base.contains("?") ? "&" : "?") + "sslmode=require"
        let error = await #expect(throws: OutboxError.self) { _ = try await PostgresOutbox.open(url: url, password: nil) }
        #expect(error?.code == .cannotOpen)
        #expect(error?.message.contains("TLS") == true, "\(error?.message ?? "")")
    }
}
