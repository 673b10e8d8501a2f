import Foundation

/// A short, readable reason for a rejection, from Zuora's error body:
/// `{"success": false, "reasons": [{"code": 53100320, "message": "..."}]}`.
enum RejectionReason {
    static func describe(status: Int, body: [UInt8]) -> String {
        let prefix = "HTTP \(status)"
        guard !body.isEmpty else { return prefix }
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            if let reasons = object["reasons"] as? [[String: Any]], !reasons.isEmpty {
                let parts = reasons.prefix(3).map { reason -> String in
                    let message = (reason["message"] as? String) ?? "no message"
                    if let code = reason["code"] { return "\(message) (code \(code))" }
                    return message
                }
                return "\(prefix): " + parts.joined(separator: "; ")
            }
            if let message = object["message"] as? String, !message.isEmpty { return "\(prefix): \(message)" }
        }
        let snippet = String(decoding: body.prefix(200), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
        return "\(prefix): \(snippet)"
    }

    /// What a configuration problem means, for the operator.
    static func configurationHint(status: Int, meter: String) -> String {
        switch status {
        case 401: "Zuora refused the credentials even with a fresh token (HTTP 401): check ZUORA_CLIENT_ID/ZUORA_CLIENT_SECRET or ZUORA_BEARER_TOKEN"
        case 403:
            "Zuora forbids this (HTTP 403): the OAuth client lacks permission for usage ingestion, or the entity or org ids (Zuora-Entity-Ids, Zuora-Org-Ids) name one it cannot use"
        case 404: "meter \(meter) not found (HTTP 404): check the meter's global id and that it is active in this tenant"
        default: "configuration problem (HTTP \(status))"
        }
    }
}
