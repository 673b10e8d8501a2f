/// What a settlement does to the events' idempotency key. The machine says
/// which; the shell draws a fresh seed (randomness stays out of the machine).
enum NextKey: Equatable {
    /// No answer counts as Zuora's (none came, a gateway's timeout, a 409,
    /// a 2xx that could not be read, nothing sent): the events go again
    /// together under this key.
    case keep(String)
    /// Zuora answered, and keeps its first answer to a key: a new key next time.
    case fresh
}
