/// A strict RFC 8259 JSON scanner over UTF-8 bytes.
///
/// It validates without building values: the outbox stores each event's text
/// exactly as given, so it only needs to know that the text is valid JSON and
/// where things are. It rejects what JSON forbids and Zuora would choke on:
/// `NaN`, `Infinity`, leading zeros, trailing commas, raw control characters
/// in strings, invalid UTF-8 and lone surrogate escapes. Nesting is bounded,
/// so hostile input cannot exhaust the stack.
struct JSONScanner {
    static let maxDepth = 128

    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    let end: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.index = start
        self.end = end ?? bytes.count
    }

    var isAtEnd: Bool { index >= end }

    var current: UInt8? { index < end ? bytes[index] : nil }

    mutating func skipWhitespace() {
        while index < end {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
        guard index < end else { throw .init(.unexpectedEnd(expected: what), at: index) }
        guard bytes[index] == byte else { throw unexpected(expected: what) }
        index += 1
    }

    func unexpected(expected: String) -> JSONSyntaxError {
        guard index < end else { return .init(.unexpectedEnd(expected: expected), at: index) }
        return .init(.unexpectedByte(bytes[index], expected: expected), at: index)
    }

    // MARK: Values

    /// Skips one value of any kind, validating it; returns its kind.
    @discardableResult
    mutating func skipValue(depth: Int = 0) throws(JSONSyntaxError) -> JSONKind {
        guard index < end else { throw .init(.unexpectedEnd(expected: "a value"), at: index) }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            _ = try scanString()
            return .string
        case UInt8(ascii: "{"):
            try skipContainer(closing: UInt8(ascii: "}"), isObject: true, depth: depth)
            return .object
        case UInt8(ascii: "["):
            try skipContainer(closing: UInt8(ascii: "]"), isObject: false, depth: depth)
            return .array
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
            return .number
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            throw .init(.nonFiniteNumber, at: index)
        default:
            throw unexpected(expected: "a value")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        let start = word.utf8Start
        guard end - index >= count else { throw .init(.invalidLiteral, at: index) }
        for offset in 0..<count where bytes[index + offset] != start[offset] {
            throw .init(.invalidLiteral, at: index)
        }
        index += count
    }

    private mutating func skipContainer(closing: UInt8, isObject: Bool, depth: Int) throws(JSONSyntaxError) {
        guard depth < JSONScanner.maxDepth else { throw .init(.tooDeep, at: index) }
        index += 1  // the opening bracket
        skipWhitespace()
        if current == closing {
            index += 1
            return
        }
        while true {
            if isObject {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw unexpected(expected: "a string key") }
                _ = try scanString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':'")
                skipWhitespace()
            }
            try skipValue(depth: depth + 1)
            skipWhitespace()
            guard index < end else {
                throw .init(.unexpectedEnd(expected: isObject ? "',' or '}'" : "',' or ']'"), at: index)
            }
            let byte = bytes[index]
            index += 1
            if byte == closing { return }
            guard byte == UInt8(ascii: ",") else {
                index -= 1
                throw unexpected(expected: isObject ? "',' or '}'" : "',' or ']'")
            }
            skipWhitespace()
            if current == closing { throw .init(.trailingComma, at: index) }
        }
    }

    // MARK: Strings

    /// Scans a string starting at its opening quote. Returns the range of its
    /// raw content (between the quotes) and whether it holds escapes.
    mutating func scanString() throws(JSONSyntaxError) -> (content: Range<Int>, hasEscapes: Bool) {
        let open = index
        index += 1
        let contentStart = index
        var hasEscapes = false
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let range = contentStart..<index
                index += 1
                return (range, hasEscapes)
            }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                try scanEscape()
            } else if byte < 0x20 {
                throw .init(.controlCharacterInString, at: index)
            } else if byte < 0x80 {
                index += 1
            } else {
                try scanUTF8Sequence()
            }
        }
        throw .init(.unterminatedString, at: open)
    }

    private mutating func scanEscape() throws(JSONSyntaxError) {
        let start = index
        index += 1
        guard index < end else { throw .init(.unterminatedString, at: start) }
        switch bytes[index] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 1
        case UInt8(ascii: "u"):
            index += 1
            let unit = try hex4()
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard end - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw .init(.loneSurrogate, at: start)
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw .init(.loneSurrogate, at: start) }
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw .init(.loneSurrogate, at: start)
            }
        default:
            throw .init(.invalidEscape, at: start)
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt16 {
        guard end - index >= 4 else { throw .init(.invalidEscape, at: index) }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw .init(.invalidEscape, at: index)
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence (Unicode 15, table 3-7):
    /// no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF.
    private mutating func scanUTF8Sequence() throws(JSONSyntaxError) {
        let lead = bytes[index]
        let length: Int
        var lowerBound: UInt8 = 0x80
        var upperBound: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            lowerBound = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            upperBound = 0x9F
        case 0xF0:
            length = 4
            lowerBound = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            upperBound = 0x8F
        default: throw .init(.invalidUTF8, at: index)
        }
        guard end - index >= length else { throw .init(.invalidUTF8, at: index) }
        let second = bytes[index + 1]
        guard second >= lowerBound && second <= upperBound else { throw .init(.invalidUTF8, at: index) }
        for offset in 2..<max(2, length) where bytes[index + offset] & 0xC0 != 0x80 {
            throw .init(.invalidUTF8, at: index)
        }
        index += length
    }

    // MARK: Numbers

    /// Scans a number with JSON's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    mutating func scanNumber() throws(JSONSyntaxError) -> Range<Int> {
        let start = index
        if bytes[index] == UInt8(ascii: "-") {
            index += 1
            if index < end, bytes[index] == UInt8(ascii: "I") { throw .init(.nonFiniteNumber, at: start) }
        }
        guard index < end, isDigit(bytes[index]) else { throw .init(.invalidNumber, at: start) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < end, isDigit(bytes[index]) { throw .init(.invalidNumber, at: start) }
        } else {
            skipDigits()
        }
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < end, isDigit(bytes[index]) else { throw .init(.invalidNumber, at: start) }
            skipDigits()
        }
        if index < end, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < end, isDigit(bytes[index]) else { throw .init(.invalidNumber, at: start) }
            skipDigits()
        }
        return start..<index
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    private mutating func skipDigits() {
        while index < end, isDigit(bytes[index]) { index += 1 }
    }
}

enum JSONKind: Sendable, Equatable, CustomStringConvertible {
    case object, array, string, number, bool, null

    var description: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}
