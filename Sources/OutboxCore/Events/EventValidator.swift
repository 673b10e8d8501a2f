#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks one usage event object against the contract, in one pass over its
/// bytes, without building a dictionary:
/// - `CustomerId` and `UsageIdentifier`: non-empty strings;
/// - `UsageDate`: a date-time (`UsageDateFormat`);
/// - `Quantity`: a finite JSON number;
/// - no key appears twice; every other field is left as it is.
struct EventValidator {
    /// A field name (UTF-8) the dispatcher writes the event id into, when set.
    let eventIdField: [UInt8]?
    /// Reused for every object, so validating allocates nothing per event.
    /// A validator is used by one thread at a time.
    let keys = KeySet()

    init(eventIdField: [UInt8]?) {
        self.eventIdField = eventIdField
    }

    struct Result {
        /// Byte range of the whole object, `{` to `}`.
        let range: Range<Int>
        /// Whether the object already has the event id field.
        let hasEventIdField: Bool
        /// Why the event is invalid; empty when it is valid.
        let problems: [String]
    }

    /// Validates the object at the scanner's position and advances past it.
    /// Throws only for broken JSON; contract violations come back in `problems`.
    func validateObject(_ scanner: inout JSONScanner) throws(JSONSyntaxError) -> Result {
        let start = scanner.index
        guard scanner.current == UInt8(ascii: "{") else {
            let kind = try scanner.skipValue()
            return Result(
                range: start..<scanner.index, hasEventIdField: false,
                problems: ["expected a JSON object, found \(kind)"])
        }
        scanner.index += 1
        keys.reset()
        var problems: [String] = []
        var seen = RequiredFields()
        var hasEventIdField = false

        scanner.skipWhitespace()
        if scanner.current == UInt8(ascii: "}") {
            scanner.index += 1
        } else {
            while true {
                scanner.skipWhitespace()
                guard scanner.current == UInt8(ascii: "\"") else { throw scanner.unexpected(expected: "a string key") }
                let (keyRange, keyHasEscapes) = try scanner.scanString()
                scanner.skipWhitespace()
                try scanner.expect(UInt8(ascii: ":"), "':' after a key")
                scanner.skipWhitespace()

                let decodedKey = keyHasEscapes ? JSONStringDecoding.decode(UnsafeBufferPointer(rebasing: scanner.bytes[keyRange])) : nil
                let (isDuplicate, field, isEventIdField) = withKeyBytes(decodedKey, keyRange, scanner.bytes) { key in
                    (
                        !keys.insert(key, rawRange: decodedKey == nil ? keyRange : nil, in: scanner.bytes),
                        RequiredField(keyBytes: key),
                        eventIdField.map { ByteCompare.equal(key, $0) } ?? false
                    )
                }
                if isDuplicate {
                    let text = withKeyBytes(decodedKey, keyRange, scanner.bytes) { String(decoding: $0.prefix(64), as: UTF8.self) }
                    problems.append("duplicate key \"\(text)\"")
                }
                if isEventIdField { hasEventIdField = true }
                if let field, !isDuplicate {
                    seen.insert(field)
                    if let problem = try check(field, &scanner) { problems.append(problem) }
                } else {
                    try scanner.skipValue(depth: 1)
                }

                scanner.skipWhitespace()
                guard let byte = scanner.current else {
                    throw JSONSyntaxError(.unexpectedEnd(expected: "',' or '}'"), at: scanner.index)
                }
                scanner.index += 1
                if byte == UInt8(ascii: "}") { break }
                guard byte == UInt8(ascii: ",") else {
                    scanner.index -= 1
                    throw scanner.unexpected(expected: "',' or '}'")
                }
                scanner.skipWhitespace()
                if scanner.current == UInt8(ascii: "}") { throw JSONSyntaxError(.trailingComma, at: scanner.index) }
            }
        }
        for missing in seen.missing {
            problems.append("missing required field \(missing.name)")
        }
        return Result(range: start..<scanner.index, hasEventIdField: hasEventIdField, problems: problems)
    }

    private func withKeyBytes<R>(_ decoded: [UInt8]?, _ range: Range<Int>, _ bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R
    {
        if let decoded { return decoded.withUnsafeBufferPointer(body) }
        return body(UnsafeBufferPointer(rebasing: bytes[range]))
    }

    /// Checks the value of a required field; returns a problem or nil.
    private func check(_ field: RequiredField, _ scanner: inout JSONScanner) throws(JSONSyntaxError) -> String? {
        let valueStart = scanner.index
        switch field {
        case .customerId, .usageIdentifier, .usageDate:
            guard scanner.current == UInt8(ascii: "\"") else {
                let kind = try scanner.skipValue(depth: 1)
                return "\(field.name) must be \(field == .usageDate ? "a date-time string" : "a non-empty string"), found \(kind)"
            }
            let (content, hasEscapes) = try scanner.scanString()
            if content.isEmpty {
                return "\(field.name) must not be empty"
            }
            guard field == .usageDate else { return nil }
            let rawText = UnsafeBufferPointer(rebasing: scanner.bytes[content])
            let problem: String?
            if hasEscapes {
                problem = JSONStringDecoding.decode(rawText).withUnsafeBufferPointer { UsageDateFormat.problem(in: $0) }
            } else {
                problem = UsageDateFormat.problem(in: rawText)
            }
            return problem.map { "UsageDate \(quoted(rawText)) \($0)" }
        case .quantity:
            guard let byte = scanner.current, byte == UInt8(ascii: "-") || (byte &- UInt8(ascii: "0")) < 10 else {
                if scanner.current == UInt8(ascii: "N") || scanner.current == UInt8(ascii: "I") {
                    throw JSONSyntaxError(.nonFiniteNumber, at: valueStart)
                }
                let kind = try scanner.skipValue(depth: 1)
                return "Quantity must be a number, found \(kind)"
            }
            let range = try scanner.scanNumber()
            let text = String(decoding: UnsafeBufferPointer(rebasing: scanner.bytes[range]), as: UTF8.self)
            guard let value = Double(text), value.isFinite else {
                return "Quantity \(text.prefix(40)) is too large to be a finite number"
            }
            return nil
        }
    }

    private func quoted(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        let text = String(decoding: raw.prefix(40), as: UTF8.self)
        return "\"" + text + (raw.count > 40 ? "…" : "") + "\""
    }
}
