/// A sent event Zuora rejected after accepting it: reconcile moves it to
/// `dead` with this reason, and the audit entry as its response body.
package struct LateRejection: Sendable, Equatable {
    package let rowID: Int64
    package let reason: String
    package let responseBody: String

    package init(rowID: Int64, reason: String, responseBody: String) {
        self.rowID = rowID
        self.reason = reason
        self.responseBody = responseBody
    }
}
