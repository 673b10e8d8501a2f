/// The date-time format the contract accepts for `UsageDate`:
/// `YYYY-MM-DDTHH:MM:SS`, optional fractional seconds, then `Z`, a `+HH:MM` /
/// `-HH:MM` offset, or nothing. These are the forms Mediation parses
/// (`yyyy-MM-dd'T'HH:mm:ss[.SSS][Z]`). The calendar is checked too: Feb 30,
/// hour 24 and minute 60 are invalid.
enum UsageDateFormat {
    /// Returns nil when `text` is a valid date-time, else why it is not.
    static func problem(in text: UnsafeBufferPointer<UInt8>) -> String? {
        let count = text.count
        if count == 10, text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-") {
            return "needs a time: write it like 2024-05-01T12:00:00Z (a date alone is not accepted)"
        }
        guard count >= 19 else { return "is not a date-time like 2024-05-01T12:00:00Z" }
        func digits(_ at: Int, _ length: Int) -> Int? {
            var value = 0
            for i in at..<(at + length) {
                let digit = text[i] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int(digit)
            }
            return value
        }
        guard let year = digits(0, 4), text[4] == UInt8(ascii: "-"),
            let month = digits(5, 2), text[7] == UInt8(ascii: "-"),
            let day = digits(8, 2)
        else { return "is not a date-time like 2024-05-01T12:00:00Z" }
        guard text[10] == UInt8(ascii: "T") else {
            return "needs a time: write it like 2024-05-01T12:00:00Z (a date alone is not accepted)"
        }
        guard let hour = digits(11, 2), text[13] == UInt8(ascii: ":"),
            let minute = digits(14, 2), text[16] == UInt8(ascii: ":"),
            let second = digits(17, 2)
        else { return "has a malformed time; write it like 2024-05-01T12:00:00Z" }
        guard (1...12).contains(month) else { return "has month \(month), which does not exist" }
        guard day >= 1 && day <= daysIn(month: month, year: year) else {
            return "names a day that does not exist (\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)))"
        }
        guard hour < 24, minute < 60, second < 60 else { return "has a time of day out of range" }

        var index = 19
        if index < count, text[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < count, text[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            guard index > fractionStart else { return "has a '.' without fractional digits" }
        }
        if index == count { return nil }  // no offset: local time as given
        switch text[index] {
        case UInt8(ascii: "Z"):
            return index + 1 == count ? nil : "has text after its 'Z'"
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard count - index == 6, let offsetHours = digits(index + 1, 2),
                text[index + 3] == UInt8(ascii: ":"), let offsetMinutes = digits(index + 4, 2),
                offsetHours < 24, offsetMinutes < 60
            else { return "has a malformed UTC offset; write it like +02:00" }
            return nil
        default:
            return "has unexpected text after the time; end it with Z, an offset like +02:00, or nothing"
        }
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
