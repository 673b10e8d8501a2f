import Foundation

/// The bad-input corpus: inputs to `outbox append`, each with its expected
/// outcome. Invalid inputs must exit 65 with a reason containing `reason`
/// and change nothing; valid ones must be appended and forwarded to Zuora
/// byte for byte (`events` lists the exact texts Zuora must receive).
enum BadInputCorpus {
    enum Expectation {
        case invalid(reason: String)
        case valid(events: [String])
    }

    struct Case {
        let name: String
        let input: Data
        let expectation: Expectation
    }

    static let good = #"{"CustomerId":"C-1","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
    static let head = #""CustomerId":"C-1","UsageIdentifier":"u""#

    /// An event with `UsageDate` set to `date`.
    static func dated(_ date: String) -> String {
        #"{"CustomerId":"C-1","UsageIdentifier":"u","UsageDate":"\#(date)","Quantity":1}"#
    }

    /// An event with `Quantity` written as `quantity`.
    static func quantity(_ quantity: String) -> String {
        #"{\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":\#(quantity)}"#
    }

    static func invalid(_ name: String, _ text: String, _ reason: String) -> Case {
        Case(name: name, input: Data(text.utf8), expectation: .invalid(reason: reason))
    }

    static func invalid(_ name: String, bytes: [UInt8], _ reason: String) -> Case {
        Case(name: name, input: Data(bytes), expectation: .invalid(reason: reason))
    }

    static func valid(_ name: String, _ text: String, events: [String]) -> Case {
        Case(name: name, input: Data(text.utf8), expectation: .valid(events: events))
    }

