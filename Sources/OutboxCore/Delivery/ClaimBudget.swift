/// How many of a meter's next events one claim takes: at most `limit`, and
/// no more than keep their JSON array within `maxBytes`, but always the
/// first, however large (Zuora's 413 then dead-letters it alone). Every
/// claim obeys it, on both stores: new events, retries, and a lapsed claim
/// taken over. This is the only place the cut is written.
package struct ClaimBudget: Sendable, Equatable {
    package let limit: Int
    package let maxBytes: Int

    package init(limit: Int, maxBytes: Int) {
        self.limit = limit
        self.maxBytes = maxBytes
    }

    /// How many of the events, in order, fit (their sizes are the texts' bytes).
    package func count(ofSizes sizes: some Sequence<Int>) -> Int {
        var cut = start()
        for size in sizes where !cut.take(eventBytes: size) { break }
        return cut.taken
    }

    /// A cut made while the store reads events one at a time.
    package func start() -> Cut { Cut(budget: self) }

    package struct Cut: Sendable {
        let budget: ClaimBudget
        /// Events taken so far.
        package private(set) var taken = 0
        /// "[" and "]", less one comma.
        private var arrayBytes = 1
        /// An event did not fit: the claim ends there, in the log's order.
        private var complete = false

        init(budget: ClaimBudget) { self.budget = budget }

        /// Whether the next event, of `eventBytes`, still fits; if so it is
        /// counted as taken. Once one does not fit, the claim is complete.
        package mutating func take(eventBytes: Int) -> Bool {
            if complete || taken == budget.limit || (taken > 0 && arrayBytes + eventBytes + 1 > budget.maxBytes) {
                complete = true
                return false
            }
            arrayBytes += eventBytes + 1
            taken += 1
            return true
        }
    }
}
