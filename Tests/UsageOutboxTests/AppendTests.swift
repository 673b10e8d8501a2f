import Foundation
import Testing

@testable import OutboxCore
@testable import UsageOutbox

struct AppendTests {
    @Test func appendedEventsSurviveCloseAndReopen() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/outbox.sqlite"
            let outbox = try Outbox(path: path)
            let ids = try await outbox.append(contentsOf: (0..<10).map { sampleEvent("C-\($0)") }, meter: "m")
            outbox.close()

            let reopened = try Outbox(path: path)
            let status = try await reopened.status()
            #expect(status.totals.pending == 10)
            #expect(status.totals.appended == 10)
            #expect(status.meters["m"]?.counts.pending == 10)
            #expect(Set(ids).count == 10)
            let bodies = try storedBodies(path)
            #expect(bodies.first == sampleEvent("C-0").jsonText)
        }
    }

    @Test func storesTheEventTextExactlyAsGiven() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let outbox = try Outbox(path: dir + "/o.sqlite")
            let odd =
                #"{ "Quantity" : 1.50e0, "CustomerId":"C-'; DROP TABLE x;--", "UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00.5+01:00" , "z":[ ] }"#
            try await outbox.append(json: odd, meter: "m")
            #expect(try storedBodies(dir + "/o.sqlite") == [odd.trimmingCharacters(in: .whitespaces)])
        }
    }

    @Test func invalidEventsAppendNothing() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            let outbox = try Outbox(path: path)
            let error = await #expect(throws: OutboxError.self) {
                try await outbox.append(jsonEvents: [sampleJSON(), sampleJSON(quantity: "\"x\""), sampleJSON(), "{}"], meter: "m")
            }
            #expect(error?.code == .invalidInput)
            #expect(error?.problems.map(\.position) == [.element(2), .element(4)])
            #expect(try rowCount(path) == 0)
            #expect(try await outbox.status().totals.appended == 0)
        }
    }

    @Test func writesTheEventIdIntoTheNamedFieldWhenMissing() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            let outbox = try Outbox(OutboxConfiguration(path: path, eventIdField: "EventId"))
            let id = try await outbox.append(json: sampleJSON(), meter: "m")
            let given = #"{"EventId":"mine","CustomerId":"c","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
            try await outbox.append(json: given, meter: "m")
            let bodies = try storedBodies(path)
            #expect(bodies[0] == #"{"EventId":"\#(id)",\#(sampleJSON().dropFirst())"#)
            #expect(bodies[1] == given)
        }
    }

    @Test func rejectsUnsafeMeterNames() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let outbox = try Outbox(path: dir + "/o.sqlite")
            for meter in ["", "a/b", "a b", "x?y", String(repeating: "m", count: 256)] {
                await #expect(throws: OutboxError.self) { try await outbox.append(sampleEvent(), meter: meter) }
            }
        }
    }

    /// Many tasks appending at once must share transactions (group commit),
    /// and every append must land exactly once.
    @Test func concurrentAppendsShareTransactionsAndLoseNothing() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            let outbox = try Outbox(path: path)
            let tasks = 128
            let perTask = 20
            let ids = try await withThrowingTaskGroup(of: [EventID].self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        var ids: [EventID] = []
                        for index in 0..<perTask {
                            ids.append(try await outbox.append(sampleEvent("T\(task)-\(index)"), meter: "m"))
                        }
                        return ids
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            let stats = outbox.database.statistics
            #expect(ids.count == tasks * perTask)
            #expect(Set(ids).count == ids.count)
            #expect(try rowCount(path) == tasks * perTask)
            let customers = Set(try storedBodies(path))
            #expect(customers.count == tasks * perTask)
            #expect(stats.unitsCommitted == tasks * perTask)
            // With 128 appenders waiting on each sync, transactions must carry
            // many appends each; one per append would mean no group commit.
            #expect(stats.transactions * 4 <= stats.unitsCommitted, "\(stats)")
            #expect(try await outbox.status().totals.pending == tasks * perTask)
        }
    }

    @Test func aFailingUnitDoesNotFailItsGroup() async throws {
        try await withTemporaryDirectory { (dir: String) async throws in
            let path = dir + "/o.sqlite"
            let outbox = try Outbox(path: path)
            struct Boom: Error {}
            let results = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<64 {
                    group.addTask {
                        do {
                            try await outbox.write { tx in
                                try tx.append(sampleEvent("G\(index)"), meter: "m")
                                if index % 2 == 1 { throw Boom() }
                            }
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 32)
            #expect(try rowCount(path) == 32)
            let status = try await outbox.status()
            #expect(status.totals.appended == 32)
            #expect(status.totals.isConserved)
        }
    }
}
