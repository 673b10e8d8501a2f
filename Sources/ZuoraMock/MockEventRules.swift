import Foundation

/// How the mock judges each event, on its own, as a meter's event
/// definition would: Foundation's JSON parser, then Zuora's documented
/// fields (all required: `CustomerId` and `UsageIdentifier` strings,
/// `UsageDate` a date-time in a format Mediation parses, `Quantity` a
/// number), then business rules a meter could add (no negative quantity, no
/// rejected customer). It shares no code with the producer's validator, so
/// a bug there cannot pass both sides. Like Zuora's, its 400 does not say
/// which event of the array was at fault.
enum MockEventRules {
    static func problem(_ value: Any, rejectCustomerPrefix: String) -> String? {
        guard let event = value as? [String: Any] else { return "each event must be a JSON object" }
        for field in ["CustomerId", "UsageIdentifier"] {
            guard let text = event[field] as? String, !isBoolean(event[field]) else { return "\(field) is required and must be a string" }
            if text.isEmpty { return "\(field) must not be empty" }
        }
        guard let date = event["UsageDate"] as? String else { return "UsageDate is required and must be a date-time string" }
        if !MockDateTime.isValid(date) { return "UsageDate \(date) is not a date-time Mediation parses" }
        guard let quantity = event["Quantity"] as? NSNumber, !isBoolean(quantity) else { return "Quantity is required and must be a number" }
        if !quantity.doubleValue.isFinite { return "Quantity must be finite" }
        if quantity.doubleValue < 0 { return "Quantity must not be negative" }
        if !rejectCustomerPrefix.isEmpty, let customer = event["CustomerId"] as? String, customer.hasPrefix(rejectCustomerPrefix) {
            return "CustomerId does not match an active account"
        }
        return nil
    }

    /// Foundation's parser gives JSON booleans as NSNumbers of type "c".
    static func isBoolean(_ value: Any?) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }
}

/// The date-time forms Mediation parses (`yyyy-MM-dd'T'HH:mm:ss`, with
/// optional fractional seconds and an optional `Z` or UTC offset), on a
/// real calendar day.
enum MockDateTime {
    static func isValid(_ text: String) -> Bool {
        let characters = Array(text.utf8)
        guard characters.count >= 19, characters[4] == UInt8(ascii: "-"), characters[7] == UInt8(ascii: "-"),
            characters[10] == UInt8(ascii: "T"), characters[13] == UInt8(ascii: ":"), characters[16] == UInt8(ascii: ":")
        else { return false }
        func number(_ range: Range<Int>) -> Int? {
            guard characters[range].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            return Int(String(decoding: characters[range], as: UTF8.self))
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), hour < 24, minute < 60, second < 60
        else { return false }
        var components = DateComponents(calendar: Calendar(identifier: .gregorian), timeZone: TimeZone(identifier: "UTC"), year: year, month: month)
        components.day = 1
        guard let first = components.date, let days = Calendar(identifier: .gregorian).range(of: .day, in: .month, for: first),
            days.contains(day)
        else { return false }
        var rest = characters[19...]
        if rest.first == UInt8(ascii: ".") {
            let digits = rest.dropFirst().prefix { $0 >= 48 && $0 <= 57 }
            guard !digits.isEmpty else { return false }
            rest = rest.dropFirst(1 + digits.count)
        }
        if rest.isEmpty || Array(rest) == [UInt8(ascii: "Z")] { return true }
        // An offset: +HH:MM, -HH:MM or +HHMM.
        let offset = Array(rest)
        guard offset.first == UInt8(ascii: "+") || offset.first == UInt8(ascii: "-") else { return false }
        let digits = offset.dropFirst().filter { $0 != UInt8(ascii: ":") }
        guard digits.count == 4, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }), offset.count == 5 || (offset.count == 6 && offset[3] == UInt8(ascii: ":")) else {
            return false
        }
        let hours = Int(String(decoding: digits.prefix(2), as: UTF8.self)) ?? 99
        let minutes = Int(String(decoding: digits.suffix(2), as: UTF8.self)) ?? 99
        return hours < 24 && minutes < 60
    }
}
