/// A usage event built in code. It encodes to the JSON text Zuora expects,
/// with the four required fields first and any extra fields after them,
/// sorted by name.
///
/// ```swift
/// let event = UsageEvent(customerId: "A-1001", usageIdentifier: "api-calls",
///                        usageDate: "2026-11-29T10:00:00Z", quantity: 42,
///                        fields: ["region": "eu-west-1"])
/// ```
public struct UsageEvent: Sendable, Equatable {
    public var customerId: String
    public var usageIdentifier: String
    /// `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]`; see `UsageEvent.usageDate(unixMilliseconds:)`.
    public var usageDate: String
    public var quantity: Double
    /// Fields beyond the four required ones, forwarded as they are.
    public var fields: [String: JSONValue]

    public init(customerId: String, usageIdentifier: String, usageDate: String, quantity: Double, fields: [String: JSONValue] = [:]) {
        self.customerId = customerId
        self.usageIdentifier = usageIdentifier
        self.usageDate = usageDate
        self.quantity = quantity
        self.fields = fields
    }

    /// Formats a Unix time in milliseconds as `YYYY-MM-DDTHH:MM:SS.fffZ`.
    public static func usageDate(unixMilliseconds: Int64) -> String {
        RFC3339.format(unixMilliseconds: unixMilliseconds)
    }

    /// The event's JSON text.
    public var jsonText: String {
        var output = "{\"CustomerId\":"
        output.reserveCapacity(128 + customerId.utf8.count + usageIdentifier.utf8.count)
        JSONValue.string(customerId).write(to: &output)
        output += ",\"UsageIdentifier\":"
        JSONValue.string(usageIdentifier).write(to: &output)
        output += ",\"UsageDate\":"
        JSONValue.string(usageDate).write(to: &output)
        output += ",\"Quantity\":"
        JSONValue.number(quantity).write(to: &output)
        for key in fields.keys.sorted() where RequiredField(name: key) == nil {
            output += ","
            JSONValue.string(key).write(to: &output)
            output += ":"
            fields[key]!.write(to: &output)
        }
        output += "}"
        return output
    }
}

extension RequiredField {
    init?(name: String) {
        var name = name
        let field = name.withUTF8 { RequiredField(keyBytes: $0) }
        guard let field else { return nil }
        self = field
    }
}
