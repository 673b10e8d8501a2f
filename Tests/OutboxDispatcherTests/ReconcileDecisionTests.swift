import Testing
import UsageOutbox

@testable import OutboxDispatcher

/// Reconcile's pure parts, as tables: reading an audit trail page, and
/// matching its entries to the events the outbox sent.
struct AuditTrailPageTests {
    @Test func readsEntriesWithPayloadAsTextOrObject() throws {
        let body = #"""
            {"success":true,"data":[
              {"traceId":"t1","eventId":"e1","errorCode":"E1","errorMessage":"bad customer","payload":"{\"CustomerId\":\"A\",\"Quantity\":1}"},
              {"traceId":"t2","errorCode":53100320,"errorMessage":"bad date","payload":{"CustomerId":"B","Quantity":2}}
            ],"nextPage":"p2"}
            """#
        let page = try AuditTrailPage.parse(Array(body.utf8))
        #expect(page.nextPage == "p2")
        #expect(page.entries.count == 2)
        #expect(page.entries[0].traceID == "t1" && page.entries[0].eventID == "e1" && page.entries[0].payload == #"{"CustomerId":"A","Quantity":1}"#)
        #expect(page.entries[0].reason == "rejected by Zuora after acceptance: E1: bad customer")
        #expect(page.entries[1].eventID == nil && page.entries[1].errorCode == "53100320")
        #expect(JSONTree.parse(page.entries[1].payload) == JSONTree.parse(#"{"Quantity":2,"CustomerId":"B"}"#))
        #expect(page.entries[1].raw.contains("\"traceId\":\"t2\""))
    }

    @Test(arguments: [#"{"success":true,"data":[]}"#, #"{"success":true,"data":[],"nextPage":null}"#, #"{"data":[],"nextPage":""}"#])
    func aMissingOrEmptyNextPageEndsTheTrail(_ body: String) throws {
        #expect(try AuditTrailPage.parse(Array(body.utf8)).nextPage == nil)
    }

    @Test(arguments: ["<html>", #"{"success":false,"reasons":[]}"#, #"{"success":true}"#, #"{"data":[{"traceId":"t"}]}"#, #"{"data":[7]}"#])
    func refusesWhatItCannotRead(_ body: String) {
        #expect(throws: AuditTrailPage.Malformed.self) { try AuditTrailPage.parse(Array(body.utf8)) }
    }

    /// More entries than a page may hold, or a cursor longer than any
    /// Zuora hands out: refused before any entry is looked at.
    @Test func refusesAnOversizedPageOrCursor() throws {
        let entry = #"{"traceId":"t","payload":{"Quantity":1}}"#
        let crowded = #"{"data":["# + Array(repeating: entry, count: AuditTrailPage.maxEntries + 1).joined(separator: ",") + "]}"
        #expect(throws: AuditTrailPage.Malformed.self) { try AuditTrailPage.parse(Array(crowded.utf8)) }
        let full = #"{"data":["# + Array(repeating: entry, count: AuditTrailPage.maxEntries).joined(separator: ",") + "]}"
        #expect(try AuditTrailPage.parse(Array(full.utf8)).entries.count == AuditTrailPage.maxEntries)
        let longCursor = #"{"data":[],"nextPage":""# + String(repeating: "c", count: AuditTrailPage.maxCursorBytes + 1) + #""}"#
        #expect(throws: AuditTrailPage.Malformed.self) { try AuditTrailPage.parse(Array(longCursor.utf8)) }
    }
}

struct LateRejectionMatcherTests {
    static func entry(_ trace: String, eventID: String? = nil, payload: String) -> AuditEntry {
        AuditEntry(traceID: trace, eventID: eventID, errorCode: "E", errorMessage: "m", payload: payload, raw: "{}")
    }

    static func stored(_ row: Int64, id: String, body: String, state: EventState = .sent) -> StoredEvent {
        StoredEvent(rowID: row, eventID: id, body: body, state: state)
    }

    @Test func matchesByTheEventIdFieldByEventIdAndByContent() {
        let events = [
            Self.stored(1, id: "u-1", body: #"{"EventId":"u-1","CustomerId":"A","Quantity":1}"#),
            Self.stored(2, id: "u-2", body: #"{"EventId":"mine-2","CustomerId":"B","Quantity":2}"#),
            Self.stored(3, id: "u-3", body: #"{"CustomerId":"C","UsageDate":"2026-11-29T10:00:00Z","Quantity":3}"#),
            Self.stored(4, id: "u-4", body: #"{"CustomerId":"D","Quantity":4}"#, state: .dead),
        ]
        let entries = [
            Self.entry("t1", payload: #"{"EventId":"u-1","CustomerId":"A","Quantity":1}"#),  // the field, the outbox's id
            Self.entry("t2", payload: #"{"EventId":"mine-2","CustomerId":"B","Quantity":2}"#),  // the field, the producer's own id
            Self.entry("t3", payload: #"{"Quantity":3.0, "UsageDate":"2026-11-29T10:00:00Z","CustomerId":"C"}"#),  // content, other order and spelling
            Self.entry("t4", eventID: "u-4", payload: #"{"CustomerId":"D","Quantity":4}"#),  // eventId, a dead letter already
            Self.entry("t5", payload: #"{"CustomerId":"Z","Quantity":9}"#),  // nothing like it
            Self.entry("t6", payload: #"{"CustomerId":"C","UsageDate":"2026-11-29T10:00:00Z","Quantity":3}"#),  // its event taken by t3
        ]
        let outcomes = LateRejectionMatcher.match(entries, candidates: events, eventIdField: "EventId")
        #expect(outcomes == [.lateRejected(events[0]), .lateRejected(events[1]), .lateRejected(events[2]), .alreadyDead(events[3]), .unmatched, .unmatched])
    }

    @Test func anIdThatMatchesNothingFallsBackToContent() {
        let event = Self.stored(1, id: "u-1", body: #"{"CustomerId":"A","Quantity":1}"#)
        let outcomes = LateRejectionMatcher.match(
            [Self.entry("t", eventID: "zuora-own-id", payload: #"{"CustomerId":"A","Quantity":1}"#)],
            candidates: [event], eventIdField: nil)
        #expect(outcomes == [.lateRejected(event)])
    }

    @Test func aSentEventIsPreferredToADeadOneWithTheSameContent() {
        let dead = Self.stored(1, id: "u-1", body: #"{"CustomerId":"A","Quantity":1}"#, state: .dead)
        let sent = Self.stored(2, id: "u-2", body: #"{"CustomerId":"A","Quantity":1}"#)
        let outcomes = LateRejectionMatcher.match([Self.entry("t", payload: #"{"CustomerId":"A","Quantity":1}"#)], candidates: [dead, sent], eventIdField: nil)
        #expect(outcomes == [.lateRejected(sent)])
    }

    /// Zuora's own `eventId` ("z1") is never an outbox id, so it is not asked for.
    @Test func theQueryAsksForIdsAndCustomers() {
        let query = LateRejectionMatcher.query(
            for: [
                Self.entry("t1", eventID: "z1", payload: #"{"EventId":"e1","CustomerId":"A"}"#),
                Self.entry("t2", payload: #"{"CustomerId":"B"}"#),
            ],
            meter: "m", eventIdField: "EventId")
        #expect(query == ReconcileQuery(meter: "m", eventIDs: ["e1"], eventIdField: "EventId", customers: ["A", "B"]))
    }
}

struct ZuoraEnvironmentTests {
    @Test(arguments: [
        ("rest.apisandbox.zuora.com", ZuoraEnvironment?.some(.apiSandbox)), ("REST.sandbox.eu.zuora.com", .apiSandbox),
        ("rest.test.zuora.com", .developerSandbox), ("rest.test.eu.zuora.com", .developerSandbox),
        ("rest.zuora.com", .production), ("rest.na.zuora.com", .production), ("rest.eu.zuora.com", .production),
        ("rest.ap.zuora.com", .production), ("rest.test.ap.zuora.com", .developerSandbox), ("rest.sandbox.na.zuora.com", .apiSandbox),
        ("127.0.0.1", nil), ("zuora.com.example.net", nil), ("rest.ap.zuora.com.example.net", nil),
    ])
    func infersTheEnvironmentFromAKnownHost(_ host: String, _ expected: ZuoraEnvironment?) {
        #expect(ZuoraEnvironment.inferred(fromHost: host) == expected)
    }

    /// Zuora's API reference lists ten REST hosts (US Cloud 1 and 2, EU and
    /// APAC; production, API sandboxes, Developer and Central sandboxes).
    @Test func everyListedHostIsKnown() {
        #expect(ZuoraEnvironment.knownHosts.count == 10)
        #expect(
            ZuoraEnvironment.knownHosts.filter { $0.environment == .production }.map(\.host).sorted() == [
                "rest.ap.zuora.com", "rest.eu.zuora.com", "rest.na.zuora.com", "rest.zuora.com",
            ])
        #expect(ZuoraEnvironment.apiSandbox.maxRequestsPerDay == 10_000 && ZuoraEnvironment.developerSandbox.maxRequestsPerDay == 50_000)
        #expect(ZuoraEnvironment.production.maxRequestsPerDay == nil)
    }

    @Test func limitsAreTheDocumentedOnes() {
        #expect(
            (ZuoraEnvironment.apiSandbox.maxBatchSize, ZuoraEnvironment.apiSandbox.maxBatchBytes, ZuoraEnvironment.apiSandbox.maxRequestsPerMinute) == (
                1000, 1 << 20, 600
            ))
        #expect((ZuoraEnvironment.developerSandbox.maxBatchSize, ZuoraEnvironment.developerSandbox.maxBatchBytes) == (5000, 2 << 20))
        #expect(ZuoraEnvironment.production.maxRequestsPerMinute == 50_000 && ZuoraEnvironment.centralSandbox.maxBatchBytes == 4 << 20)
    }

    @Test func aValueAboveTheEnvironmentsCeilingIsRefusedNamingTheLimit() {
        var configuration = DispatcherConfiguration(baseURL: "https://rest.apisandbox.zuora.com", credentials: .bearer(Secret("t")))
        configuration.environment = .apiSandbox
        configuration.batchSize = 5000
        let error = #expect(throws: DispatcherConfigurationError.self) { try configuration.validate() }
        #expect(error?.setting == .batchSize && error?.message.contains("1000") == true && error?.message.contains("API Sandbox") == true)
        configuration.batchSize = 1000
        configuration.maxRequestsPerMinute = 601
        #expect((#expect(throws: DispatcherConfigurationError.self) { try configuration.validate() })?.setting == .maxRequestsPerMinute)
        configuration.maxRequestsPerMinute = nil
        #expect(configuration.effectiveMaxRequestsPerMinute == 600, "the environment's calls per minute is the default rate")
        configuration.maxBatchBytes = 2 << 20
        #expect((#expect(throws: DispatcherConfigurationError.self) { try configuration.validate() })?.setting == .maxBatchBytes)
    }
}
