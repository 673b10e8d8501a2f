import ArgumentParser
import Foundation

/// A duration written like `90s`, `15m`, `12h` or `7d`: the unit is
/// required.
struct DurationArgument: ExpressibleByArgument, Sendable, CustomStringConvertible {
    let seconds: Double
    let text: String

    init(seconds: Double) {
        self.seconds = seconds
        self.text = "\(Int(seconds))s"
    }

    init?(argument: String) {
        guard let parsed = DurationArgument.parse(argument) else { return nil }
        seconds = parsed
        text = argument
    }

    /// The longest duration any setting takes: ten years. Anything longer
    /// is a typo, and refusing it keeps every conversion (to milliseconds, to
    /// nanoseconds) far from overflow.
    static let longestSeconds: Double = 10 * 366 * 86_400

    static func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let last = trimmed.last, trimmed.utf8.count <= 32 else { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        // A bare number is refused: `--sent-older-than 7` read as seven
        // seconds would purge nearly everything.
        guard let multiplier = units[last] else { return nil }
        let number = trimmed.dropLast()
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        let seconds = value * multiplier
        return seconds <= longestSeconds ? seconds : nil
    }

    /// Seconds in the largest whole unit: `90s`, `15m`, `12h`, `7d`, `0.5s`.
    static func format(_ seconds: Double) -> String {
        for (unit, size) in [("d", 86_400.0), ("h", 3600.0), ("m", 60.0)] where seconds >= size && (seconds / size).rounded() == seconds / size {
            return "\(Int(seconds / size))\(unit)"
        }
        return seconds.rounded() == seconds ? "\(Int(seconds))s" : "\(seconds)s"
    }

    var description: String { text }
    static var defaultCompletionKind: CompletionKind { .default }
}
