import Foundation
import HTTPServing

/// The mock's Mediation after the 200: events of the late-reject prefix are
/// accepted, then listed as ERROR entries of their meter's audit trail, at
/// `GET /meters/{id}/auditTrail/entries` with Zuora's required query
/// parameters, bearer auth and pages.
extension ZuoraMockServer {
    static let maximumPageSize = 500
    static let defaultPageSize = 30

    /// Records the accepted events that Mediation will reject (called under the lock).
    static func recordLateRejections(_ texts: [String], events: [Any], meter: String, now: Double, into inner: inout MockState.Inner) {
        guard let prefix = inner.configuration.lateRejectPrefix else { return }
        for event in events {
            guard let object = event as? [String: Any], let customer = object["CustomerId"] as? String, customer.hasPrefix(prefix) else { continue }
            record(
                object, meter: meter, errorCode: "CUSTOMER_NOT_FOUND", errorMessage: "No customer account \(customer) in this tenant",
                operator: (type: "BILLING-RATING", name: "Rating", id: "15004c16-6242-4f50-9faf-cb1a0fe6e0f5"), now: now, into: &inner)
            inner.statistics.lateRejected += 1
        }
    }

    /// The meter's Deduplicator (`deduplicateBy`): the indexes of the events
    /// it lets through; each repeat is listed as one of its ERROR entries
    /// (called under the lock).
    static func discardDuplicates(_ texts: [String], events: [Any], meter: String, now: Double, into inner: inout MockState.Inner) -> [Int] {
        guard let field = inner.configuration.deduplicateBy else { return Array(texts.indices) }
        var kept: [Int] = []
        for (index, event) in events.enumerated() {
            guard let object = event as? [String: Any], let key = object[field].map({ "\($0)" }) else {
                kept.append(index)
                continue
            }
            if inner.deduplicated[meter, default: []].insert(key).inserted {
                kept.append(index)
            } else {
                inner.statistics.duplicatesDiscarded += 1
                record(
                    object, meter: meter, errorCode: "DUPLICATE_RECORD", errorMessage: "Duplicate record discarded: \(field) \(key) was processed before",
                    operator: (type: "PROCESSOR", name: "Deduplicator", id: "7d1c0b6e-0d0d-4f1e-9a55-000000000001"), now: now, into: &inner)
            }
        }
        return kept
    }

    /// One ERROR entry in the shape of the reference's own sample: epoch-ms
    /// `errorTime` as text, the payload as an object (renamed when
    /// `reshapeAuditPayloads`), Zuora's own `eventId`, the operator.
    static func record(
        _ event: [String: Any], meter: String, errorCode: String, errorMessage: String, operator: (type: String, name: String, id: String),
        now: Double, into inner: inout MockState.Inner
    ) {
        let configuration = inner.configuration
        var payload = event
        if configuration.reshapeAuditPayloads {
            let renames = ["CustomerId": "customer id", "Quantity": "qty", "UsageDate": "event time", "UsageIdentifier": "usage id"]
            payload = [:]
            for (key, value) in event {
                if key == configuration.eventIdField && configuration.auditPayloadDropsEventId { continue }
                payload[renames[key] ?? key] = value
            }
        }
        let zuoraID = UUID().uuidString.lowercased() + "|0"
        let entry: [String: Any] = [
            "errorTime": String(Int64(now * 1000)), "errorCode": errorCode, "errorMessage": errorMessage, "payload": payload,
            "eventId": zuoraID, "traceId": zuoraID + "_a_b_e_d_o7normal",
            "operatorType": `operator`.type, "operatorName": `operator`.name, "operatorId": `operator`.id,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys])) ?? Data("{}".utf8)
        inner.audit[meter, default: []].append(MockAuditEntry(json: String(decoding: data, as: UTF8.self), ingestedAt: now))
    }

    static func auditTrail(_ request: ServerRequest, meterID: String, state: MockState) -> ServerReply {
        let query = Self.queryItems(request.query)
        return state.inner.withLock { inner -> ServerReply in
            inner.statistics.auditRequests += 1
            let token = request.header("Authorization").flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            let now = Date().timeIntervalSince1970
            guard let token, inner.configuration.staticTokens.contains(token) || (inner.tokens[token].map { $0 > now } ?? false) else {
                return .json(401, #"{"success":false,"reasons":[{"code":90000011,"message":"Authentication error: invalid or expired token"}]}"#)
            }
            for name in ["exportType", "runType", "queryFromTime", "queryToTime"] where (query[name] ?? "").isEmpty {
                return badRequest("the query parameter \(name) is required")
            }
            guard ["ERROR", "SAMPLE"].contains(query["exportType"]!) else { return badRequest("exportType must be ERROR or SAMPLE") }
            guard ["NORMAL", "DEBUG"].contains(query["runType"]!) else { return badRequest("runType must be NORMAL or DEBUG") }
            let formatter = ISO8601DateFormatter()
            guard let from = formatter.date(from: query["queryFromTime"]!), let to = formatter.date(from: query["queryToTime"]!) else {
                return badRequest("queryFromTime and queryToTime must be ISO 8601 date-times with a time zone")
            }
            let pageSize = query["pageSize"].map { Int($0) ?? -1 } ?? defaultPageSize
            guard (1...maximumPageSize).contains(pageSize) else { return badRequest("pageSize must be between 1 and \(maximumPageSize)") }
            var offset = 0
            if let cursor = query["cursor"] {
                guard cursor.hasPrefix("p"), let value = Int(cursor.dropFirst()), value >= 0 else { return badRequest("invalid cursor") }
                offset = value
            }
            guard let id = Int64(meterID), let meter = inner.configuration.meterIDs.first(where: { $0.value == id })?.key else {
                return .json(404, #"{"success":false,"reasons":[{"code":50000040,"message":"Meter not found"}]}"#)
            }
            let wanted = query["exportType"] == "ERROR" && query["runType"] == "NORMAL"
            let entries =
                wanted
                ? (inner.audit[meter] ?? []).filter {
                    $0.ingestedAt >= from.timeIntervalSince1970.rounded(.down) && $0.ingestedAt <= to.timeIntervalSince1970 + 1
                }
                : []
            let page = entries.dropFirst(offset).prefix(pageSize)
            let next = offset + page.count < entries.count ? "\"p\(offset + page.count)\"" : "null"
            let previous = offset > 0 ? "\"p\(max(0, offset - pageSize))\"" : "null"
            return .json(
                200, #"{"success":true,"data":[\#(page.map(\.json).joined(separator: ","))],"previousPage":\#(previous),"nextPage":\#(next)}"#)
        }
    }

    private static func badRequest(_ message: String) -> ServerReply {
        .json(400, #"{"success":false,"reasons":[{"code":53100320,"message":"\#(message)"}]}"#)
    }

    static func queryItems(_ query: String?) -> [String: String] {
        var items: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            let key = String(parts[0]).removingPercentEncoding ?? ""
            items[key] = parts.count > 1 ? (String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
        }
        return items
    }
}
