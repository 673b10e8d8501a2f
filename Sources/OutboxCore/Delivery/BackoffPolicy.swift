/// Exponential backoff with full jitter, as Zuora recommends:
/// `delay = random(0, min(cap, base * 2^attempt))`.
public struct BackoffPolicy: Sendable, Equatable {
    /// The ceiling for the first retry; doubles with every attempt.
    public var baseSeconds: Double
    /// No delay exceeds this.
    public var capSeconds: Double

    public init(baseSeconds: Double = 1, capSeconds: Double = 300) {
        self.baseSeconds = baseSeconds
        self.capSeconds = capSeconds
    }

    /// The largest delay the `attempt`-th retry may draw (attempt counts from 1).
    public func ceiling(attempt: Int) -> Double {
        let exponent = Double(min(max(attempt - 1, 0), 62))
        return min(capSeconds, baseSeconds * pow2(exponent))
    }

    /// A delay for the `attempt`-th retry, drawn with `generator`.
    public func delay<G: RandomNumberGenerator>(attempt: Int, using generator: inout G) -> Double {
        let ceiling = ceiling(attempt: attempt)
        guard ceiling > 0 else { return 0 }
        return Double.random(in: 0...ceiling, using: &generator)
    }

    public func delay(attempt: Int) -> Double {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &generator)
    }

    private func pow2(_ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) { result *= 2 }
        return result
    }
}