    static func withBadByte(_ bytes: [UInt8]) -> [UInt8] {
        Array(#"{"CustomerId":"C-"#.utf8) + bytes + Array(#"","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#.utf8)
    }

    static let cases: [Case] = {
        let tenMegabytes = String(repeating: "x", count: 10 << 20)
        let bigValid = #"{\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"blob":"\#(tenMegabytes)"}"#
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        let sqlish =
            #"{"CustomerId":"'; DROP TABLE outbox_events; --","UsageIdentifier":"u\" OR 1=1 --","UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"note":"Robert'); DELETE FROM outbox_meters;--"}"#
        let pretty = "{\n  \"CustomerId\": \"C-1\",\n  \"UsageIdentifier\": \"u\",\n  \"UsageDate\": \"2026-11-29T10:00:00Z\",\n  \"Quantity\": 2\n}"
        return [
            // Nothing to append.
            invalid("empty input", "", "holds no events"),
            invalid("only blank lines", "\n\n   \n\t\n", "holds no events"),
            invalid("empty array", "[]", "holds no events"),
            invalid("only a byte order mark", "\u{FEFF}", "holds no events"),
            // Not JSON, or not the right JSON.
            invalid("plain text", "hello world", "must be a JSON object"),
            invalid("XML", "<event quantity=\"1\"/>", "must be a JSON object"),
            invalid("a number", "42", "must be a JSON object"),
            invalid("null", "null", "must be a JSON object"),
            invalid("a string", "\"event\"", "must be a JSON object"),
            invalid("nested arrays", "[[\(good)]]", "expected a JSON object, found an array"),
            invalid("array of numbers", "[1, 2, 3]", "expected a JSON object, found a number"),
            invalid("empty object", "{}", "missing required field CustomerId"),
            invalid("truncated object", #"{"CustomerId":"C-1","UsageIdentifier""#, "truncated JSON"),
            invalid("truncated array", "[\(good), \(good)", "truncated JSON"),
            invalid("truncated string", #"{"CustomerId":"C-1"#, "truncated JSON"),
            invalid("trailing comma in object", #"{\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":1,}"#, "trailing comma"),
            invalid("trailing comma in array", "[\(good),]", "trailing comma"),
            invalid("single quotes", "{'CustomerId':'C-1'}", "expected a string key"),
            invalid("unquoted key", "{CustomerId:\"C-1\"}", "expected a string key"),
            invalid("a comment", "// usage\n\(good)", "must be a JSON object"),
            invalid("data after the array", "[\(good)] trailing", "unexpected data after the array"),
            invalid("two objects on one line", good + " " + good + "\n" + good, "one object per line"),
            invalid("a NUL byte", good.replacingOccurrences(of: "C-1", with: "C-\u{0}1"), "control character"),
            invalid("a raw tab in a string", good.replacingOccurrences(of: "C-1", with: "C-\t1"), "control character"),
            invalid("a bad escape", good.replacingOccurrences(of: "C-1", with: #"C-\x1"#), "bad escape"),
            invalid("a lone surrogate escape", good.replacingOccurrences(of: "C-1", with: #"C-\ud800"#), "lone UTF-16 surrogate"),
            invalid("nesting too deep", #"{\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"x":\#(deep)}"#, "nested deeper"),
            // Invalid UTF-8.
            invalid("invalid UTF-8 byte", bytes: withBadByte([0xFF]), "not valid UTF-8"),
            invalid("overlong UTF-8", bytes: withBadByte([0xC0, 0xAF]), "not valid UTF-8"),
            invalid("UTF-8 encoded surrogate", bytes: withBadByte([0xED, 0xA0, 0x80]), "not valid UTF-8"),
            invalid("truncated UTF-8 sequence", bytes: withBadByte([0xE2, 0x82]), "not valid UTF-8"),
            invalid("code point above U+10FFFF", bytes: withBadByte([0xF4, 0x90, 0x80, 0x80]), "not valid UTF-8"),
            // Required fields.
            invalid("missing CustomerId", #"{"UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#, "missing required field CustomerId"),
            invalid(
                "missing UsageIdentifier", #"{"CustomerId":"c","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#, "missing required field UsageIdentifier"),
            invalid("missing Quantity", #"{\#(head),"UsageDate":"2026-11-29T10:00:00Z"}"#, "missing required field Quantity"),
            invalid("null CustomerId", #"{"CustomerId":null,"UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#, "found null"),
            invalid("numeric CustomerId", #"{"CustomerId":1001,"UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#, "found a number"),
            invalid("empty CustomerId", #"{"CustomerId":"","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#, "must not be empty"),
            invalid("empty UsageIdentifier", #"{"CustomerId":"c","UsageIdentifier":"","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#, "must not be empty"),
            invalid("duplicate key", #"{\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"Quantity":2}"#, "duplicate key \"Quantity\""),
            invalid(
                "duplicate key through an escape", #"{\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"\u0051uantity":2}"#,
                "duplicate key \"Quantity\""),
            // Quantity.
            invalid("string quantity", quantity(#""5""#), "Quantity must be a number, found a string"),
            invalid("boolean quantity", quantity("true"), "found a boolean"),
            invalid("null quantity", quantity("null"), "found null"),
            invalid("NaN", quantity("NaN"), "NaN and Infinity"),
            invalid("Infinity", quantity("Infinity"), "NaN and Infinity"),
            invalid("-Infinity", quantity("-Infinity"), "NaN and Infinity"),
            invalid("huge number", quantity("1e999"), "too large"),
            invalid("leading zero", quantity("01"), "invalid JSON number"),
            invalid("leading plus", quantity("+1"), "expected a value"),
            invalid("bare fraction", quantity(".5"), "expected a value"),
            invalid("hex number", quantity("0x10"), "expected ',' or '}'"),
            // UsageDate.
            invalid("a date alone", dated("2026-11-29"), "a date alone is not accepted"),
            invalid("February 30", dated("2026-02-30T10:00:00Z"), "does not exist"),
            invalid("February 29 in a common year", dated("2025-02-29T10:00:00Z"), "does not exist"),
            invalid("hour 24", dated("2026-11-29T24:00:00Z"), "out of range"),
            invalid("a space for the T", dated("2026-11-29 10:00:00Z"), "needs a time"),
            invalid("an offset without a colon", dated("2026-11-29T10:00:00+0200"), "malformed UTC offset"),
            invalid("month 13", dated("2026-13-01T10:00:00Z"), "month 13"),
            invalid("a Unix timestamp", #"{\#(head),"UsageDate":1764410400,"Quantity":1}"#, "UsageDate must be a date-time string"),
            invalid("words for a date", dated("yesterday"), "is not a date-time"),
            // All or nothing.
            invalid("one bad line among good ones", [good, good, quantity(#""x""#), good].joined(separator: "\n"), "line 3:"),
            invalid("a BOM before a bad event", "\u{FEFF}" + quantity("NaN"), "NaN and Infinity"),
            invalid(
                "a ten-megabyte line, unterminated", #"{\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"blob":"\#(tenMegabytes)"#,
                "must fit in one request"),
            // Larger than any request may be (1 MiB by default, 4 MiB at
            // most): refused at append, never dead-lettered later.
            invalid("a ten-megabyte line", bigValid + "\n" + good, "line 1: the line is"),

            // Valid inputs: appended, and forwarded exactly as given.
            valid("a byte order mark", "\u{FEFF}" + good + "\n" + good, events: [good, good]),
            valid("CRLF line endings", good + "\r\n" + good + "\r\n", events: [good, good]),
            valid("blank lines between events", "\n" + good + "\n\n   \n" + good + "\n", events: [good, good]),
            valid("a pretty-printed object", pretty + "\n", events: [pretty]),
            valid("an array across lines", "[\n  \(good),\n  \(good)\n]\n", events: [good, good]),
            valid("SQL-looking strings", sqlish, events: [sqlish]),
            valid(
                "unicode", #"{"CustomerId":"客户-ü-😀","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#,
                events: [#"{"CustomerId":"客户-ü-😀","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#]),
            valid(
                "escapes", #"{"CustomerId":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#,
                events: [#"{"CustomerId":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#]),
            valid(
                "a huge integer in another field", #"{\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"big":123456789012345678901234567890}"#,
                events: [#"{\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"big":123456789012345678901234567890}"#]),
            valid(
                "number forms", quantity("1e308") + "\n" + quantity("-0.0") + "\n" + quantity("2.5E-3") + "\n" + quantity("1E+2"),
                events: [quantity("1e308"), quantity("-0.0"), quantity("2.5E-3"), quantity("1E+2")]),
            valid(
                "odd but valid dates",
                [
                    "2024-02-29T23:59:59.999999999Z", "2026-11-29T10:00:00", "2026-11-29T10:00:00.5", "2026-11-29T10:00:00-12:00",
                    "2026-11-29T10:00:00+14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2000-02-29T00:00:00-00:00",
                ]
                .map(dated).joined(separator: "\n"),
                events: [
                    "2024-02-29T23:59:59.999999999Z", "2026-11-29T10:00:00", "2026-11-29T10:00:00.5", "2026-11-29T10:00:00-12:00",
                    "2026-11-29T10:00:00+14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2000-02-29T00:00:00-00:00",
                ].map(dated)),
            valid(
                "null and nested extra fields",
                #"{\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"note":null,"tags":["a",{"b":[1,2,{}]}],"ok":false}"#,
                events: [#"{\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"note":null,"tags":["a",{"b":[1,2,{}]}],"ok":false}"#]),
            valid(
                "fields in any order, with spaces",
                #"  { "Quantity" : 3 , "UsageDate" : "2026-11-29T10:00:00Z" , "UsageIdentifier" : "u" , "CustomerId" : "c" }  "#,
                events: [#"{ "Quantity" : 3 , "UsageDate" : "2026-11-29T10:00:00Z" , "UsageIdentifier" : "u" , "CustomerId" : "c" }"#]),
            valid(
                "its own EventId", #"{"EventId":"mine-1",\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#,
                events: [#"{"EventId":"mine-1",\#(head),"UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#]),
        ]
    }()
}
