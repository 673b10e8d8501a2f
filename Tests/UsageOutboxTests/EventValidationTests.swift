import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// The contract's rules for one event, as a table.
struct EventValidationTests {
    static let base = #""CustomerId":"C-1","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z""#

    static let valid: [String] = [
        sampleJSON(),
        sampleJSON(quantity: "0"),
        sampleJSON(quantity: "-2.5"),
        sampleJSON(quantity: "1e3"),
        sampleJSON(quantity: "12345678901234567890123"),
        #"{"Quantity":1,"UsageDate":"2024-02-29T23:59:59.999999Z","UsageIdentifier":"u","CustomerId":"c"}"#,
        #"{\#(base.replacingOccurrences(of: "2026-11-29T10:00:00Z", with: "2026-11-29T10:00:00")),"Quantity":1}"#,
        #"{\#(base.replacingOccurrences(of: "2026-11-29T10:00:00Z", with: "2026-11-29T10:00:00.123")),"Quantity":1}"#,
        #"{\#(base.replacingOccurrences(of: "2026-11-29T10:00:00Z", with: "2026-11-29T10:00:00+14:00")),"Quantity":1}"#,
        #"{\#(base.replacingOccurrences(of: "2026-11-29T10:00:00Z", with: "2000-02-29T00:00:00-00:00")),"Quantity":1}"#,
        #"{\#(base),"Quantity":1,"extra":{"nested":[1,2,{"a":null}]},"flag":true,"note":"x\"y\\z\u00e9\ud83d\ude00"}"#,
        #"{\#(base),"Quantity":1,"sql":"'); DROP TABLE outbox_events;--"}"#,
        #"{"\u0043ustomerId":"c","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#,
        #" { "CustomerId" : "c" , "UsageIdentifier" : "u" , "UsageDate" : "2026-11-29T10:00:00Z" , "Quantity" : 1 } "#,
        #"{\#(base),"Quantity":1,"emoji":"日本語 ✓"}"#,
    ]

    @Test(arguments: valid)
    func acceptsValidEvent(_ json: String) {
        let parser = EventParser(eventIdField: nil)
        var text = json
        let outcome = text.withUTF8 { parser.parseSingle($0, position: .element(1)) }
        if case .failure(let problem) = outcome {
            Issue.record("rejected a valid event: \(problem)")
        }
    }

