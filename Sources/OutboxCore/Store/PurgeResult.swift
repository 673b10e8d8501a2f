/// Retention: delivered events are kept until purged, so `status` and
/// `verify` can account for them; purging deletes them and gives the space
/// back to the file system.
public struct PurgeResult: Sendable, Equatable {
    public var purged: Int
    /// How much the database file shrank.
    public var bytesFreed: Int64
    /// How many transactions the purge took (`Purging.batch` events each).
    public var batches: Int

    public init(purged: Int, bytesFreed: Int64, batches: Int = 1) {
        self.purged = purged
        self.bytesFreed = bytesFreed
        self.batches = batches
    }
}
