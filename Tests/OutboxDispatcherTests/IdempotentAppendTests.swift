import Foundation
import Testing

@testable import OutboxCore
@testable import OutboxPostgres
@testable import UsageOutbox

/// Appends are idempotent by the event's own id: a producer that retries
/// (an append that timed out, a job run twice) never bills a customer twice.
struct IdempotentAppendTests {
    static func event(_ id: String?, customer: String = "C", quantity: Int = 1) -> String {
        let own = id.map { #""EventId":"\#($0)","# } ?? ""
        return #"{\#(own)"CustomerId":"\#(customer)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":\#(quantity)}"#
    }

    /// A store of `kind` told that events carry their id in `EventId`.
    static func withStore(_ kind: StoreKind, _ body: (any OperatedStore) async throws -> Void) async throws {
        let place = try await TestStore.make(kind)
        let store = try await openStore(place)
        try await place.using(store) { try await body(store) }
    }

    static func openStore(_ place: TestStore) async throws -> any OperatedStore {
        switch place.kind {
        case .sqlite: try Outbox(OutboxConfiguration(path: place.location, eventIdField: "EventId"))
        case .postgres: try await TestStore.openPostgres(place.location, eventIdField: "EventId")
        }
    }

    static func claimedBodies(_ store: any OperatedStore) async throws -> [String] {
        var bodies: [String] = []
        while let claim = try await store.claim(meter: "m", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000) {
            bodies += claim.events.map { String(decoding: $0.body, as: UTF8.self) }
            _ = try await store.settle(LogNeverGoesBackwardsTests.sent(claim), token: claim.token)
        }
        return bodies
    }

    @Test(arguments: StoreKind.available)
    func aRepeatInOneInputOrAcrossAppendsIsNotAppendedAgain(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any OperatedStore) async throws in
            let first = try await store.appendReporting(
                jsonEvents: [Self.event("a", quantity: 1), Self.event("b"), Self.event("a", quantity: 9)], meter: "m")
            #expect(first.appended == 2 && first.duplicatePositions == [2])
            #expect(first.ids[2] == first.ids[0], "a repeat answers with the id of the event kept: the first")
            let retry = try await store.appendReporting(jsonEvents: [Self.event("b"), Self.event("c")], meter: "m")
            #expect(retry.appended == 1 && retry.duplicatePositions == [0] && retry.ids[0] == first.ids[1])
            // Another meter holds ids of its own.
            #expect(try await store.appendReporting(jsonEvents: [Self.event("a")], meter: "other").appended == 1)
            #expect(try await store.status().meters["m"]?.counts == StateCounts(appended: 3, pending: 3))
            let bodies = try await Self.claimedBodies(store)
            #expect(bodies.count == 3 && bodies[0].contains(#""Quantity":1"#), "the first of two copies is the one kept, in order")
            #expect(bodies.map { $0.contains(#""EventId":"a""#) } == [true, false, false])
            #expect(try await store.verify().isOK)
        }
    }

    /// Only an id the event brought is de-duplicated: events without one get
    /// the outbox's own (new each time), so the same text twice is two events.
    @Test(arguments: StoreKind.available)
    func eventsWithoutAnIdOfTheirOwnAreNeverDuplicates(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any OperatedStore) async throws in
            let once = try await store.appendReporting(jsonEvents: [Self.event(nil), Self.event(nil)], meter: "m")
            let twice = try await store.appendReporting(jsonEvents: [Self.event(nil)], meter: "m")
            #expect(once.appended == 2 && twice.appended == 1 && once.duplicates + twice.duplicates == 0)
            #expect(Set(once.ids + twice.ids).count == 3)
        }
    }

    /// All or nothing still holds: an input with an invalid event appends
    /// nothing, so its good events' ids stay free.
    @Test(arguments: StoreKind.available)
    func anInvalidInputHoldsNoId(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any OperatedStore) async throws in
            await #expect(throws: OutboxError.self) {
                try await store.appendReporting(jsonEvents: [Self.event("d"), #"{"EventId":"e","CustomerId":""}"#], meter: "m")
            }
            #expect(try await store.appendReporting(jsonEvents: [Self.event("d")], meter: "m").appended == 1)
        }
    }

    /// Two producers append the same id at once: one event, and both are
    /// told its id.
    @Test(arguments: StoreKind.available)
    func concurrentAppendsOfOneIdKeepOne(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any OperatedStore) async throws in
            for round in 0..<20 {
                let id = "race-\(round)"
                async let left = store.appendReporting(jsonEvents: [Self.event(id, customer: "L")], meter: "m")
                async let right = store.appendReporting(jsonEvents: [Self.event(id, customer: "R")], meter: "m")
                let (l, r) = try await (left, right)
                #expect(l.appended + r.appended == 1 && l.duplicates + r.duplicates == 1, "round \(round)")
                #expect(l.ids == r.ids, "both are told the id of the event kept")
            }
            #expect(try await store.status().totals.appended == 20)
            #expect(try await store.verify().isOK)
        }
    }

    /// Two processes (two stores, two connections) append the same ids in
    /// opposite orders at once: on PostgreSQL each would wait for the other
    /// on the unique index; appends of own ids to a meter take turns, so
    /// neither fails, and each id is appended once.
    @Test(arguments: StoreKind.available)
    func twoProcessesAppendingOneIdsInOtherOrdersNeitherDeadlockNorDuplicate(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let first = try await Self.openStore(place)
        let second = try await Self.openStore(place)
        try await place.using(first) {
            defer { Task { await second.close() } }
            for round in 0..<20 {
                let ids = (0..<50).map { "r\(round)-\($0)" }
                async let left = first.appendReporting(jsonEvents: ids.map { Self.event($0, customer: "L") }, meter: "m")
                async let right = second.appendReporting(jsonEvents: ids.reversed().map { Self.event($0, customer: "R") }, meter: "m")
                let (l, r) = try await (left, right)
                #expect(l.appended + r.appended == 50 && l.duplicates + r.duplicates == 50, "round \(round)")
                #expect(l.ids == r.ids.reversed(), "both are told the ids of the events kept")
            }
            #expect(try await first.status().totals.appended == 1000)
            #expect(try await first.verify().isOK)
        }
    }

    /// An id of the configuration that names a required field is refused:
    /// it would make every event of a customer a duplicate of the first.
    @Test(arguments: StoreKind.available)
    func aRequiredFieldCannotBeTheIdField(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let error = await #expect(throws: OutboxError.self) {
            let store: any OperatedStore =
                switch kind {
                case .sqlite: try Outbox(OutboxConfiguration(path: place.location, eventIdField: "CustomerId"))
                case .postgres: try await TestStore.openPostgres(place.location, eventIdField: "CustomerId")
                }
            await store.close()
        }
        #expect(error?.code == .invalidConfiguration && error?.message.contains("CustomerId") == true)
        await place.remove()
    }

    /// The window is the log's: a sent event's id is held until retention
    /// removes the event; after that, the id may be appended again.
    @Test(arguments: StoreKind.available)
    func anIdIsHeldUntilRetentionRemovesItsEvent(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any OperatedStore) async throws in
            _ = try await store.append(jsonEvents: [Self.event("kept")], meter: "m")
            #expect(try await Self.claimedBodies(store).count == 1)
            #expect(try await store.appendReporting(jsonEvents: [Self.event("kept")], meter: "m").duplicates == 1, "sent, still held")
            #expect(try await store.purgeSent(before: Int64.max).purged == 1)
            #expect(try await store.appendReporting(jsonEvents: [Self.event("kept")], meter: "m").appended == 1, "purged: free again")
            #expect(try await store.verify().isOK)
        }
    }

    /// `outbox append`'s path (a file, in one transaction) de-duplicates too,
    /// and counts what it skipped.
    @Test(arguments: StoreKind.available)
    func aStreamedAppendSkipsAndCountsDuplicates(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any OperatedStore) async throws in
            _ = try await store.append(jsonEvents: [Self.event("x0")], meter: "m")
            let lines = (0..<12_000).map { Self.event("x\($0 % 10_000)", quantity: $0) }.joined(separator: "\n")
            let path = NSTemporaryDirectory() + "outbox-idempotent-" + UUID().uuidString
            _ = FileManager.default.createFile(atPath: path, contents: Data(lines.utf8))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let fd = open(path, O_RDONLY)
            defer { close(fd) }
            let counts = try await store.appendStreamReporting(fileDescriptor: fd, meter: "m", progress: nil)
            // x0 was held; x0..x1999 repeat inside the input (across chunks of 5,000).
            #expect(counts == AppendCounts(appended: 9_999, duplicates: 2_001))
            #expect(try await store.status().meters["m"]?.counts.appended == 10_000)
            #expect(try await store.verify().isOK)
        }
    }
}
