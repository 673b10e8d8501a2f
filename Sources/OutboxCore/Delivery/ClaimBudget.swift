/// How many of a meter's next events one claim takes: at most `limit`, and
/// no more than keep their JSON array within `maxBytes`, but always the
/// first, however large (Zuora's 413 then dead-letters it alone). Every
/// claim obeys it: new events, retries, and a lapsed claim taken over.
package struct ClaimBudget: Sendable, Equatable {
    package let limit: Int
    package let maxBytes: Int

    package init(limit: Int, maxBytes: Int) {
        self.limit = limit
        self.maxBytes = maxBytes
    }

    /// How many of the events, in order, fit (their sizes are the texts' bytes).
    package func count(ofSizes sizes: some Sequence<Int>) -> Int {
        var taken = 0
        var arrayBytes = 1  // "[" and "]", less one comma
        for size in sizes {
            if taken == limit { break }
            if taken > 0 && arrayBytes + size + 1 > maxBytes { break }
            arrayBytes += size + 1
            taken += 1
        }
        return taken
    }
}
