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

/// A JSON value, for the extra fields of a `UsageEvent`.
public indirect enum JSONValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
                                ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral,
                                ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    case string(String)
    case number(Double)
    case integer(Int64)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])
    /// Text already known to be valid JSON (a stored event), written verbatim.
    case rawJSON(String)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(Dictionary(elements, uniquingKeysWith: { $1 })) }

    /// Compact JSON text; object keys are sorted, so output is deterministic.
    public var jsonText: String {
        var output = ""
        write(to: &output)
        return output
    }

    func write(to output: inout String) {
        switch self {
        case .string(let text):
            output += "\""
            // Fast path: most strings need no escaping and are copied whole.
            if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                output += text
            } else {
                for scalar in text.unicodeScalars {
                    switch scalar {
                    case "\"": output += "\\\""
                    case "\\": output += "\\\\"
                    case "\n": output += "\\n"
                    case "\r": output += "\\r"
                    case "\t": output += "\\t"
                    case _ where scalar.value < 0x20:
                        let hex = String(scalar.value, radix: 16)
                        output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    default: output.unicodeScalars.append(scalar)
                    }
                }
            }
            output += "\""
        case .number(let value):
            // Non-finite values are written as-is and then rejected by validation.
            if value.isFinite, value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
                output += String(Int64(value))
            } else {
                output += value.isFinite ? "\(value)" : "NaN"
            }
        case .integer(let value): output += String(value)
        case .bool(let value): output += value ? "true" : "false"
        case .null: output += "null"
        case .array(let values):
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += "," }
                value.write(to: &output)
            }
            output += "]"
        case .rawJSON(let text):
            output += text
        case .object(let members):
            output += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output += "," }
                JSONValue.string(key).write(to: &output)
                output += ":"
                members[key]!.write(to: &output)
            }
            output += "}"
        }
    }
}
