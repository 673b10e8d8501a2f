/// Why some bytes are not valid JSON, and where (a byte offset).
struct JSONSyntaxError: Error, Equatable {
    enum Reason: Equatable {
        case unexpectedEnd(expected: String)
        case unexpectedByte(UInt8, expected: String)
        case invalidLiteral
        case invalidNumber
        case nonFiniteNumber
        case unterminatedString
        case controlCharacterInString
        case invalidEscape
        case loneSurrogate
        case invalidUTF8
        case trailingComma
        case tooDeep
    }

    let reason: Reason
    let offset: Int

    init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    var message: String {
        switch reason {
        case .unexpectedEnd(let expected): "truncated JSON: expected \(expected) but the input ended"
        case .unexpectedByte(let byte, let expected): "invalid JSON: expected \(expected), found \(JSONSyntaxError.describe(byte))"
        case .invalidLiteral: "invalid JSON: expected a value, found a bare word (only true, false and null are allowed)"
        case .invalidNumber: "invalid JSON number"
        case .nonFiniteNumber: "NaN and Infinity are not JSON numbers"
        case .unterminatedString: "truncated JSON: a string is not closed"
        case .controlCharacterInString: "invalid JSON: a raw control character inside a string (escape it)"
        case .invalidEscape: "invalid JSON: bad escape sequence in a string"
        case .loneSurrogate: "invalid JSON: a \\u escape holds a lone UTF-16 surrogate"
        case .invalidUTF8: "the input is not valid UTF-8"
        case .trailingComma: "invalid JSON: trailing comma"
        case .tooDeep: "invalid JSON: nested deeper than \(JSONScanner.maxDepth) levels"
        }
    }

    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        switch byte {
        case 0x0A: return "a line break"
        case 0x20: return "a space"
        default: return "byte 0x" + String(byte, radix: 16, uppercase: true)
        }
    }
}
