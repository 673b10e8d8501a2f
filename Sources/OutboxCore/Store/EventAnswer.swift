/// One answer an event got (or a request that got none), as its history
/// keeps it: a failed, deferred or dead settlement, newest last.
public struct EventAnswer: Sendable, Equatable {
    /// When the store recorded it (unix ms, the store's clock).
    public let at: Int64
    /// Zuora's HTTP status; nil when no answer came (a timeout, a dropped
    /// connection) or for a rejection found after the 200 by reconcile.
    public let status: Int?
    /// `Zuora-Request-Id` of the answer, when it had one.
    public let requestID: String?
    /// The reason, cut to its first 200 bytes.
    public let reason: String

    public init(at: Int64, status: Int?, requestID: String?, reason: String) {
        self.at = at
        self.status = status
        self.requestID = requestID
        self.reason = reason
    }
}
