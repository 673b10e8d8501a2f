/// The fencing token of one claim. Every claim gets a new one, and every
/// write that acts on the claim (renew, settle, release) changes a row only
/// while the row still carries this token. Once a lease lapses and another
/// dispatcher claims the rows, they carry that dispatcher's token, and the
/// first one's late writes change nothing.
///
/// The text is `<owner>/<128 random bits in hex>`: the owner part says which
/// dispatcher (process) holds the rows, for an operator reading the table;
/// the random part makes each claim's token its own.
package struct ClaimToken: Hashable, Sendable, CustomStringConvertible {
    package let value: String

    package init(value: String) {
        self.value = value
    }

    /// A new token for a claim made by `owner`.
    package static func make(owner: String) -> ClaimToken {
        var generator = SystemRandomNumberGenerator()
        let high = UInt64.random(in: .min ... .max, using: &generator)
        let low = UInt64.random(in: .min ... .max, using: &generator)
        return ClaimToken(value: "\(owner.prefix(100))/\(hex(high))\(hex(low))")
    }

    package var description: String { value }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
