import Foundation
import OutboxCore
import Testing

@testable import OutboxDispatcher

/// Zuora's error categories, as a table: 50, 60, 61 and 70 are never the
/// events' fault; anything else, or a mix, may be.
struct ZuoraErrorCategoryTests {
    @Test(arguments: [
        ([String?](), ZuoraErrorCategory.Verdict.mayBeTheEvents),
        (["58730050"], .retryLater), (["50000060"], .retryLater), (["50000061"], .retryLater),
        (["50000070"], .limitExceeded), (["58730050", "50000070"], .limitExceeded), (["58730050", "50000061"], .retryLater),
        (["53100320"], .mayBeTheEvents), (["58730050", "53100320"], .mayBeTheEvents), (["53100322"], .mayBeTheEvents),
        (["0"], .mayBeTheEvents), (["-50"], .mayBeTheEvents), (["abc50"], .mayBeTheEvents),
        // Only an eight-digit code has a category; a reason without one may
        // be the events' fault, so a mix with it stays a rejection.
        (["50"], .mayBeTheEvents), (["5873005"], .mayBeTheEvents), (["58730050", nil], .mayBeTheEvents),
    ])
    func classifiesCodes(_ codes: [String?], _ expected: ZuoraErrorCategory.Verdict) {
        #expect(ZuoraErrorCategory.verdict(codes: codes) == expected)
    }

    @Test func readsCodesAsNumbersOrText() {
        let body = #"{"success":false,"processId":"P1","reasons":[{"code":58730050,"message":"lock"},{"code":"50000061","message":"temp"}]}"#
        #expect(ZuoraErrorCategory.codes(in: Array(body.utf8)) == ["58730050", "50000061"])
        #expect(ZuoraErrorCategory.codes(in: Array("not json".utf8)).isEmpty)
        #expect(ZuoraErrorCategory.codes(in: Array(#"{"success":false}"#.utf8)).isEmpty)
        #expect(ZuoraErrorCategory.codes(in: Array(#"{"reasons":[{"code":58730050},{"message":"bad field"}]}"#.utf8)) == ["58730050", nil])
    }

