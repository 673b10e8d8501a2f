/// A dead letter: an event Zuora rejected, set aside for an operator.
public struct DeadLetter: Sendable, Equatable {
    /// The event's id (UUIDv7): what `show`, `retry` and `purge` take.
    public let id: String
    public let meter: String
    /// The event's JSON text, as appended.
    public let event: String
    /// Zuora's HTTP status, when it answered.
    public let status: Int?
    public let reason: String
    /// Requests that carried the event, whatever their answer: failures,
    /// rate limits, "retry later" answers, bisection halves, and the answer
    /// that made it a dead letter (1 for a late rejection: the request
    /// Zuora accepted). Dead letters written before schema 8 show the
    /// failures the retry limit counted, which is never more.
    public let attempts: Int
    public let responseBody: String?
    public let trackID: String?
    /// `Zuora-Request-Id` of the answer that made it a dead letter (nil for
    /// a late rejection, found by reconcile).
    public let requestID: String?
    public let createdAt: Int64
    public let updatedAt: Int64
    public let deadAt: Int64
    /// The answers its event got, oldest first (at most the last
    /// 20); empty unless asked for.
    public var history: [EventAnswer]

    public init(
        id: String, meter: String, event: String, status: Int?, reason: String, attempts: Int, responseBody: String?,
        trackID: String?, createdAt: Int64, updatedAt: Int64, deadAt: Int64, requestID: String? = nil, history: [EventAnswer] = []
    ) {
        self.requestID = requestID
        self.history = history
        self.id = id
        self.meter = meter
        self.event = event
        self.status = status
        self.reason = reason
        self.attempts = attempts
        self.responseBody = responseBody
        self.trackID = trackID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deadAt = deadAt
    }
}
