import Testing

@testable import OutboxCore

/// The id an event carries itself: the key of the idempotent append.
struct EventOwnIDTests {
    static let rest = #""CustomerId":"C","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1"#

    @Test(arguments: [
        (#"{"EventId":"order-1",\#(rest)}"#, String?.some("order-1")),
        (#"{\#(rest),"EventId":"last"}"#, "last"),
        (#"{ "EventId" : "spaced" ,\#(rest)}"#, "spaced"),
        (#"{"EventId":"a\u0062c",\#(rest)}"#, "abc"),
        (#"{"Event\u0049d":"escaped-key",\#(rest)}"#, "escaped-key"),
        (#"{"EventId":1234567890123,\#(rest)}"#, "1234567890123"),
        (#"{"EventId":-1.5e3,\#(rest)}"#, "-1.5e3"),
        (#"{"EventId":null,\#(rest)}"#, nil),
        (#"{"EventId":"",\#(rest)}"#, nil),
        (#"{"EventId":{"id":"x"},\#(rest)}"#, nil),
        (#"{"nested":{"EventId":"inner"},\#(rest)}"#, nil),
        (#"{"EventID":"other-case",\#(rest)}"#, nil),
        (#"{\#(rest)}"#, nil),
        (#"{"EventId":"\#(String(repeating: "x", count: 513))",\#(rest)}"#, nil),
        (#"{"EventId":"a\u0000b",\#(rest)}"#, nil),
    ])
    func readsTheTopLevelIdField(_ event: String, _ expected: String?) {
        #expect(EventOwnID.value(in: event, field: "EventId") == expected)
    }
}