    /// The contract's table: the category wins over the status for a 2xx
    /// `"success": false`, a 400 and a 5xx; never for 401, 403, 404, 413.
    @Test(arguments: [
        (200, #"{"success":false,"reasons":[{"code":58730050,"message":"lock"}]}"#, DeliveryDecision.retryLater),
        (200, #"{"success":false,"reasons":[{"code":50000070,"message":"limit"}]}"#, .rateLimited(retryAfterSeconds: nil)),
        (200, #"{"success":false,"reasons":[{"code":53100320,"message":"bad"}]}"#, .rejected),
        (200, #"{"success":false,"reasons":[{"code":58730050},{"code":53100320}]}"#, .rejected),
        (400, #"{"success":false,"reasons":[{"code":50000061,"message":"temporary"}]}"#, .retryLater),
        (500, #"{"success":false,"reasons":[{"code":50000060,"message":"internal"}]}"#, .retryLater),
        (503, #"{"success":false,"reasons":[{"code":50000061}]}"#, .rateLimited(retryAfterSeconds: nil)),
        (400, #"{"success":false,"reasons":[{"code":53100320}]}"#, .rejected),
        (500, #"{"success":false,"reasons":[{"code":50000070}]}"#, .rateLimited(retryAfterSeconds: nil)),
        (401, #"{"success":false,"reasons":[{"code":50000061}]}"#, .unauthorized),
        (404, #"{"success":false,"reasons":[{"code":50000060}]}"#, .configurationProblem),
        (413, #"{"success":false,"reasons":[{"code":50000070}]}"#, .tooLarge),
        (200, #"{"success":true,"reasons":[{"code":50000070}]}"#, .accepted),
    ])
    func classifiesAnswersByCategory(_ status: Int, _ body: String, _ expected: DeliveryDecision) {
        #expect(ResponseClassifier.classify(status: status, body: Array(body.utf8), retryAfterSeconds: nil) == expected)
    }
}

/// The audit trail as Zuora's reference shows it, and what reconcile makes
/// of each entry: nothing guessed.
struct AuditTrailAsDocumentedTests {
    /// The reference's own sample, verbatim in shape.
    static let sample = #"""
        {"success": true,
         "data": [{"errorTime": "1753296408775", "errorCode": "", "errorMessage": "",
                   "payload": {"event time": "2025-07-01", "charge number": "C-00000017", "qty": 10, "ratedAmount": "10.0"},
                   "eventId": "601f65ca-67f5-11f0-9e3a-5d9d6cbeef3e|0",
                   "traceId": "601f65ca-67f5-11f0-9e3a-5d9d6cbeef3e|0_a_b_e_d_o7normal",
                   "operatorType": "BILLING-RATING", "operatorName": "Rating",
                   "operatorId": "15004c16-6242-4f50-9faf-cb1a0fe6e0f5", "somethingNew": [1, 2]}],
         "previousPage": null, "nextPage": "eyJjdXJzb3IiOi4uLn0="}
        """#

    @Test func readsTheReferencesSample() throws {
        let page = try AuditTrailPage.parse(Array(Self.sample.utf8))
        #expect(page.nextPage == "eyJjdXJzb3IiOi4uLn0=")
        let entry = try #require(page.entries.first)
        #expect(entry.errorTime == 1_753_296_408_775)
        #expect(entry.traceID == "601f65ca-67f5-11f0-9e3a-5d9d6cbeef3e|0_a_b_e_d_o7normal")
        #expect(entry.eventID == "601f65ca-67f5-11f0-9e3a-5d9d6cbeef3e|0")
        #expect(entry.operatorType == "BILLING-RATING" && entry.operatorName == "Rating" && entry.operatorID == "15004c16-6242-4f50-9faf-cb1a0fe6e0f5")
        #expect(JSONTree.parse(entry.payload) == JSONTree.parse(#"{"event time":"2025-07-01","charge number":"C-00000017","qty":10,"ratedAmount":"10.0"}"#))
    }

    @Test(arguments: [
        (#""1753296408775""#, Int64?.some(1_753_296_408_775)), ("1753296408775", 1_753_296_408_775),
        (#""2025-07-23T18:46:48.775Z""#, 1_753_296_408_775), (#""2025-07-23T18:46:48Z""#, 1_753_296_408_000),
        (#""soon""#, nil), ("null", nil),
    ])
    func readsErrorTimeInEveryShape(_ value: String, _ expected: Int64?) throws {
        let body = #"{"data":[{"traceId":"t","errorTime":\#(value),"payload":"{\"a\":1}"}]}"#
        #expect(try AuditTrailPage.parse(Array(body.utf8)).entries.first?.errorTime == expected)
    }

    @Test(arguments: [
        ("PROCESSOR", "Deduplicator", "x", true), ("DEDUPLICATOR", nil, nil, true), ("processor", "my dedup step", nil, true),
        ("BILLING-RATING", "Rating", "op-7", false), (nil, nil, "op-dd", true), (nil, nil, nil, false),
    ])
    func recognisesADeduplicator(_ type: String?, _ name: String?, _ id: String?, _ expected: Bool) {
        let entry = AuditEntry(
            traceID: "t", eventID: nil, errorCode: "E", errorMessage: "m", payload: "{}", raw: "{}", operatorType: type, operatorName: name,
            operatorID: id)
        #expect(entry.isFromDeduplicator(operatorIDs: ["op-dd"]) == expected)
    }

    static func stored(_ row: Int64, id: String, body: String) -> StoredEvent {
        StoredEvent(rowID: row, eventID: id, body: body, state: .sent)
    }

    /// By the id field in a reshaped payload; by content when unchanged;
    /// Zuora's own `eventId` is never taken for the outbox's; else unmatched.
    @Test func matchesByIdThenByContentAndNeverGuesses() {
        let first = Self.stored(1, id: "e-1", body: #"{"EventId":"e-1","CustomerId":"A","Quantity":1}"#)
        let second = Self.stored(2, id: "0190-uuid", body: #"{"CustomerId":"B","Quantity":2}"#)
        let third = Self.stored(3, id: "e-3", body: #"{"EventId":"e-3","CustomerId":"C","Quantity":3}"#)
        func entry(_ payload: String, zuoraID: String? = nil) -> AuditEntry {
            AuditEntry(traceID: UUID().uuidString, eventID: zuoraID, errorCode: "E", errorMessage: "m", payload: payload, raw: "{}")
        }
        let entries = [
            entry(#"{"EventId":"e-1","customer id":"A","qty":1}"#),  // renamed, id kept
            entry(#"{"Quantity":2,"CustomerId":"B"}"#),  // unchanged, other key order
            entry(#"{"customer id":"C","qty":3}"#, zuoraID: "e-3"),  // renamed, id dropped: Zuora's eventId is not ours
        ]
        let outcomes = LateRejectionMatcher.match(entries, candidates: [first, second, third], eventIdField: "EventId")
        #expect(outcomes == [.lateRejected(first), .lateRejected(second), .unmatched])
    }
}

/// The shared request budgets' decision, as a table.
struct RequestBudgetTests {
    let budget = RequestBudget(windows: [.init(limit: 3, seconds: 60), .init(limit: 10, seconds: 86_400)], maxConcurrent: 2)

    @Test func admitsWhileEveryWindowHasRoomAndASlotIsFree() {
        #expect(budget.decide(now: 100_000, record: .init(limitBack: [nil, nil], inFlight: 0)) == .admitted)
        // The request 3 back went 61 s ago: out of the minute.
        #expect(budget.decide(now: 100_000, record: .init(limitBack: [39_000, nil], inFlight: 1)) == .admitted)
    }

    @Test func aFullWindowSaysHowLongAndWhich() {
        #expect(budget.decide(now: 100_000, record: .init(limitBack: [70_000, nil], inFlight: 0)) == .wait(milliseconds: 30_000, budget: "per-minute"))
        // The longest wait wins: the day's.
        #expect(
            budget.decide(now: 100_000, record: .init(limitBack: [70_000, 50_000], inFlight: 0))
                == .wait(milliseconds: 86_350_000, budget: "per-day"))
    }

    /// The clock stepped back an hour after the requests were recorded: a
    /// window waits at most its own length, not the step too.
    @Test func aClockSteppedBackNeverStretchesAWait() {
        let stepped: Int64 = 100_000 - 3_600_000
        #expect(budget.decide(now: stepped, record: .init(limitBack: [100_000, nil], inFlight: 0)) == .wait(milliseconds: 60_000, budget: "per-minute"))
    }

    @Test func allSlotsTakenIsAShortWait() {
        #expect(
            budget.decide(now: 100_000, record: .init(limitBack: [nil, nil], inFlight: 2))
                == .wait(milliseconds: RequestBudget.concurrencyPollMilliseconds, budget: "concurrency"))
        #expect(RequestBudget(windows: [], maxConcurrent: nil).isUnlimited)
    }
}
