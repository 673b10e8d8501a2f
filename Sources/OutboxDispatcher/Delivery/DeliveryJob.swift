import OutboxCore

/// What one (sub-)batch came to. Bisection looks at it to skip a request
/// whose answer is already known.
enum BatchResult: Equatable {
    case accepted
    case rejected
    case other
}

/// A piece of work left for one claim, kept on `DeliveryMachine`'s stack.
/// Splitting a batch pushes its halves, so the sends happen in the order a
/// recursive walk would make them, one at a time.
enum DeliveryJob: Equatable {
    /// Send these events. `knownToHoldRejects`: a sibling half was accepted,
    /// so these hold what Zuora rejected; more than one is split unsent.
    case deliver([ClaimedEvent], knownToHoldRejects: Bool)
    /// The second half of a rejected batch: it holds the rejects for sure
    /// when the first half (the job just before it) was accepted.
    case secondHalf([ClaimedEvent])
    /// A split batch's halves are done: the batch itself came to this.
    case conclude(BatchResult)
}
