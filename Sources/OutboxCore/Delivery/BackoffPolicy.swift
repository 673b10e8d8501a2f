/// Exponential backoff with full jitter, as Zuora recommends:
/// `delay = random(0, min(cap, base * 2^attempt))`.
public struct BackoffPolicy: Sendable, Equatable {
    /// The ceiling for the first retry; doubles with every attempt.
    public var base: Duration
    /// No delay exceeds this.
    public var cap: Duration

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(300)) {
        self.base = base
        self.cap = cap
    }

    /// The largest delay the `attempt`-th retry may draw (attempt counts from 1).
    public func ceiling(attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 62)
        // Doubled in floating point first: `base * 2^62` would overflow.
        return base.seconds * pow2(exponent) < cap.seconds ? base * (1 << exponent) : cap
    }

    /// A delay for the `attempt`-th retry, drawn with `generator`.
    public func delay<G: RandomNumberGenerator>(attempt: Int, using generator: inout G) -> Duration {
        let ceiling = ceiling(attempt: attempt).seconds
        guard ceiling > 0 else { return .zero }
        return .seconds(Double.random(in: 0...ceiling, using: &generator))
    }

    public func delay(attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &generator)
    }

    private func pow2(_ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<exponent { result *= 2 }
        return result
    }
}
