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

    public init(traceID: String, eventID: String?, errorCode: String, errorMessage: String, payload: String, raw: String) {
        self.traceID = traceID
        self.eventID = eventID
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.payload = payload
        self.raw = raw
    }

    /// The dead letter's reason.
    public var reason: String { "rejected by Zuora after acceptance: \(errorCode): \(errorMessage)" }
}
