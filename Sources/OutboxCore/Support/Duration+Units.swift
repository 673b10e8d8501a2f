/// A `Duration` in the units the stores and clients speak: stored instants
/// are unix milliseconds, HTTP timeouts nanoseconds, wait arithmetic and
/// messages seconds. One place for the conversion, saturating so that no
/// duration can trap (settings are checked to be sane long before).
extension Duration {
    /// Whole milliseconds, rounded toward zero.
    package var milliseconds: Int64 { whole(per: 1000) }

    /// Whole nanoseconds, rounded toward zero.
    package var nanoseconds: Int64 { whole(per: 1_000_000_000) }

    /// Seconds, as a floating-point number.
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    private func whole(per second: Int64) -> Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: second)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, sumOverflow) = product.addingReportingOverflow(attoseconds / (1_000_000_000_000_000_000 / second))
        return sumOverflow ? (seconds < 0 ? .min : .max) : sum
    }
}
