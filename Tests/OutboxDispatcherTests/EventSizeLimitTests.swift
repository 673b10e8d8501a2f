import Foundation
import Testing

@testable import OutboxCore
@testable import OutboxPostgres
@testable import UsageOutbox

/// An event can never be larger than a request: refused at append, with its
/// position, on both stores and through every way in.
struct EventSizeLimitTests {
    static let limit = 400

    static func open(_ place: TestStore) async throws -> any OperatedStore {
        switch place.kind {
        case .sqlite:
            var configuration = OutboxConfiguration(path: place.location, eventIdField: "EventId")
            configuration.maxEventBytes = limit
            return try Outbox(configuration)
        case .postgres:
            return try await PostgresOutbox.open(url: place.location, password: nil, eventIdField: "EventId", maxEventBytes: limit)
        }
    }

    static func event(padding: Int) -> String {
        #"{"CustomerId":"C","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"pad":"\#(String(repeating: "x", count: padding))"}"#
    }

    @Test(arguments: StoreKind.available)
    func anEventLargerThanARequestIsRefusedWithItsPosition(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let store = try await Self.open(place)
        try await place.using(store) { () async throws in
            // 290 bytes fit; with the id field the outbox writes (51 bytes) 360 do not.
            let fits = Self.event(padding: 200)
            let tooLarge = Self.event(padding: 270)
            let refused = await #expect(throws: OutboxError.self) { try await store.append(jsonEvents: [fits, tooLarge], meter: "m") }
            #expect(refused?.code == .invalidInput)
            #expect(refused?.problems.map(\.position) == [.element(2)])
            #expect(refused?.problems.first?.reason.contains("one request") == true)
            let streamed = await #expect(throws: OutboxError.self) { try await StoreBehaviourTests.appendFile(store, fits + "\n" + tooLarge + "\n") }
            #expect(streamed?.problems.map(\.position) == [.line(2)])
            // A line far larger than the limit is skipped as it is read, and named.
            let huge = await #expect(throws: OutboxError.self) {
                try await StoreBehaviourTests.appendFile(store, fits + "\n" + Self.event(padding: 5_000_000) + "\n" + fits + "\n")
            }
            #expect(huge?.problems.map(\.position) == [.line(2)])
            #expect(try await store.append(jsonEvents: [fits], meter: "m").count == 1)
            #expect(try await store.status().totals.appended == 1)
        }
    }

    /// The limit to the byte: an event whose stored text (with the id field
    /// the outbox writes, `"EventId":"<uuid>",`) is exactly the limit goes
    /// in; one byte more is refused, through a plain append and through an
    /// app's own transaction alike.
    @Test(arguments: StoreKind.available)
    func theLimitHoldsToTheByte(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let store = try await Self.open(place)
        try await place.using(store) { () async throws in
            let written = EventSizeLimit.idFieldBytes("EventId")
            let exact = Self.event(padding: Self.limit - written - Self.event(padding: 0).utf8.count)
            let over = Self.event(padding: Self.limit - written - Self.event(padding: 0).utf8.count + 1)
            #expect(exact.utf8.count + written == Self.limit)
            #expect(try await store.append(jsonEvents: [exact], meter: "m").count == 1)
            await #expect(throws: OutboxError.self) { try await store.append(jsonEvents: [over], meter: "m") }
            await #expect(throws: OutboxError.self) {
                switch store {
                case let outbox as Outbox: _ = try await outbox.write { try $0.append(jsonEvents: [over], meter: "m") }
                case let postgres as PostgresOutbox:
                    _ = try await postgres.write { try await postgres.append(jsonEvents: [over], meter: "m", on: $0) }
                default: Issue.record("unknown store")
                }
            }
            #expect(try await store.status().totals.appended == 1)
        }
    }
}
