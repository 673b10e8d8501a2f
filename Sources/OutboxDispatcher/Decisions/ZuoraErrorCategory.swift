import Foundation

/// Zuora's eight-digit error codes end in a two-digit category. Four of them
/// say nothing about the events (50 lock competition, 60 internal error, 61
/// temporary error, 70 request exceeded a limit): Zuora's own client
/// libraries retry those, so an answer whose every code is one of them is a
/// retry, never a rejection, whatever its status. Pure.
enum ZuoraErrorCategory {
    /// What an answer's codes say.
    enum Verdict: Equatable, Sendable {
        /// Every code is 50, 60 or 61: retry like a 5xx.
        case retryLater
        /// Every code is 50, 60, 61 or 70, and one is 70: wait like a 429.
        case limitExceeded
        /// No codes, or one that may be the events' fault.
        case mayBeTheEvents
    }

    static let retryLaterCategories: Set<Substring> = ["50", "60", "61"]
    static let limitCategory: Substring = "70"

    static func verdict(codes: [String?]) -> Verdict {
        guard !codes.isEmpty else { return .mayBeTheEvents }
        var limit = false
        for code in codes {
            // A reason without a readable eight-digit code may be the events'.
            guard let code, code.utf8.count == 8, code.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return .mayBeTheEvents }
            let category = code.suffix(2)
            if category == limitCategory {
                limit = true
            } else if !retryLaterCategories.contains(category) {
                return .mayBeTheEvents
            }
        }
        return limit ? .limitExceeded : .retryLater
    }

    /// The `reasons[].code` values of Zuora's error shape
    /// (`{"success": false, "reasons": [{"code": 58730050, ...}]}`), numbers
    /// or text, one per reason (nil for a reason without a readable code);
    /// none when the body is not that shape (or was cut short).
    static func codes(in body: [UInt8]) -> [String?] {
        guard !body.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let reasons = object["reasons"] as? [Any]
        else { return [] }
        return reasons.map { reason -> String? in
            switch (reason as? [String: Any])?["code"] {
            case let text as String: text
            case let number as Int: String(number)
            case let number as Double: Int64(exactly: number).map { String($0) }
            default: nil
            }
        }
    }

    static func verdict(body: [UInt8]) -> Verdict { verdict(codes: codes(in: body)) }
}
