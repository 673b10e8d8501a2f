import Foundation

/// One page of `GET /meters/{id}/auditTrail/entries`, in the shape of the
/// reference's own sample (`../shared/zuora/api-facts.md`):
///
/// `{"success": true, "data": [{"errorTime": "1753296408775", "errorCode": "...",
///   "errorMessage": "...", "payload": {...} or "<JSON text>", "eventId": "<uuid>|0",
///   "traceId": "...", "operatorType": "...", "operatorName": "...", "operatorId": "..."}],
///   "previousPage": null, "nextPage": "token" or null}`
///
/// `errorTime` may be epoch milliseconds as text or a number, or ISO text;
/// `eventId` is Zuora's own id (kept, never compared with the outbox's);
/// unknown keys are ignored and missing ones tolerated.
struct AuditTrailPage: Sendable, Equatable {
    let entries: [AuditEntry]
    /// The cursor for the next page; nil on the last.
    let nextPage: String?

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    /// Most entries a page may hold (what was asked for) and the longest
    /// cursor taken: a page beyond either is not Zuora's, and is refused
    /// before any work is done on it.
    static let maxEntries = 500
    static let maxCursorBytes = 4096

    static func parse(_ body: [UInt8]) throws -> AuditTrailPage {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw Malformed(description: "the audit trail answer is not a JSON object")
        }
        if let success = object["success"] as? Bool, !success {
            throw Malformed(description: "the audit trail answer says success: false")
        }
        guard let data = object["data"] as? [Any] else {
            throw Malformed(description: "the audit trail answer has no \"data\" list")
        }
        guard data.count <= maxEntries else {
            throw Malformed(description: "the audit trail answered \(data.count) entries on one page, more than the \(maxEntries) asked for")
        }
        var entries: [AuditEntry] = []
        for (index, item) in data.enumerated() {
            guard let entry = item as? [String: Any] else {
                throw Malformed(description: "audit trail entry \(index + 1) is not an object")
            }
            entries.append(try Self.entry(entry, index: index))
        }
        let next = (object["nextPage"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        if let next, next.utf8.count > maxCursorBytes {
            throw Malformed(description: "the audit trail's next-page cursor is \(next.utf8.count) bytes long, more than \(maxCursorBytes)")
        }
        return AuditTrailPage(entries: entries, nextPage: next)
    }

    static func entry(_ entry: [String: Any], index: Int) throws -> AuditEntry {
        let payload: String
        switch entry["payload"] {
        case let text as String:
            payload = text
        case let object as [String: Any]:
            payload = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        default:
            throw Malformed(description: "audit trail entry \(index + 1) has no payload")
        }
        let raw = (try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        // Without a trace id the entry cannot be remembered: its payload stands in.
        let traceID = (entry["traceId"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "payload:" + payload
        return AuditEntry(
            traceID: traceID, eventID: (entry["eventId"] as? String).flatMap { $0.isEmpty ? nil : $0 },
            errorCode: Self.text(entry["errorCode"]) ?? "unknown", errorMessage: Self.text(entry["errorMessage"]) ?? "no message",
            payload: payload, raw: raw, operatorType: Self.text(entry["operatorType"]), operatorName: Self.text(entry["operatorName"]),
            operatorID: Self.text(entry["operatorId"]), errorTime: Self.milliseconds(entry["errorTime"]))
    }

    /// `errorTime`: epoch milliseconds as text or a number, or ISO 8601 text.
    static func milliseconds(_ value: Any?) -> Int64? {
        switch value {
        case let number as Int: return Int64(number)
        case let number as Double: return number.isFinite && Swift.abs(number) < 1e15 ? Int64(number) : nil
        case let text as String:
            if let number = Int64(text) { return number }
            let fractional = ISO8601DateFormatter()
            fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            guard let date = fractional.date(from: text) ?? ISO8601DateFormatter().date(from: text) else { return nil }
            return Int64(date.timeIntervalSince1970 * 1000)
        default: return nil
        }
    }

    private static func text(_ value: Any?) -> String? {
        switch value {
        case let text as String: text
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }
}
