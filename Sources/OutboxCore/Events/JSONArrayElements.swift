/// Splits a JSON array into the raw text of its elements, validating the
/// whole. Used by the Zuora mock to record events exactly as received.
package enum JSONArrayElements {
    /// The byte range of each element, or nil when `bytes` is not a valid
    /// JSON array (a lone object counts as an array of one).
    package static func ranges(in bytes: [UInt8]) -> [Range<Int>]? {
        bytes.withUnsafeBufferPointer { buffer -> [Range<Int>]? in
            var scanner = JSONScanner(buffer)
            scanner.skipWhitespace()
            var ranges: [Range<Int>] = []
            do {
                if scanner.current == UInt8(ascii: "{") {
                    let start = scanner.index
                    try scanner.skipValue()
                    ranges.append(start..<scanner.index)
                } else {
                    try scanner.expect(UInt8(ascii: "["), "'['")
                    scanner.skipWhitespace()
                    if scanner.current == UInt8(ascii: "]") {
                        scanner.index += 1
                    } else {
                        while true {
                            scanner.skipWhitespace()
                            let start = scanner.index
                            try scanner.skipValue(depth: 1)
                            ranges.append(start..<scanner.index)
                            scanner.skipWhitespace()
                            guard let byte = scanner.current else { return nil }
                            scanner.index += 1
                            if byte == UInt8(ascii: "]") { break }
                            guard byte == UInt8(ascii: ",") else { return nil }
                        }
                    }
                }
                scanner.skipWhitespace()
                return scanner.isAtEnd ? ranges : nil
            } catch {
                return nil
            }
        }
    }
}
