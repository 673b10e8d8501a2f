import Foundation

/// One ERROR entry of a meter's audit trail: an event Mediation rejected
/// after the usage request was answered 200.
public struct AuditEntry: Sendable, Equatable {
    /// Zuora's id for the record's trip through the meter; an entry is
    /// applied at most once, remembered by it.
    public let traceID: String
    /// The event id Zuora read from the record, when it has one.
    public let eventID: String?
    public let errorCode: String
    public let errorMessage: String
    /// The processed payload: the event's JSON text.
    public let payload: String
    /// The whole entry, as JSON text, kept as the dead letter's response body.
    public let raw: String
    /// The meter component that reported the record (a Deduplicator's
    /// entries are not rejections).
    public let operatorType: String?
    public let operatorName: String?
    public let operatorID: String?
    /// When the operator reported it (unix ms), when the entry says.
    public let errorTime: Int64?

    public init(
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
    public func isFromDeduplicator(operatorIDs: Set<String>) -> Bool {
        if let operatorID, operatorIDs.contains(operatorID) { return true }
        return [operatorType, operatorName].contains { $0?.lowercased().contains("dedup") == true }
    }

    /// The dead letter's reason.
    public var reason: String { "rejected by Zuora after acceptance: \(errorCode): \(errorMessage)" }
}
