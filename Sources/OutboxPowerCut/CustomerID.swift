import Foundation

/// The harness's events name their append in the customer id:
/// `<producer>.<sequence>-<index>` (with `INVALID-` before it for the ones
/// Zuora rejects). The migration fixture's events have ids of their own.
enum CustomerID {
    static let any = try! NSRegularExpression(pattern: #""CustomerId":"([^"]*)""#)
    static let harness = try! NSRegularExpression(pattern: #"^(?:INVALID-)?(\d+)\.(\d+)-(\d+)$"#)

    /// The customer id in an event's JSON text.
    static func of(_ body: String) -> String? {
        guard let match = any.firstMatch(in: body, range: NSRange(body.startIndex..., in: body)),
            let range = Range(match.range(at: 1), in: body)
        else { return nil }
        return String(body[range])
    }

    /// Producer, append sequence and index of one of the harness's events;
    /// nil for another's (the fixture's).
    static func place(_ customer: String) -> (producer: Int, sequence: Int, index: Int)? {
        guard let match = harness.firstMatch(in: customer, range: NSRange(customer.startIndex..., in: customer)) else { return nil }
        func number(_ group: Int) -> Int? { Range(match.range(at: group), in: customer).flatMap { Int(customer[$0]) } }
        guard let producer = number(1), let sequence = number(2), let index = number(3) else { return nil }
        return (producer, sequence, index)
    }
}
