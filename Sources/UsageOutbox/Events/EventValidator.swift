/// Checks one usage event object against the contract, in one pass over its
/// bytes, without building a dictionary:
/// - `CustomerId` and `UsageIdentifier`: non-empty strings;
/// - `UsageDate`: a date-time (`UsageDateFormat`);
/// - `Quantity`: a finite JSON number;
/// - no key appears twice; every other field is left as it is.
struct EventValidator {
    /// A field name (UTF-8) the dispatcher writes the event id into, when set.
    let eventIdField: [UInt8]?

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
            return Result(range: start..<scanner.index, hasEventIdField: false,
                          problems: ["expected a JSON object, found \(kind)"])
        }
        scanner.index += 1
        var keys = KeySet()
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
                let key: KeySet.Key = keyHasEscapes
                    ? .decoded(JSONStringDecoding.decode(UnsafeBufferPointer(rebasing: scanner.bytes[keyRange])))
                    : .raw(keyRange)
                scanner.skipWhitespace()
                try scanner.expect(UInt8(ascii: ":"), "':' after a key")
                scanner.skipWhitespace()

                let isDuplicate = !keys.insert(key, in: scanner.bytes)
                if isDuplicate {
                    problems.append("duplicate key \"\(keys.text(of: key, in: scanner.bytes))\"")
                }
                let field = keys.withBytes(of: key, in: scanner.bytes) { RequiredField(keyBytes: $0) }
                if let eventIdField, keys.withBytes(of: key, in: scanner.bytes, { $0.elementsEqual(eventIdField) }) {
                    hasEventIdField = true
                }
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

/// The four fields every Zuora usage event must carry.
enum RequiredField: CaseIterable {
    case customerId, usageIdentifier, usageDate, quantity

    var name: String {
        switch self {
        case .customerId: "CustomerId"
        case .usageIdentifier: "UsageIdentifier"
        case .usageDate: "UsageDate"
        case .quantity: "Quantity"
        }
    }

    init?(keyBytes: UnsafeBufferPointer<UInt8>) {
        // Compare by length first: nearly every key is rejected there.
        switch keyBytes.count {
        case 10 where keyBytes.elementsEqual("CustomerId".utf8): self = .customerId
        case 15 where keyBytes.elementsEqual("UsageIdentifier".utf8): self = .usageIdentifier
        case 9 where keyBytes.elementsEqual("UsageDate".utf8): self = .usageDate
        case 8 where keyBytes.elementsEqual("Quantity".utf8): self = .quantity
        default: return nil
        }
    }
}

struct RequiredFields {
    private var bits: UInt8 = 0

    mutating func insert(_ field: RequiredField) { bits |= Self.bit(field) }

    var missing: [RequiredField] {
        RequiredField.allCases.filter { bits & Self.bit($0) == 0 }
    }

    private static func bit(_ field: RequiredField) -> UInt8 {
        switch field {
        case .customerId: 1
        case .usageIdentifier: 2
        case .usageDate: 4
        case .quantity: 8
        }
    }
}

/// The keys of one object, for duplicate detection. Linear for the usual
/// handful of keys, hashed once an object has many, so a hostile object with
/// thousands of keys stays linear time overall.
struct KeySet {
    enum Key {
        case raw(Range<Int>)
        case decoded([UInt8])
    }

    private var keys: [Key] = []
    private var hashed: Set<[UInt8]>? = nil
    private static let hashThreshold = 24

    func withBytes<R>(of key: Key, in bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        switch key {
        case .raw(let range): body(UnsafeBufferPointer(rebasing: bytes[range]))
        case .decoded(let array): array.withUnsafeBufferPointer(body)
        }
    }

    func text(of key: Key, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        withBytes(of: key, in: bytes) { String(decoding: $0.prefix(64), as: UTF8.self) }
    }

    /// Inserts `key`; returns false when it was already there.
    mutating func insert(_ key: Key, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if hashed != nil {
            let array = withBytes(of: key, in: bytes) { Array($0) }
            return hashed!.insert(array).inserted
        }
        let isNew = withBytes(of: key, in: bytes) { new in
            keys.allSatisfy { existing in withBytes(of: existing, in: bytes) { !$0.elementsEqual(new) } }
        }
        guard isNew else { return false }
        keys.append(key)
        if keys.count > KeySet.hashThreshold {
            hashed = Set(keys.map { withBytes(of: $0, in: bytes) { Array($0) } })
            keys = []
        }
        return true
    }
}
