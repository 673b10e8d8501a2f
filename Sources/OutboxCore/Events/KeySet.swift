/// The keys of one object, for duplicate detection. Linear for the usual
/// handful of keys, hashed once an object has many, so a hostile object with
/// thousands of keys stays linear time overall. Reused across objects.
final class KeySet {
    /// Unescaped keys, as ranges of the input; escaped keys, decoded.
    private var raw: [Range<Int>] = []
    private var decoded: [[UInt8]] = []
    private var hashed: Set<[UInt8]>? = nil
    private static let hashThreshold = 24

    init() {
        raw.reserveCapacity(KeySet.hashThreshold)
    }

    func reset() {
        raw.removeAll(keepingCapacity: true)
        if !decoded.isEmpty { decoded.removeAll() }
        hashed = nil
    }

    /// Inserts `key` (whose text lies at `rawRange` of `bytes` when it had no
    /// escapes); returns false when it was already there.
    func insert(_ key: UnsafeBufferPointer<UInt8>, rawRange: Range<Int>?, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if hashed != nil {
            return hashed!.insert(Array(key)).inserted
        }
        for range in raw where ByteCompare.equal(UnsafeBufferPointer(rebasing: bytes[range]), key) { return false }
        for existing in decoded where existing.withUnsafeBufferPointer({ ByteCompare.equal($0, key) }) { return false }
        if let rawRange { raw.append(rawRange) } else { decoded.append(Array(key)) }
        if raw.count + decoded.count > KeySet.hashThreshold {
            var set = Set(decoded)
            for range in raw { set.insert(Array(bytes[range])) }
            hashed = set
        }
        return true
    }
}
