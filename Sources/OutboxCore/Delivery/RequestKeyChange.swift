/// What a request's answer, or its absence, means for the idempotency keys
/// of the events a settlement writes rows for. The key of a request is
/// derived from what the store records (see `ClaimedEvent.keySeed` and
/// `ClaimedEvent.unansweredKey`), so any process re-sending the events
/// derives the same one.
package enum RequestKeyChange: Sendable, Equatable {
    /// No request left (a token failure, a release): the keys stay as
    /// they were.
    case unchanged
    /// Zuora answered, and Zuora keeps the first answer to a key: the
    /// events' next request needs a new key, derived from this seed.
    case answered(seed: Int64)
    /// The request left and no answer came (a timeout, a lost connection),
    /// or Zuora said the key's first request is still in progress (409):
    /// the events are re-sent together, under the same key.
    case unanswered(key: String)

    /// Zuora answered: a seed drawn at random, so no two answers share one.
    package static func answeredWithFreshSeed() -> RequestKeyChange {
        .answered(seed: Int64.random(in: .min ... .max))
    }
}
