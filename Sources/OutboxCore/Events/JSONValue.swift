/// A JSON value, for the extra fields of a `UsageEvent`.
public indirect enum JSONValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
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
