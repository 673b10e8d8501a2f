/// Deleting delivered events a chunk at a time, for every store: each chunk
/// is its own short transaction, so a big purge never holds writers back
/// for long.
public enum Purging {
    /// Rows deleted per transaction.
    public static let chunk = 10_000

    /// Calls `deleteChunk` (which deletes at most `chunk` rows and says how
    /// many) until a chunk comes back short; returns the total.
    public static func inChunks(_ deleteChunk: (_ limit: Int) async throws -> Int) async throws -> Int {
        var total = 0
        while true {
            let deleted = try await deleteChunk(chunk)
            total += deleted
            if deleted < chunk { return total }
        }
    }
}
