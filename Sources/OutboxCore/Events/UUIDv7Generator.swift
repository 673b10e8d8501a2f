/// Generates RFC 9562 version 7 UUIDs: a 48-bit Unix millisecond timestamp,
/// then 74 bits that start random each millisecond and count up within it, so
/// ids from one generator sort in creation order and never repeat. The random
/// start (73 bits, reseeded every millisecond) keeps ids from different
/// processes apart.
package struct UUIDv7Generator {
    private var lastMillisecond: UInt64 = 0
    private var high: UInt16 = 0  // rand_a: 12 bits
    private var low: UInt64 = 0  // rand_b: 62 bits
    private var random = SystemRandomNumberGenerator()

    package init() {}

    /// Writes the next id's 36-character text form into `output`, and
    /// returns its 128 bits.
    @discardableResult
    package mutating func next(millisecond now: UInt64, into output: UnsafeMutableRawBufferPointer) -> (UInt64, UInt64) {
        if now > lastMillisecond {
            lastMillisecond = now
            high = UInt16.random(in: 0...0x7FF, using: &random)  // top bit clear: room to count
            low = UInt64.random(in: 0...((1 << 62) - 1), using: &random)
        } else {
            // Same millisecond (or the clock stepped back): count up.
            low += 1
            if low == (1 << 62) {
                low = 0
                high += 1
                if high > 0xFFF {  // exhausted: borrow the next millisecond
                    lastMillisecond += 1
                    high = 0
                }
            }
        }
        let timestamp = lastMillisecond & 0xFFFF_FFFF_FFFF
        let mostSignificant = timestamp << 16 | 0x7000 | UInt64(high & 0xFFF)
        let leastSignificant = 0x8000_0000_0000_0000 | low
        UUIDv7Generator.format(mostSignificant, leastSignificant, into: output)
        return (mostSignificant, leastSignificant)
    }

    package mutating func next(millisecond now: UInt64) -> String {
        withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { buffer in
            next(millisecond: now, into: buffer)
            return String(decoding: buffer, as: UTF8.self)
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    package static func format(_ high: UInt64, _ low: UInt64, into output: UnsafeMutableRawBufferPointer) {
        var position = 0
        func put(_ value: UInt64, nibbles: Int) {
            var shift = (nibbles - 1) * 4
            while shift >= 0 {
                output[position] = hexDigits[Int((value >> UInt64(shift)) & 0xF)]
                position += 1
                shift -= 4
            }
        }
        func dash() {
            output[position] = UInt8(ascii: "-")
            position += 1
        }
        put(high >> 32, nibbles: 8)
        dash()
        put((high >> 16) & 0xFFFF, nibbles: 4)
        dash()
        put(high & 0xFFFF, nibbles: 4)
        dash()
        put(low >> 48, nibbles: 4)
        dash()
        put(low & 0xFFFF_FFFF_FFFF, nibbles: 12)
    }
}
