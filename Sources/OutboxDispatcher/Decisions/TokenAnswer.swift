import Foundation

/// The token endpoint's answer, read with bounds: a lifetime from the
/// network is clamped to 0...24 h, so no answer can overflow a deadline.
struct TokenAnswer: Equatable {
    static let maxBodyBytes = 64 << 10
    static let longestLifetimeSeconds: Double = 86_400

    let accessToken: String
    let lifetimeSeconds: Double

    /// How long to use it: its lifetime less a margin (Zuora's sample
    /// refreshes 300 s early; short-lived tokens keep a tenth of their life).
    var useFor: Duration {
        let margin = min(300, lifetimeSeconds / 10)
        return .milliseconds(Int64((lifetimeSeconds - margin) * 1000))
    }

    static func parse(_ body: [UInt8]) -> TokenAnswer? {
        guard body.count <= maxBodyBytes, let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let token = object["access_token"] as? String, !token.isEmpty
        else { return nil }
        var lifetime = 3600.0
        if let number = object["expires_in"] as? NSNumber { lifetime = number.doubleValue }
        if let text = object["expires_in"] as? String, let number = Double(text) { lifetime = number }
        if !lifetime.isFinite { lifetime = 3600 }
        return TokenAnswer(accessToken: token, lifetimeSeconds: min(max(lifetime, 0), longestLifetimeSeconds))
    }
}
