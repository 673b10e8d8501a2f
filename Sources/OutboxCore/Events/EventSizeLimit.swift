/// How large one event may be: never larger than a request, since a
/// request of that event alone must still fit Zuora's body limit. The
/// limit is the stored text's size (with the id field when the outbox
/// writes it), against the request body limit less the JSON array's two
/// brackets.
public enum EventSizeLimit {
    /// The default: a request body of 1 MiB (the dispatcher's default
    /// `maxBatchBytes`, and the API Sandbox's limit).
    public static let `default` = forRequests(ofAtMost: 1_048_576)
    /// The most Zuora accepts in one request (production), 4 MiB.
    public static let ceiling = forRequests(ofAtMost: 4_194_304)

    /// The largest event that fits a request body of `requestBytes`.
    public static func forRequests(ofAtMost requestBytes: Int) -> Int { max(0, requestBytes - 2) }

    /// What writing the id field into an event adds: `"<field>":"<36>",`.
    static func idFieldBytes(_ eventIdField: String?) -> Int {
        eventIdField.map { $0.utf8.count + 42 } ?? 0
    }

    /// Why an event of `bytes` (before its id field, when it lacks one) is
    /// too large, or nil.
    static func problem(bytes: Int, hasEventIdField: Bool, eventIdField: String?, limit: Int) -> String? {
        let stored = bytes + (hasEventIdField ? 0 : idFieldBytes(eventIdField))
        guard stored > limit else { return nil }
        return "the event is \(stored) bytes; an event must fit in one request on its own, at most \(limit) bytes (the request body limit less 2)"
    }
}
