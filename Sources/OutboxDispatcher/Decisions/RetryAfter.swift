/// Reads how long a 429 or 503 asks us to wait: `Retry-After` (delay-seconds
/// or an HTTP date), else `ratelimit-reset` (seconds). Pure: `now` is passed in.
enum RetryAfter {
    /// Longest wait honoured; a larger value is treated as this (a typo or a
    /// clock error on the server must not park the queue for days).
    static let maximumSeconds: Double = 3600

    /// Seconds to wait, or nil when the answer says nothing usable.
    static func seconds(retryAfter: String?, rateLimitReset: String?, nowUnixSeconds: Double) -> Double? {
        if let value = retryAfter?.trimmingWhitespace(), !value.isEmpty {
            if let seconds = Double(value), seconds.isFinite, seconds >= 0 {
                return min(seconds, maximumSeconds)
            }
            if let date = HTTPDate.parse(value) {
                return min(max(0, date - nowUnixSeconds), maximumSeconds)
            }
        }
        if let value = rateLimitReset?.trimmingWhitespace(), let seconds = Double(value), seconds.isFinite, seconds >= 0 {
            return min(seconds, maximumSeconds)
        }
        return nil
    }
}

/// IMF-fixdate, the HTTP date format (`Sun, 06 Nov 1994 08:49:37 GMT`).
enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Years a date from the network may name: anything else is not a
    /// date worth waiting for, and the arithmetic below stays far from
    /// overflow.
    static let years = 1970...9999

    /// Unix seconds, or nil if `text` is not an IMF-fixdate of a sane year.
    static func parse(_ text: String) -> Double? {
        guard text.utf8.count <= 64 else { return nil }
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
            let day = digits(parts[1], count: 1...2), let monthIndex = months.firstIndex(of: String(parts[2])),
            let year = digits(parts[3], count: 4...4), years.contains(year)
        else { return nil }
        let clock = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, let hour = digits(clock[0], count: 2...2), let minute = digits(clock[1], count: 2...2),
            let second = digits(clock[2], count: 2...2),
            (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let days = daysFromCivil(year: year, month: monthIndex + 1, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second)
    }

    /// A field of only ASCII digits, `count` of them: never a sign, so every
    /// value is small and non-negative (`Int("-99…")` would parse).
    static func digits(_ field: Substring, count: ClosedRange<Int>) -> Int? {
        guard count.contains(field.utf8.count), field.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int(field)
    }

    /// Howard Hinnant's civil-to-days algorithm.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
