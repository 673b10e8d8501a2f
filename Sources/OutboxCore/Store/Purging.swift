/// Deleting delivered events a batch at a time, for every store: each batch
/// is its own short transaction, so a big purge never holds writers back
/// for long.
package enum Purging {
    /// About how many rows one batch deletes.
    package static let batch = 10_000
    /// The most settled ranges one batch takes.
    package static let rangesPerBatch = 200

    /// Calls `deleteBatch` (which deletes about `batch` rows, and says how
    /// many and whether more are left) until nothing is left; returns the
    /// total and how many batches it took.
    package static func inBatches(_ deleteBatch: (_ size: Int) async throws -> (deleted: Int, more: Bool)) async throws -> (purged: Int, batches: Int) {
        var total = 0
        var batches = 0
        while true {
            let (deleted, more) = try await deleteBatch(batch)
            total += deleted
            batches += 1
            if !more { return (total, batches) }
        }
    }

    /// Which of the oldest settled ranges one batch deletes: from the
    /// oldest, until about `size` events, at most `rangesPerBatch` ranges.
    /// `eventCounts` are the candidates' sizes, oldest first; the store reads
    /// one more than `rangesPerBatch`, so a candidate left over says that
    /// more are due without a second look.
    package static func rangesToDelete(eventCounts: [Int], about size: Int) -> (count: Int, more: Bool) {
        // A batch that may take nothing would say "more" forever.
        precondition(size > 0, "a retention batch deletes at least one event")
        var taken = 0
        var events = 0
        while taken < min(eventCounts.count, rangesPerBatch), events < size {
            events += eventCounts[taken]
            taken += 1
        }
        return (taken, taken < eventCounts.count)
    }
}
