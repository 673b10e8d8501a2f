/// Finds a top-level `"success"` in a JSON body fed in chunks, however large
/// the body, in constant memory. It tracks only what it needs: nesting,
/// strings and escapes, the keys of the top-level object and the first byte
/// of each of their values. It checks that brackets balance and strings
/// close; it is not a full JSON validator.
///
/// ```swift
/// var scanner = SuccessScanner()
/// for chunk in body { scanner.feed(chunk) }
/// let finding = scanner.finish()
/// ```
struct SuccessScanner: Sendable {
    private enum Expect {
        /// Before the document: whitespace, then `{` (or another JSON value).
        case document
        /// Inside the top-level object, before a key or `}`.
        case key
        /// After a top-level key, before `:`.
        case colon
        /// After `:`, before the value's first byte.
        case value
        /// Inside a value, or after it, before `,` or `}`.
        case rest
        /// The document ended; only whitespace may follow.
        case end
    }

    private static let successKey = Array("success".utf8)

    private var expect = Expect.document
    private var depth = 0
    private var inString = false
    private var escaped = false
    /// The top-level key being read, when it may still be "success".
    private var key: [UInt8] = []
    private var keyMayMatch = false
    private var valueIsSuccess = false
    private var sawFalse = false
    private var sawAnything = false
    /// Whether the document is an object (an array's commas separate values, not keys).
    private var topLevelIsObject = false
    private var broken: String?

    init() {}

    mutating func feed<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        guard broken == nil else { return }
        for byte in bytes {
            step(byte)
            if broken != nil { return }
        }
    }

    /// The verdict once the whole body was fed.
    func finish() -> SuccessFinding {
        if let broken { return .unreadable(broken) }
        if !sawAnything { return .notFalse }
        guard expect == .end else { return .unreadable("the body ends before its JSON does") }
        return sawFalse ? .explicitlyFalse : .notFalse
    }

    private mutating func step(_ byte: UInt8) {
        let isSpace = byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
        if !isSpace { sawAnything = true }
        if inString {
            readString(byte)
            return
        }
        switch expect {
        case .document:
            if isSpace { return }
            if byte == UInt8(ascii: "{") {
                depth = 1
                topLevelIsObject = true
                expect = .key
            } else if byte == UInt8(ascii: "[") {
                // Valid JSON without a top-level `success`: balance it to the end.
                depth = 1
                expect = .rest
            } else if byte == UInt8(ascii: "\"") {
                inString = true
                expect = .rest
            } else {
                broken = "the body is not a JSON object (it starts with byte 0x\(String(byte, radix: 16)))"
            }
        case .key:
            if isSpace { return }
            if byte == UInt8(ascii: "\"") {
                inString = true
                key.removeAll(keepingCapacity: true)
                keyMayMatch = true
            } else if byte == UInt8(ascii: "}") {
                closeTopLevel()
            } else {
                broken = "the body's JSON object has a key that is not a string"
            }
        case .colon:
            if isSpace { return }
            if byte == UInt8(ascii: ":") {
                expect = .value
            } else {
                broken = "the body's JSON object lacks a ':' after a key"
            }
        case .value:
            if isSpace { return }
            if valueIsSuccess && byte == UInt8(ascii: "f") { sawFalse = true }
            valueIsSuccess = false
            expect = .rest
            readValueByte(byte)
        case .rest:
            readValueByte(byte)
        case .end:
            if !isSpace { broken = "the body has more after its JSON" }
        }
    }

    /// A byte inside or after a value (nesting, strings, separators).
    private mutating func readValueByte(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""):
            inString = true
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth -= 1
            if depth == 0 {
                expect = .end
            } else if depth < 0 {
                broken = "the body's brackets do not balance"
            }
        case UInt8(ascii: ","):
            if depth == 1 && topLevelIsObject { expect = .key }
        default:
            break
        }
    }

    private mutating func closeTopLevel() {
        depth = 0
        expect = .end
    }

    private mutating func readString(_ byte: UInt8) {
        if escaped {
            escaped = false
            keyMayMatch = false  // an escaped key is never taken for "success"
            return
        }
        if byte == UInt8(ascii: "\\") {
            escaped = true
            return
        }
        if byte == UInt8(ascii: "\"") {
            inString = false
            if expect == .key {
                valueIsSuccess = keyMayMatch && key == SuccessScanner.successKey
                expect = .colon
            } else if expect == .rest && depth == 0 {
                expect = .end
            }
            return
        }
        if expect == .key && keyMayMatch {
            if key.count < SuccessScanner.successKey.count {
                key.append(byte)
            } else {
                keyMayMatch = false
            }
        }
    }
}
