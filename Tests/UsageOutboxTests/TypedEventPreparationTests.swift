import Testing

@testable import OutboxCore
@testable import UsageOutbox

/// Typed events skip the parse only when the validator would accept their
/// text anyway: checked against the validator itself, case by case and on
/// random events.
struct TypedEventPreparationTests {
    /// What the validator says of the event's text: nil when invalid.
    func validatorVerdict(_ event: UsageEvent, eventIdField: String?) -> (hasEventIdField: Bool, count: Int)? {
        var text = event.jsonText
        let outcome = text.withUTF8 { EventParser(eventIdField: eventIdField).parseSingle($0, position: .element(1)) }
        guard case .success(let result) = outcome else { return nil }
        return (result.hasEventIdField, result.range.count)
    }

    func expectAgreement(
        _ event: UsageEvent, eventIdField: String? = nil, fastPathExpected: Bool? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let fast = event.preparedWithoutParsing(eventIdField: eventIdField)
        let verdict = validatorVerdict(event, eventIdField: eventIdField)
        if let fast {
            // Never accept what the validator would refuse, and agree on the rest.
            #expect(verdict != nil, "skipped the parse of an invalid event: \(event.jsonText)", sourceLocation: sourceLocation)
            #expect(fast.hasEventIdField == verdict?.hasEventIdField, sourceLocation: sourceLocation)
            #expect(fast.text == event.jsonText && fast.range.count == verdict?.count, sourceLocation: sourceLocation)
        }
        if let fastPathExpected {
            #expect((fast != nil) == fastPathExpected, "\(event.jsonText)", sourceLocation: sourceLocation)
        }
    }

    @Test func validScalarEventsSkipTheParse() {
        expectAgreement(sampleEvent(), fastPathExpected: true)
        expectAgreement(
            UsageEvent(
                customerId: "quote \" back \\ tab \t nl \n \u{1} é 🎉", usageIdentifier: "u",
                usageDate: "2026-11-29T10:00:00.123+05:30", quantity: -0.000001,
                fields: ["s": "x\"y", "i": 9_007_199_254_740_993, "b": true, "n": nil, "d": 1e300]),
            fastPathExpected: true)
        expectAgreement(
            UsageEvent(customerId: "c", usageIdentifier: "u", usageDate: "2024-02-29T23:59:59", quantity: 1e-7),
            fastPathExpected: true)
    }

    @Test func eventsThatMightBeInvalidGoThroughTheValidator() {
        expectAgreement(sampleEvent(""), fastPathExpected: false)
        expectAgreement(UsageEvent(customerId: "c", usageIdentifier: "", usageDate: "2026-11-29T10:00:00Z", quantity: 1), fastPathExpected: false)
        for date in ["2026-02-30T10:00:00Z", "2026-11-29", "2026-11-29T24:00:00Z", "yesterday", ""] {
            expectAgreement(UsageEvent(customerId: "c", usageIdentifier: "u", usageDate: date, quantity: 1), fastPathExpected: false)
        }
        for quantity in [Double.nan, .infinity, -.infinity] {
            expectAgreement(sampleEvent(quantity: quantity), fastPathExpected: false)
        }
        expectAgreement(
            UsageEvent(
                customerId: "c", usageIdentifier: "u", usageDate: "2026-11-29T10:00:00Z", quantity: 1,
                fields: ["bad": .number(.nan)]), fastPathExpected: false)
        // Containers and raw text are the validator's to judge (depth, text given by the app).
        expectAgreement(
            UsageEvent(
                customerId: "c", usageIdentifier: "u", usageDate: "2026-11-29T10:00:00Z", quantity: 1,
                fields: ["tags": ["a", 1]]), fastPathExpected: false)
        expectAgreement(
            UsageEvent(
                customerId: "c", usageIdentifier: "u", usageDate: "2026-11-29T10:00:00Z", quantity: 1,
                fields: ["raw": .rawJSON("{")]), fastPathExpected: false)
    }

    @Test func theEventIdFieldIsFoundAsTheValidatorFindsIt() {
        let event = UsageEvent(
            customerId: "c", usageIdentifier: "u", usageDate: "2026-11-29T10:00:00Z", quantity: 1,
            fields: ["EventId": "e-1", "CustomerId": "ignored: the typed field wins"])
        expectAgreement(event, eventIdField: "EventId", fastPathExpected: true)
        expectAgreement(event, eventIdField: "Other", fastPathExpected: true)
        expectAgreement(event, eventIdField: "CustomerId", fastPathExpected: true)
        #expect(event.preparedWithoutParsing(eventIdField: "EventId")?.hasEventIdField == true)
        #expect(event.preparedWithoutParsing(eventIdField: "Other")?.hasEventIdField == false)
    }

    @Test func aMixedBatchReportsTheSamePositionsAndAppendsAllOrNothing() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            let outbox = try Outbox(path: path)
            let nested = UsageEvent(customerId: "n", usageIdentifier: "u", usageDate: "2026-11-29T10:00:00Z", quantity: 1, fields: ["tags": ["a"]])
            let bad = [sampleEvent("a"), sampleEvent("b"), sampleEvent(""), nested, sampleEvent("c", quantity: .nan)]
            let error = await #expect(throws: OutboxError.self) { try await outbox.append(contentsOf: bad, meter: "m") }
            #expect(error?.problems.map(\.position) == [.element(3), .element(5)])
            #expect(try rowCount(path) == 0)
            // Fast-path events before one that needs the validator keep their text.
            let good = [sampleEvent("a"), nested, sampleEvent("b")]
            #expect(try await outbox.append(contentsOf: good, meter: "m").count == 3)
            #expect(try storedBodies(path) == good.map(\.jsonText))
        }
    }

    @Test func randomEventsNeverSkipTheParseWrongly() {
        var random = SystemRandomNumberGenerator()
        let pieces = ["", "a", "Ω", "\"", "\\", "\n", "\u{0}", "🎉", "2026", "-", "T", ":", "Z", "+05:30", " "]
        let dates = [
            "2026-11-29T10:00:00Z", "2026-11-29T10:00:00", "2026-11-29T10:00:00.5Z", "2026-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z", "2026-11-29T10:00:60Z", "2026-11-29T10:00:00+25:00", "2026-11-29 10:00:00Z",
        ]
        let quantities: [Double] = [0, -1, 1.5, 1e308, .greatestFiniteMagnitude, .nan, .infinity, .leastNonzeroMagnitude]
        var skipped = 0
        for _ in 0..<2000 {
            func text() -> String { (0..<Int.random(in: 0...3, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined() }
            var fields: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                let values: [JSONValue] = [
                    .string(text()), .number(quantities.randomElement(using: &random)!), .integer(.random(in: .min ... .max, using: &random)), .bool(true),
                    .null,
                ]
                fields[text()] = values.randomElement(using: &random)!
            }
            let event = UsageEvent(
                customerId: text(), usageIdentifier: text(), usageDate: dates.randomElement(using: &random)!,
                quantity: quantities.randomElement(using: &random)!, fields: fields)
            expectAgreement(event, eventIdField: Bool.random(using: &random) ? nil : text())
            if event.preparedWithoutParsing(eventIdField: nil) != nil { skipped += 1 }
        }
        // The fast path is really taken, not a fallback every time.
        #expect(skipped > 100)
    }
}
