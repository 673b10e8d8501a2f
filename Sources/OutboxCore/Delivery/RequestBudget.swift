/// The request budgets every dispatcher of one outbox shares (Zuora's
/// limits are the tenant's, not a process's): at most `limit` requests in
/// any window of `seconds`, per window, and at most `maxConcurrent` in
/// flight at once. Stores keep the record (`DispatchStore.admitRequest`);
/// what it means is decided here, without I/O.
package struct RequestBudget: Sendable, Equatable {
    package struct Window: Sendable, Equatable {
        package let limit: Int
        package let seconds: Int64

        package init(limit: Int, seconds: Int64) {
            self.limit = limit
            self.seconds = seconds
        }

        /// How the budget is named to people: `per-minute`, `per-hour`, `per-day`.
        package var name: String {
            switch seconds {
            case 60: "per-minute"
            case 3600: "per-hour"
            case 86_400: "per-day"
            default: "per-\(seconds)s"
            }
        }
    }

    /// The longest window a store must remember requests for, whatever
    /// the windows of the dispatcher that writes: another dispatcher of the
    /// same outbox may count a day.
    package static let longestWindowSeconds: Int64 = 86_400
    /// The name of the in-flight cap, as `Admission.wait` reports it.
    package static let concurrencyBudget = "concurrency"
    /// How often a request held by the concurrency cap looks again.
    package static let concurrencyPollMilliseconds: Int64 = 50

    package var windows: [Window]
    package var maxConcurrent: Int?

    package init(windows: [Window] = [], maxConcurrent: Int? = nil) {
        self.windows = windows.filter { $0.limit > 0 && $0.seconds > 0 && $0.seconds <= Self.longestWindowSeconds }
        self.maxConcurrent = maxConcurrent
    }

    package var isUnlimited: Bool { windows.isEmpty && maxConcurrent == nil }

    /// What a store answers when asked for one more request.
    package enum Admission: Sendable, Equatable {
        case admitted
        /// Not now: `budget` (a window's name, or `concurrency`) allows the
        /// next request in `milliseconds`.
        case wait(milliseconds: Int64, budget: String)
    }

    /// What the store read: for each window (in order), when the request
    /// `limit` places back was sent (nil: there were fewer, or it is older
    /// than any window); and how many requests are in flight now.
    package struct Record: Sendable, Equatable {
        package var limitBack: [Int64?]
        package var inFlight: Int

        package init(limitBack: [Int64?], inFlight: Int) {
            self.limitBack = limitBack
            self.inFlight = inFlight
        }
    }

    /// Whether one more request may go at `now` (ms): every window holds
    /// fewer than `limit` requests since `now - seconds`, and a slot is free.
    /// The longest wait among the full windows is the one reported.
    package func decide(now: Int64, record: Record) -> Admission {
        var longest: (milliseconds: Int64, budget: String)?
        for (window, sentAt) in zip(windows, record.limitBack) {
            guard let sentAt else { continue }
            // A time from the future was written before the clock stepped
            // back: read it as now, so no wait outlasts its window.
            let frees = min(sentAt, now) + window.seconds * 1000
            if frees > now, (longest?.milliseconds ?? 0) < frees - now {
                longest = (frees - now, window.name)
            }
        }
        if let longest { return .wait(milliseconds: longest.milliseconds, budget: longest.budget) }
        if let maxConcurrent, record.inFlight >= maxConcurrent {
            return .wait(milliseconds: Self.concurrencyPollMilliseconds, budget: Self.concurrencyBudget)
        }
        return .admitted
    }
}
