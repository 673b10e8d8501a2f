import Synchronization

/// UUIDv7 event ids for stores other than the SQLite one (the PostgreSQL
/// store). Thread safe.
package final class EventIDGenerator: Sendable {
    private let generator = Mutex(UUIDv7Generator())

    package init() {}

    package func next(at unixMilliseconds: Int64 = WallClock.nowMilliseconds()) -> EventID {
        generator.withLock { generator in
            withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { buffer in
                let bits = generator.next(millisecond: UInt64(max(0, unixMilliseconds)), into: buffer)
                return EventID(high: bits.0, low: bits.1)
            }
        }
    }
}