    static let invalid: [(String, String)] = [
        (#"{"UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#, "missing required field CustomerId"),
        (#"{"CustomerId":"","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#, "CustomerId must not be empty"),
        (#"{"CustomerId":5,"UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#, "CustomerId must be a non-empty string, found a number"),
        (#"{"CustomerId":null,"UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#, "found null"),
        (#"{\#(base),"Quantity":"1"}"#, "Quantity must be a number, found a string"),
        (#"{\#(base),"Quantity":null}"#, "Quantity must be a number, found null"),
        (#"{\#(base),"Quantity":NaN}"#, "NaN and Infinity"),
        (#"{\#(base),"Quantity":Infinity}"#, "NaN and Infinity"),
        (#"{\#(base),"Quantity":-Infinity}"#, "NaN and Infinity"),
        (#"{\#(base),"Quantity":1e400}"#, "too large"),
        (#"{\#(base),"Quantity":01}"#, "invalid JSON number"),
        (#"{\#(base),"Quantity":1.}"#, "invalid JSON number"),
        (#"{\#(base),"Quantity":+1}"#, "expected a value"),
        (#"{\#(base)}"#, "missing required field Quantity"),
        (#"{\#(base),"Quantity":1,"CustomerId":"again"}"#, "duplicate key \"CustomerId\""),
        (#"{\#(base),"Quantity":1,"x":1,"x":2}"#, "duplicate key \"x\""),
        (#"{\#(base),"Quantity":1,}"#, "trailing comma"),
        (#"{\#(base),"Quantity":1"#, "truncated JSON"),
        (#"{\#(base),"Quantity":1,"s":"abc}"#, "string is not closed"),
        (#"{\#(base),"Quantity":1,"s":"a\qb"}"#, "bad escape"),
        (#"{\#(base),"Quantity":1,"s":"\ud800"}"#, "lone UTF-16 surrogate"),
        (#"{\#(base),"Quantity":1,"s":tru}"#, "bare word"),
        (#"[1,2]"#, "expected a JSON object, found an array"),
        (#""text""#, "expected a JSON object, found a string"),
        (#"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":"2026-11-29","Quantity":1}"#, "a date alone is not accepted"),
        (#"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":"2026-02-30T00:00:00Z","Quantity":1}"#, "does not exist"),
        (#"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":"2025-02-29T00:00:00Z","Quantity":1}"#, "does not exist"),
        (#"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":"2026-13-01T00:00:00Z","Quantity":1}"#, "month 13"),
        (#"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":"2026-11-29T24:00:00Z","Quantity":1}"#, "out of range"),
        (#"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00+0200","Quantity":1}"#, "malformed UTC offset"),
        (#"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00.Z","Quantity":1}"#, "without fractional digits"),
        (#"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":"2026-11-29 10:00:00Z","Quantity":1}"#, "needs a time"),
        (#"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":"yesterday","Quantity":1}"#, "is not a date-time"),
        (#"{"CustomerId":"c","UsageIdentifier":"u","UsageDate":1732874400,"Quantity":1}"#, "UsageDate must be a date-time string, found a number"),
        (#"{\#(base),"Quantity":1} {}"#, "unexpected text after"),
        (#"{}"#, "missing required field CustomerId; missing required field UsageIdentifier"),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidEvent(_ json: String, _ expectedReason: String) {
        let parser = EventParser(eventIdField: nil)
        var text = json
        let outcome = text.withUTF8 { parser.parseSingle($0, position: .element(1)) }
        guard case .failure(let problem) = outcome else {
            Issue.record("accepted an invalid event: \(json)")
            return
        }
        #expect(problem.reason.contains(expectedReason), "reason was: \(problem.reason)")
    }

    @Test func rejectsInvalidUTF8() {
        let prefix = Array(#"{"CustomerId":"c"#.utf8)
        let suffix = Array(#"","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#.utf8)
        for bad: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            let bytes = prefix + bad + suffix
            let outcome = bytes.withUnsafeBufferPointer { EventParser(eventIdField: nil).parseSingle($0, position: .element(1)) }
            guard case .failure(let problem) = outcome else {
                Issue.record("accepted invalid UTF-8 \(bad)")
                continue
            }
            #expect(problem.reason.contains("UTF-8"))
        }
    }

    @Test func rejectsDeepNestingWithoutCrashing() {
        let deep = String(repeating: "[", count: 100_000)
        let json = #"{\#(Self.base),"Quantity":1,"x":\#(deep)}"#
        var text = json
        let outcome = text.withUTF8 { EventParser(eventIdField: nil).parseSingle($0, position: .element(1)) }
        guard case .failure(let problem) = outcome else {
            Issue.record("accepted unbalanced deep nesting")
            return
        }
        #expect(problem.reason.contains("nested deeper"))
    }

    @Test func detectsDuplicatesAmongManyKeys() {
        var fields = (0..<200).map { #""k\#($0)":\#($0)"# }
        fields.append(#""k17":0"#)
        let json = #"{\#(Self.base),"Quantity":1,\#(fields.joined(separator: ","))}"#
        var text = json
        let outcome = text.withUTF8 { EventParser(eventIdField: nil).parseSingle($0, position: .element(1)) }
        guard case .failure(let problem) = outcome else {
            Issue.record("missed a duplicate key among many")
            return
        }
        #expect(problem.reason.contains("duplicate key \"k17\""))
    }

    @Test func typedEventsEncodeToValidJSON() {
        let event = UsageEvent(
            customerId: "A \"quoted\"\n", usageIdentifier: "u", usageDate: UsageEvent.usageDate(unixMilliseconds: 1_764_410_400_123),
            quantity: 2, fields: ["z": 1.5, "a": ["nested": [true, nil]]])
        #expect(
            event.jsonText
                == #"{"CustomerId":"A \"quoted\"\n","UsageIdentifier":"u","UsageDate":"2025-11-29T10:00:00.123Z","Quantity":2,"a":{"nested":[true,null]},"z":1.5}"#
        )
    }

    @Test func formatsDatesAcrossEras() {
        #expect(RFC3339.format(unixMilliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(unixMilliseconds: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(RFC3339.format(unixMilliseconds: -1) == "1969-12-31T23:59:59.999Z")
    }
}
