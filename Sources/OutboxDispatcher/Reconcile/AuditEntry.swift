import Foundation

/// One ERROR entry of a meter's audit trail: an event Mediation rejected
/// after the usage request was answered 200.
struct AuditEntry: Sendable, Equatable {
    /// Zuora's id for the record's trip through the meter; an entry is
    /// applied at most once, remembered by it.
    let traceID: String
    /// The event id Zuora read from the record, when it has one.
    let eventID: String?
    let errorCode: String
    let errorMessage: String
    /// The processed payload: the event's JSON text.
    let payload: String
    /// The whole entry, as JSON text, kept as the dead letter's response body.
    let raw: String
    /// The meter component that reported the record (a Deduplicator's
    /// entries are not rejections).
    let operatorType: String?
    let operatorName: String?
    let operatorID: String?
    /// When the operator reported it (unix ms), when the entry says.
    let errorTime: Int64?

    init(
        traceID: String, eventID: String?, errorCode: String, errorMessage: String, payload: String, raw: String,
        operatorType: String? = nil, operatorName: String? = nil, operatorID: String? = nil, errorTime: Int64? = nil
    ) {
        self.traceID = traceID
        self.eventID = eventID
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.payload = payload
        self.raw = raw
        self.operatorType = operatorType
        self.operatorName = operatorName
        self.operatorID = operatorID
        self.errorTime = errorTime
    }

    /// Whether a Deduplicator reported it: its operator type or name says
    /// "dedup" (any case; Zuora does not document the exact text), or its
    /// operator id is one the user named.
    func isFromDeduplicator(operatorIDs: Set<String>) -> Bool {
        if let operatorID, operatorIDs.contains(operatorID) { return true }
        return [operatorType, operatorName].contains { $0?.lowercased().contains("dedup") == true }
    }

    /// The dead letter's reason.
    var reason: String { "rejected by Zuora after acceptance: \(errorCode): \(errorMessage)" }
}
