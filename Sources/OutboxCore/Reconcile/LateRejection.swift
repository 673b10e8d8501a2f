/// A sent event Zuora rejected after accepting it: reconcile moves it to
/// `dead` with this reason, and the audit entry as its response body.
public struct LateRejection: Sendable, Equatable {
    public let rowID: Int64
    public let reason: String
    public let responseBody: String

    public init(rowID: Int64, reason: String, responseBody: String) {
        self.rowID = rowID
        self.reason = reason
        self.responseBody = responseBody
    }
}
