/// Deleting delivered events a batch at a time, for every store: each batch
/// is its own short transaction, so a big purge never holds writers back
/// for long.
public enum Purging {
    /// About how many rows one batch deletes.
    public static let batch = 10_000

    /// Calls `deleteBatch` (which deletes about `batch` rows, and says how
    /// many and whether more are left) until nothing is left; returns the
    /// total.
    public static func inBatches(_ deleteBatch: (_ size: Int) async throws -> (deleted: Int, more: Bool)) async throws -> Int {
        var total = 0
        while true {
            let (deleted, more) = try await deleteBatch(batch)
            total += deleted
            if !more { return total }
        }
    }
}
